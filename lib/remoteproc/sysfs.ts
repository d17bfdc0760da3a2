import { join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { isDigits } from "../util/text.ts";

/** One remote processor as found in /sys/class/remoteproc. */
export interface Processor {
  /** The N of remoteprocN. */
  index: number;
  /** Contents of the `name` attribute. */
  name: string;
  /** Host path of the sysfs directory (under the host root). */
  dir: string;
}

/** The sysfs class directory under `hostRoot`. */
export function remoteprocClassDir(hostRoot: string): string {
  return join(hostRoot, "sys/class/remoteproc");
}

/**
 * Lists the remote processors under `<hostRoot>/sys/class/remoteproc`, ordered by index. A missing class
 * directory means there are none.
 *
 * @example
 * ```ts
 * for (const p of listProcessors("/")) console.log(p.index, p.name);
 * ```
 * @throws {RuntimeError} when the directory cannot be read.
 */
export function listProcessors(hostRoot: string): Processor[] {
  const classDir = remoteprocClassDir(hostRoot);
  const found: Processor[] = [];
  try {
    for (const entry of Deno.readDirSync(classDir)) {
      const index = entry.name.slice("remoteproc".length);
      if (!entry.name.startsWith("remoteproc") || !isDigits(index)) continue;
      const dir = join(classDir, entry.name);
      let name: string;
      try {
        name = readAttribute(dir, "name");
      } catch {
        continue; // a processor being removed while we look
      }
      found.push({ index: Number(index), name, dir });
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw fsError(err, "read", classDir);
  }
  return found.sort((a, b) => a.index - b.index);
}

/**
 * Finds the processor whose `name` attribute is `name`.
 *
 * @example
 * ```ts
 * const dsp = findProcessor("/", "dsp0");
 * ```
 * @throws {RuntimeError} "not-found" listing the available processors.
 */
export function findProcessor(hostRoot: string, name: string): Processor {
  const all = listProcessors(hostRoot);
  const match = all.find((p) => p.name === name);
  if (match) return match;
  const available = all.length === 0
    ? `there are no remote processors in ${remoteprocClassDir(hostRoot)}`
    : `available remote processors: ${all.map((p) => p.name).join(", ")}`;
  throw new RuntimeError(
    "not-found",
    `remote processor ${name} does not exist; ${available}; set the remoteproc.name annotation to one of them`,
  );
}

/**
 * Reads a sysfs attribute and strips the kernel's trailing newline.
 *
 * @example
 * ```ts
 * readAttribute("/sys/class/remoteproc/remoteproc0", "state"); // "offline"
 * ```
 * @throws {RuntimeError} naming the path when it cannot be read.
 */
export function readAttribute(dir: string, attribute: string): string {
  const path = join(dir, attribute);
  try {
    return chomp(Deno.readTextFileSync(path));
  } catch (err) {
    throw fsError(err, "read", path);
  }
}

/** A sysfs attribute held open for polling (see {@link attributeReader}). */
export interface AttributeReader extends Disposable {
  /** The attribute's value now, without its trailing newline. */
  read(): string;
}

/** The most a sysfs attribute's show() returns: one page. */
const ATTRIBUTE_MAX_BYTES = 4096;

/**
 * Reading a file by its descriptor, for {@link attributeReader}: Deno's calls by default, or libc's, which
 * lib/process/fifo_wait.ts offers where the proxy can open libc.
 */
export interface DescriptorIo {
  /** Opens `path` for reading: its descriptor, or a negative number when it cannot. */
  open(path: string): number;
  /** How many links the file open on `fd` has (0: replaced or removed); undefined when it cannot tell. */
  links(fd: number): number | undefined;
  /** Reads into `buffer` from `offset`: how many bytes, or a negative number when it cannot. */
  pread(fd: number, buffer: Uint8Array, offset: number): number;
  close(fd: number): void;
}

/**
 * Opens an attribute for reading again and again, for the proxy's all-day poll: each read starts over at
 * offset 0, which makes the kernel call the attribute's show() anew (the way GPIO values are polled). A file
 * replaced under its path (a fake tree's atomic rewrite) has no links left: the link count notices, and the
 * path is opened again. A file that cannot be opened or read (the device went away: ENODEV, or the path is
 * gone) is closed, and Deno's own one-time read ({@link readAttribute}) says why, or reads it; the next read
 * opens the path again.
 *
 * `io` is how the descriptor is held and read. By default Deno's calls: three system calls a read (fstat,
 * lseek, read) where {@link readAttribute} makes six (open, fstat, lseek, two reads, close), and an idle
 * proxy spends a little less CPU (README, Benchmark). With libc (lib/process/fifo_wait.ts), two made straight
 * from JavaScript, statx for the links and pread at offset 0, without the `FileInfo` object Deno builds for
 * an fstat: a bare poll loop used about a fifth less CPU (README, Benchmark).
 *
 * @example
 * ```ts
 * using state = attributeReader("/sys/class/remoteproc/remoteproc0", "state");
 * state.read(); // "running"
 * ```
 * @throws {RuntimeError} from read(), naming the path, when the attribute cannot be read.
 */
export function attributeReader(dir: string, attribute: string, io = denoIo()): AttributeReader {
  const path = join(dir, attribute);
  const buffer = new Uint8Array(ATTRIBUTE_MAX_BYTES);
  const decoder = new TextDecoder();
  // The last one-read value's bytes and text: the same bytes again (an idle poll's every read) give the same
  // text without a decode, one call into Deno and a new string less per poll.
  let lastBytes = new Uint8Array(0);
  let lastText: string | undefined;
  let fd = -1;
  const drop = () => {
    if (fd >= 0) io.close(fd);
    fd = -1;
  };
  return {
    read() {
      if (fd >= 0 && !io.links(fd)) drop();
      if (fd < 0) fd = io.open(path);
      if (fd >= 0) {
        let count = io.pread(fd, buffer, 0);
        // One read holds all of a sysfs attribute. Decoded at once: a streaming TextDecoder costs Deno a
        // decoder of its own per read (a scripted poll loop used a sixth more CPU with it; README, Benchmark).
        if (count >= 0 && count < buffer.length) {
          if (lastText === undefined || !sameBytes(buffer, count, lastBytes)) {
            lastBytes = buffer.slice(0, count);
            lastText = chomp(decoder.decode(lastBytes));
          }
          return lastText;
        }
        const parts: Uint8Array[] = [];
        while (count === buffer.length) {
          parts.push(buffer.slice());
          count = io.pread(fd, buffer, parts.length * buffer.length);
        }
        if (count >= 0) return chomp(decoder.decode(joinBytes([...parts, buffer.subarray(0, count)])));
        drop();
      }
      return readAttribute(dir, attribute);
    },
    [Symbol.dispose]: drop,
  };
}

/** The {@link DescriptorIo} of Deno's own calls, its descriptors numbers of its own for `Deno.FsFile`s. */
function denoIo(): DescriptorIo {
  const files = new Map<number, Deno.FsFile>();
  let next = 0;
  return {
    open(path) {
      try {
        files.set(next, Deno.openSync(path));
        return next++;
      } catch {
        return -1;
      }
    },
    links(fd) {
      try {
        return files.get(fd)?.statSync().nlink ?? undefined;
      } catch {
        return undefined;
      }
    },
    pread(fd, buffer, offset) {
      const file = files.get(fd);
      if (!file) return -1;
      try {
        file.seekSync(offset, Deno.SeekMode.Start);
        return file.readSync(buffer) ?? 0;
      } catch {
        return -1;
      }
    },
    close(fd) {
      try {
        files.get(fd)?.close();
      } catch {
        // closing is all that is left to do with it
      }
      files.delete(fd);
    },
  };
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** True when the first `count` bytes of `buffer` are `bytes`, and `bytes` has no more. */
function sameBytes(buffer: Uint8Array, count: number, bytes: Uint8Array): boolean {
  if (count !== bytes.length) return false;
  for (let i = 0; i < count; i++) if (buffer[i] !== bytes[i]) return false;
  return true;
}

function chomp(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/**
 * Writes a value to a sysfs attribute the way the kernel expects it (one write, no newline). The kernel's
 * answer (an errno) comes back as the error of this call and is authoritative. A read-only attribute is
 * reported before writing (see {@link checkWritable}).
 *
 * @example
 * ```ts
 * writeAttribute(dir, "state", "start");
 * ```
 * @throws {RuntimeError} "permission" for a read-only attribute, "device" with the kernel's error otherwise.
 */
export function writeAttribute(dir: string, attribute: string, value: string): void {
  const path = checkWritable(dir, attribute);
  try {
    Deno.writeTextFileSync(path, value, { create: false });
  } catch (err) {
    throw fsError(err, "write", path, kernelHint(err, attribute, value));
  }
}

/**
 * Checks that a sysfs attribute exists and is not read-only (drivers that set sysfs_read_only), which root
 * could otherwise write as a plain file, and returns its path.
 *
 * @example
 * ```ts
 * checkWritable(dir, "firmware"); // "<dir>/firmware"
 * ```
 * @throws {RuntimeError} "permission" for a read-only attribute, "not-found" for a missing one.
 */
export function checkWritable(dir: string, attribute: string): string {
  const path = join(dir, attribute);
  let mode: number | null;
  try {
    mode = Deno.statSync(path).mode;
  } catch (err) {
    throw fsError(err, "write", path);
  }
  if (mode !== null && (mode & 0o222) === 0) {
    throw new RuntimeError(
      "permission",
      `cannot write ${path}: the attribute is read-only (mode ${
        (mode & 0o777).toString(8)
      }); this processor's driver does not let Linux control it`,
    );
  }
  return path;
}

function kernelHint(err: unknown, attribute: string, value: string): string {
  if (err instanceof Deno.errors.Busy || (err instanceof Error && /EBUSY|busy/i.test(err.message))) {
    return `the processor is not offline, so the kernel refused to change ${attribute}`;
  }
  if (attribute === "state" && value === "start" && err instanceof Deno.errors.NotFound) {
    return "the kernel could not find the firmware file in its search path";
  }
  return "";
}

/**
 * The directory the runtime stores firmware copies in: the kernel's custom firmware path when set (used
 * exactly as written, since it is the path the kernel itself uses), else `<hostRoot>/lib/firmware`.
 *
 * @example
 * ```ts
 * firmwareDirectory("/"); // "/lib/firmware"
 * ```
 * @throws {RuntimeError} when the parameter exists but cannot be read.
 */
export function firmwareDirectory(hostRoot: string): string {
  const param = join(hostRoot, "sys/module/firmware_class/parameters/path");
  let custom = "";
  try {
    custom = Deno.readTextFileSync(param).trim();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, "read", param);
  }
  return custom !== "" ? custom : join(hostRoot, "lib/firmware");
}
