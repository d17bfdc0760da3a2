import { join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import type { ProcessIdentity } from "../process/proc.ts";
import { tempSuffix, writeFileAtomic } from "../util/atomic.ts";
import type { BootReport, ContainerRecord } from "./record.ts";
import { isoTimestamp } from "../util/time.ts";
import { dirHas, pathExists, removeQuietly } from "../util/fs.ts";

const RECORD = "state.json";
const PROXY = "proxy.json";
const BOOT = "boot.json";
const START_REQUESTED = "start-requested";
const STOP_REQUESTED = "stop-requested";
const EXIT_REPORT = "exit.json";
const WAKE = "wake";

/**
 * Whether `name` is the name of a request file in a container's directory (written by `start` and `kill`).
 *
 * @example
 * ```ts
 * isRequestFile("start-requested"); // true
 * isRequestFile("boot.json"); // false
 * ```
 */
export function isRequestFile(name: string): boolean {
  return name === START_REQUESTED || name === STOP_REQUESTED;
}

/**
 * The directory of container `id` under the state root. The id is validated first, so no id can reach
 * outside the root.
 *
 * @example
 * ```ts
 * containerDir("/run/remoteproc-runtime", "fw1"); // "/run/remoteproc-runtime/fw1"
 * ```
 * @throws {RuntimeError} "invalid-id".
 */
export function containerDir(root: string, id: string): string {
  validateContainerId(id);
  return join(root, id);
}

/**
 * Creates the state root (mode 0700) if needed.
 *
 * @example
 * ```ts
 * ensureStateRoot("/run/remoteproc-runtime");
 * ```
 * @throws {RuntimeError} naming the root when it cannot be created.
 */
export function ensureStateRoot(root: string): void {
  try {
    Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fsError(err, "create state directory", root, "choose another with --root");
  }
}

/**
 * Creates the directory of a new container; exactly one of several concurrent callers succeeds. The
 * directory is filled under a temp name (with `fill`, e.g. the record) and renamed into place, so no other
 * command ever sees a container without its record.
 *
 * @example
 * ```ts
 * const dir = createContainerDir(root, "fw1", (tmp) => writeRecord(tmp, record));
 * ```
 * @throws {RuntimeError} "exists" when the id is in use.
 */
export function createContainerDir(
  root: string,
  id: string,
  fill?: (dir: string) => void,
): string {
  const dir = containerDir(root, id);
  const exists = () =>
    new RuntimeError(
      "exists",
      `container with given ID already exists: ${id}; choose another id or delete it first`,
    );
  if (pathExists(dir)) throw exists();
  const tmp = join(root, `.new-${tempSuffix()}`);
  try {
    Deno.mkdirSync(tmp, { mode: 0o700 });
    // Never empty: rename(2) may replace an empty directory, but never one with a file in it.
    Deno.writeFileSync(join(tmp, "lock"), new Uint8Array(), { mode: 0o600 });
    fill?.(tmp);
    Deno.renameSync(tmp, dir);
  } catch (err) {
    removeQuietly(tmp, { recursive: true });
    const code = (err as { code?: string }).code;
    if (err instanceof Deno.errors.AlreadyExists || code === "ENOTEMPTY" || code === "EEXIST") throw exists();
    throw fsError(err, "create", dir, "the state root must be writable (see --root)");
  }
  return dir;
}

/**
 * Reads a container's record, or undefined when the container has none (it is being created, or its
 * create failed before writing it).
 *
 * @example
 * ```ts
 * const record = readRecord(dir);
 * ```
 * @throws {RuntimeError} when the record exists but is unreadable or corrupt.
 */
export function readRecord(dir: string): ContainerRecord | undefined {
  return readJson<ContainerRecord>(join(dir, RECORD));
}

/**
 * Writes a container's record atomically.
 *
 * @example
 * ```ts
 * writeRecord(dir, record);
 * ```
 * @throws {RuntimeError} naming the file.
 */
export function writeRecord(dir: string, record: ContainerRecord): void {
  writeJson(join(dir, RECORD), record);
}

/** Reads the identity the proxy wrote when it became ready. */
export function readProxyReady(dir: string): ProcessIdentity | undefined {
  return readListed<ProcessIdentity>(dir, PROXY);
}

/** Written by the proxy once its signal listeners are in place. */
export function writeProxyReady(dir: string, identity: ProcessIdentity): void {
  writeJson(join(dir, PROXY), identity);
}

/** Reads the proxy's report on its boot attempt. */
export function readBootReport(dir: string): BootReport | undefined {
  return readListed<BootReport>(dir, BOOT);
}

/** Written by the proxy after its boot attempt. */
export function writeBootReport(dir: string, report: BootReport): void {
  writeJson(join(dir, BOOT), report);
}

/** Written by the proxy just before it exits: its exit code. */
export function writeExitReport(dir: string, code: number): void {
  writeJson(join(dir, EXIT_REPORT), { code, at: isoTimestamp() });
}

/** The proxy's exit code, once it has exited on its own terms. */
export function readExitReport(dir: string): { code: number; at: string } | undefined {
  return readListed<{ code: number; at: string }>(dir, EXIT_REPORT);
}

/** A `start` request: when, and by which process. */
export interface StartRequest {
  at: string;
  /** The `start` command that asked; a dead one with no boot report means the start never went through. */
  by: ProcessIdentity | null;
}

/** The start request of the container, or undefined when start was never requested. */
export function readStartRequest(dir: string): StartRequest | undefined {
  return readListed<StartRequest>(dir, START_REQUESTED);
}

/**
 * Requests the start: the proxy boots the firmware once it sees this file (as runc's `start` opens the FIFO
 * its container process waits on). A file, not a signal: `state` can never read created after it, and the
 * request needs no process-control call (Deno loads that code on demand, ~9 ms of every `start`). With
 * `wake` (the directory holds the wake-up FIFO), the proxy is then woken through it ({@link wakeProxy}) with
 * the byte that stands for the request ({@link startRequestIn}); without, its directory watch sees the file.
 */
export function markStartRequested(dir: string, by: ProcessIdentity | null, wake = false): void {
  writeJson(join(dir, START_REQUESTED), { at: isoTimestamp(), by });
  if (wake) wakeProxy(dir, START_BYTE);
}

/**
 * The byte that wakes the proxy for a start request, written only once the request file is there
 * ({@link markStartRequested}): the proxy boots on it without reading the file first (see
 * {@link startRequestIn}).
 */
const START_BYTE = new Uint8Array([0x53]);

/**
 * True when bytes read from the wake-up FIFO hold a start request's byte ({@link markStartRequested}).
 *
 * @example
 * ```ts
 * startRequestIn(new Uint8Array([1, 0x53])); // true
 * ```
 */
export function startRequestIn(bytes: Uint8Array): boolean {
  return bytes.includes(START_BYTE[0]);
}

/** A graceful stop request from `kill`: the signal it stands for. */
export interface StopRequest {
  signal: "SIGTERM" | "SIGINT";
  at: string;
}

/**
 * Requests a graceful stop; the proxy reacts as to the signal itself. With `wake` (the directory holds the
 * wake-up FIFO) the request is the one byte written to the FIFO that stands for the signal
 * ({@link stopRequestIn}): the proxy opens its FIFO before it reports ready, so a command that found it
 * ready reaches it. Only the proxy reads a stop request, so no file is needed then (`kill`, when it stops
 * the processor itself, puts one on record first: {@link markStopRequested}). Without `wake` the request is
 * the file `stop-requested`, which the proxy's directory watch sees. When the byte cannot be written the
 * file is written all the same, though a proxy woken through its FIFO looks for it only until it is started
 * (every ten polls), and then when it sees its processor go idle.
 */
export function requestStop(dir: string, signal: StopRequest["signal"], wake = false): void {
  if (wake && wakeProxy(dir, STOP_BYTES[signal])) return;
  markStopRequested(dir, signal);
}

/**
 * Puts a stop request on record as the file `stop-requested`, for a proxy that learns of the processor's stop
 * from its poll: `kill` writes it before it stops the processor itself (see killContainer), and the running
 * proxy reads it when it sees the processor go idle (a stop on request, not a stop by itself). Written to a
 * temp file and renamed, as every state file is.
 *
 * @example
 * ```ts
 * markStopRequested(dir, "SIGTERM");
 * ```
 * @throws {RuntimeError} when the file cannot be written.
 */
export function markStopRequested(dir: string, signal: StopRequest["signal"]): void {
  writeJson(join(dir, STOP_REQUESTED), { signal, at: isoTimestamp() } satisfies StopRequest);
}

/** The bytes that stand for a stop request in the wake-up FIFO: "T" (SIGTERM) and "I" (SIGINT). */
const STOP_BYTES = {
  SIGTERM: new Uint8Array([0x54]),
  SIGINT: new Uint8Array([0x49]),
} as const;

/**
 * The stop request among bytes read from the wake-up FIFO (see {@link requestStop}), or undefined when they
 * hold none (a plain wake-up). Each writer writes one byte at once, so no request is ever split.
 *
 * @example
 * ```ts
 * stopRequestIn(new Uint8Array([1, 0x54])); // "SIGTERM"
 * ```
 */
export function stopRequestIn(bytes: Uint8Array): StopRequest["signal"] | undefined {
  if (bytes.includes(STOP_BYTES.SIGTERM[0])) return "SIGTERM";
  if (bytes.includes(STOP_BYTES.SIGINT[0])) return "SIGINT";
  return undefined;
}

/** The stop request of the container, or undefined when there is none. */
export function readStopRequest(dir: string): StopRequest | undefined {
  return readListed<StopRequest>(dir, STOP_REQUESTED);
}

/**
 * The path of the container's wake-up FIFO, which `create` makes where it can (see SpawnedChild.makeFifo in
 * lib/process/spawn.ts). The proxy reads it instead of watching its directory with inotify: `start` writes a
 * byte to it after writing its request file ({@link wakeProxy}), and `kill` and `delete` write their stop
 * request to it as one byte ({@link requestStop}). A watch is woken by every file any command opens in the
 * directory (its reads and polls included), and Deno's watcher thread resolves each event's path, component
 * by component, before the proxy can ignore it; the FIFO wakes the proxy only when there is a request to look
 * at.
 *
 * @example
 * ```ts
 * wakeFifoPath("/run/remoteproc-runtime/fw1"); // "/run/remoteproc-runtime/fw1/wake"
 * ```
 */
export function wakeFifoPath(dir: string): string {
  return join(dir, WAKE);
}

/**
 * Opens the container's wake-up FIFO for the proxy, or returns undefined when the directory has none (then
 * the proxy watches the directory). Opened for reading and writing, so the open never waits for a writer,
 * and the proxy's own write can end its pending read when it closes. Opened without listing the directory
 * first: there is a FIFO wherever libc could make one, and the listing, the proxy's first, took 0.5 ms
 * between its start and its ready report (40 creates in turns); a missing FIFO costs the thrown error instead.
 *
 * @example
 * ```ts
 * const fifo = openWakeFifo(dir);
 * ```
 * @throws what the file system reports for a FIFO that exists but cannot be opened.
 */
export function openWakeFifo(dir: string): Deno.FsFile | undefined {
  try {
    return Deno.openSync(wakeFifoPath(dir), { read: true, write: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Wakes the proxy of the container directory `dir` through its FIFO, after a request was written: one byte
 * (`byte`, a plain wake-up by default).
 * Opened for reading and writing, the FIFO needs no other reader to open, so a proxy that is gone never makes
 * this wait; the write would only wait if 64 KiB of wake-ups lay unread (a live proxy that stopped reading).
 * A byte is lost only with the FIFO's last descriptor: the proxy holds one from before it reports ready until
 * it ends, so only once there is no proxy to tell. Returns false when the byte could not be written (no
 * FIFO, or it cannot be opened).
 *
 * @example
 * ```ts
 * markStartRequested(dir, null);
 * wakeProxy(dir);
 * ```
 */
export function wakeProxy(dir: string, byte: Uint8Array = WAKE_BYTE): boolean {
  try {
    // Opened as the proxy opens it (openWakeFifo): never waiting for a reader.
    using fifo = openWakeFifo(dir);
    return fifo?.writeSync(byte) === 1;
  } catch {
    return false;
  }
}

/** The byte of a plain wake-up (a request file to look at): no stop request ({@link stopRequestIn}). */
export const WAKE_BYTE = new Uint8Array([1]);

/**
 * Removes a container's directory and everything in it.
 *
 * @example
 * ```ts
 * removeContainerDir(dir);
 * ```
 * @throws {RuntimeError} naming the directory.
 */
export function removeContainerDir(dir: string): void {
  // A command racing with the removal may add a file (its lock) after the directory was emptied, so the
  // final rmdir finds it not empty: try again a few times.
  for (let attempt = 1;; attempt++) {
    try {
      Deno.removeSync(dir, { recursive: true });
      return;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      if (attempt >= REMOVE_ATTEMPTS) throw fsError(err, "remove", dir);
    }
  }
}

const REMOVE_ATTEMPTS = 5;

/**
 * Lists the ids of the containers under the state root.
 *
 * @example
 * ```ts
 * for (const id of listContainerIds(root)) console.log(id);
 * ```
 */
export function listContainerIds(root: string): string[] {
  const ids: string[] = [];
  try {
    for (const entry of Deno.readDirSync(root)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) ids.push(entry.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, "read", root);
  }
  return ids.sort();
}

/** Everything a container directory holds, as read at one moment (undefined: absent). */
export interface ContainerFiles {
  record?: ContainerRecord;
  proxyReady?: ProcessIdentity;
  startRequest?: StartRequest;
  /** Ignored when corrupt, like the other reports below. */
  bootReport?: BootReport;
  exitReport?: { code: number; at: string };
  stopRequest?: StopRequest;
  /** The directory holds the wake-up FIFO (see {@link wakeFifoPath}). */
  wakeFifo: boolean;
}

/**
 * Reads every file of the container directory `dir` that exists, after listing it once: a probe of a
 * missing file costs a thrown error (the first one of a process ~1 ms), and most of these files are missing
 * most of the time. A corrupt record or readiness report is an error; a corrupt request or report reads as
 * absent.
 *
 * @example
 * ```ts
 * const { record, bootReport } = readContainerFiles(dir);
 * ```
 * @throws {Deno.errors.NotFound} when the directory does not exist; {@link RuntimeError} "invalid-state".
 */
export function readContainerFiles(dir: string): ContainerFiles {
  const names = new Set<string>();
  for (const entry of Deno.readDirSync(dir)) names.add(entry.name);
  const strict = <T>(name: string) => names.has(name) ? readJson<T>(join(dir, name)) : undefined;
  const lenient = <T>(name: string) => {
    try {
      return strict<T>(name);
    } catch {
      return undefined;
    }
  };
  return {
    record: strict<ContainerRecord>(RECORD),
    proxyReady: strict<ProcessIdentity>(PROXY),
    startRequest: lenient<StartRequest>(START_REQUESTED),
    bootReport: lenient<BootReport>(BOOT),
    exitReport: lenient<{ code: number; at: string }>(EXIT_REPORT),
    stopRequest: lenient<StopRequest>(STOP_REQUESTED),
    wakeFifo: names.has(WAKE),
  };
}

/**
 * Reads the JSON file `name` of `dir` if the directory lists it. For the files that are usually not there
 * yet when they are read: the reports commands poll for (readiness, boot, exit) and the requests the proxy
 * looks for on every change of its directory. A missing file then costs no thrown error (the first one of a
 * Deno process costs it about 1 ms).
 */
function readListed<T>(dir: string, name: string): T | undefined {
  let listed: boolean;
  try {
    listed = dirHas(dir, name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fsError(err, "read", dir);
  }
  return listed ? readJson<T>(join(dir, name)) : undefined;
}

function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fsError(err, "read", path);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RuntimeError(
      "invalid-state",
      `${path} is corrupt; remove the container with delete --force`,
    );
  }
}

function writeJson(path: string, value: unknown): void {
  try {
    writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", { mode: 0o600, durable: false });
  } catch (err) {
    throw fsError(err, "write", path);
  }
}
