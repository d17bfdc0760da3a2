import { basename, join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import type { ResolvedFile } from "../oci/rootfs.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { removeIfPresent, removeQuietly, writeAllSync } from "../util/fs.ts";

/** Pattern of the names the runtime gives stored firmware copies: `<original>-<ms timestamp>-<8 hex>`. */
export const STORED_NAME_PATTERN = /^(.+)-(\d{13,})-([0-9a-f]{8})$/;

/**
 * The unique name of a stored copy of firmware `source`.
 *
 * @example
 * ```ts
 * storedFirmwareName("/rootfs/hello.elf", 1764400000000, "ab12cd34"); // "hello.elf-1764400000000-ab12cd34"
 * ```
 */
export function storedFirmwareName(source: string, now = Date.now(), suffix = randomSuffix()): string {
  return `${basename(source)}-${now}-${suffix}`;
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Copies the firmware into the firmware directory under `name`, atomically (temp file, then rename), after
 * checking that the file opened is the one resolved inside the rootfs.
 *
 * @example
 * ```ts
 * storeFirmware(resolved, "/lib/firmware", "hello.elf-1764400000000-ab12cd34");
 * ```
 * @throws {RuntimeError} naming the directory or file and the permission needed.
 */
export function storeFirmware(source: ResolvedFile, directory: string, name: string): string {
  const target = join(directory, name);
  const tmp = join(directory, `.${name}.tmp`);
  let input: Deno.FsFile;
  try {
    input = Deno.openSync(source.hostPath, { read: true });
  } catch (err) {
    throw fsError(err, "read firmware", source.hostPath);
  }
  try {
    const info = input.statSync();
    if (!info.isFile || (source.ino !== null && (info.ino !== source.ino || info.dev !== source.dev))) {
      throw new RuntimeError(
        "invalid-config",
        `firmware ${source.innerPath} changed while it was being read`,
      );
    }
    let output: Deno.FsFile;
    try {
      output = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o644 });
    } catch (err) {
      throw fsError(
        err,
        "write firmware into",
        directory,
        "the firmware directory must exist and be writable (set the kernel's firmware path or use --host-root)",
      );
    }
    try {
      copyAll(input, output);
      output.syncDataSync();
    } finally {
      output.close();
    }
    Deno.renameSync(tmp, target);
    return target;
  } catch (err) {
    removeQuietly(tmp);
    throw fsError(err, "write firmware", target);
  } finally {
    input.close();
  }
}

/**
 * Removes a stored firmware copy; a copy already gone is fine.
 *
 * @example
 * ```ts
 * removeStoredFirmware("/lib/firmware/hello.elf-1764400000000-ab12cd34");
 * ```
 * @throws {RuntimeError} naming the file when it cannot be removed.
 */
export function removeStoredFirmware(path: string): void {
  removeIfPresent(path, "remove firmware");
}

/**
 * The firmware ledger: a hidden directory inside the firmware directory itself, so that it outlives the state
 * root (a tmpfs gone after a reboot) exactly as long as the copies it vouches for.
 */
export const FIRMWARE_LEDGER = ".remoteproc-runtime";

/** What the ledger says about one stored copy: which container of which state root it was made for. */
export interface FirmwareOwner {
  /** The state root of the container. */
  root: string;
  id: string;
  /** Absolute path of the stored copy. */
  path: string;
}

/**
 * Records, before the copy is made, that the runtime is about to store firmware copy `name` in `firmwareDir`
 * for `owner` (`<firmwareDir>/.remoteproc-runtime/<name>`, written atomically). This is how a later cleanup
 * proves that a copy nobody references any more was made by this runtime and may be removed.
 *
 * @example
 * ```ts
 * recordFirmwareOwner("/lib/firmware", "hello.elf-1764400000000-ab12cd34",
 *   { root: "/run/remoteproc-runtime", id: "fw1", path: "/lib/firmware/hello.elf-1764400000000-ab12cd34" });
 * ```
 * @throws {RuntimeError} naming the ledger directory when it cannot be written.
 */
export function recordFirmwareOwner(firmwareDir: string, name: string, owner: FirmwareOwner): void {
  const dir = join(firmwareDir, FIRMWARE_LEDGER);
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(dir, name), JSON.stringify(owner) + "\n", { mode: 0o600 });
  } catch (err) {
    throw fsError(err, "write firmware ledger in", dir, "the firmware directory must be writable");
  }
}

/**
 * Removes the ledger entry of stored copy `name` (after the copy itself is gone); a missing entry is fine.
 *
 * @example
 * ```ts
 * forgetFirmwareOwner("/lib/firmware", "hello.elf-1764400000000-ab12cd34");
 * ```
 * @throws {RuntimeError} naming the entry when it cannot be removed.
 */
export function forgetFirmwareOwner(firmwareDir: string, name: string): void {
  const path = join(firmwareDir, FIRMWARE_LEDGER, basename(name));
  removeIfPresent(path, "remove");
}

/**
 * Every entry of the firmware ledger of `firmwareDir`, by copy name. Entries that are not valid (a name that is
 * not a stored copy's, a path outside `firmwareDir` or whose file name differs) are left out, so a damaged
 * ledger can never make the runtime remove another file.
 *
 * @example
 * ```ts
 * for (const [name, owner] of readFirmwareOwners("/lib/firmware")) console.log(name, owner.id);
 * ```
 * @throws {RuntimeError} when the ledger directory exists but cannot be read.
 */
export function readFirmwareOwners(firmwareDir: string): Map<string, FirmwareOwner> {
  const dir = join(firmwareDir, FIRMWARE_LEDGER);
  const owners = new Map<string, FirmwareOwner>();
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile || !STORED_NAME_PATTERN.test(entry.name)) continue;
      let owner: Partial<FirmwareOwner> | null;
      try {
        owner = JSON.parse(Deno.readTextFileSync(join(dir, entry.name)));
      } catch {
        continue; // being written (a temp file is renamed into place) or removed meanwhile
      }
      if (
        typeof owner === "object" && owner !== null && typeof owner.id === "string" &&
        typeof owner.root === "string" && typeof owner.path === "string" &&
        owner.path === join(firmwareDir, entry.name)
      ) {
        owners.set(entry.name, owner as FirmwareOwner);
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, "read", dir);
  }
  return owners;
}

/** Copy buffer: large enough that a firmware image of a few MiB takes a handful of system calls. */
const COPY_CHUNK = 1 << 20;

/** Copies the rest of `input` into `output` (synchronous: no streams machinery, no thread-pool hops). */
function copyAll(input: Deno.FsFile, output: Deno.FsFile): void {
  const buffer = new Uint8Array(COPY_CHUNK);
  while (true) {
    const n = input.readSync(buffer);
    if (n === null || n === 0) return;
    writeAllSync(output, buffer.subarray(0, n));
  }
}
