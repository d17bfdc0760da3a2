import { fsError, orUndefined, RuntimeError } from "../errors.ts";
import { isAlive, pidListed, type ProcessIdentity } from "../process/proc.ts";
import { readAttribute } from "../remoteproc/sysfs.ts";
import { containerDir, type ContainerFiles, readContainerFiles } from "../store/container_store.ts";
import { lockContainer } from "../store/lock.ts";
import { join } from "../util/path.ts";
import type { ContainerRecord } from "../store/record.ts";
import type { RuntimeContext } from "./context.ts";
import { deriveStatus, type OciStatus } from "./status.ts";
import { processorCondition } from "../remoteproc/kernel_state.ts";

/** A container as found now: its record, the proxy to act on, and its derived status. */
export interface Container {
  id: string;
  dir: string;
  /** Undefined when create died before writing it. */
  record: ContainerRecord | undefined;
  /** The proxy to signal: the recorded one, or the one that reported ready to (or was started by) a create that died. */
  proxy: ProcessIdentity | null;
  proxyAlive: boolean;
  /** The proxy reported the firmware running (its boot report). */
  booted: boolean;
  /**
   * The proxy has only to end: it reported its exit code (its process is ending, or ended), or the processor
   * went idle after its boot (it reports when it next looks, at once when `kill` stopped the processor).
   */
  ending: boolean;
  status: OciStatus;
  /** The directory holds the proxy's wake-up FIFO: a request is followed by a byte to it (wakeProxy). */
  wakeFifo: boolean;
}

/**
 * Loads container `id` and derives its status from reality.
 *
 * @example
 * ```ts
 * const c = loadContainer(ctx, "fw1");
 * ```
 * @throws {RuntimeError} "invalid-id", or "not-found" with "container ID does not exist".
 */
export function loadContainer(ctx: RuntimeContext, id: string): Container {
  const dir = containerDir(ctx.root, id);
  let files: ContainerFiles;
  try {
    files = readContainerFiles(dir);
  } catch (err) {
    if (err instanceof RuntimeError) throw err;
    throw notFound(id);
  }
  const { record, startRequest: started, bootReport: booted } = files;
  const proxy = record?.proxy ?? files.proxyReady ?? record?.proxyStarted ?? null;
  const exited = files.exitReport !== undefined;
  // A proxy that reported its exit is usually gone: then /proc's listing answers without a thrown error.
  const proxyAlive = exited && proxy !== null && !pidListed(proxy.pid) ? false : isAlive(proxy);
  const bootedOk = booted?.ok === true;
  const processor = record?.processor;
  const processorState = processor ? orUndefined(() => readAttribute(processor.dir, "state")) : undefined;
  const status = deriveStatus({
    // Only read when it decides the status (no proxy recorded): a dead creator's /proc entry is a thrown error.
    creatorAlive: record !== undefined && !record.proxy && isAlive(record.creator),
    proxyRecorded: Boolean(record?.proxy),
    proxyAlive,
    exitReported: exited,
    startRequested: started !== undefined,
    startAbandoned: started !== undefined && booted === undefined && !isAlive(started.by),
    booted: bootedOk,
    processorState,
  });
  return {
    id,
    dir,
    record,
    proxy,
    proxyAlive,
    booted: bootedOk,
    ending: exited ||
      (bootedOk && processorState !== undefined && processorCondition(processorState) === "idle"),
    status,
    wakeFifo: files.wakeFifo,
  };
}

/**
 * The error for an unknown container; its words ("does not exist") are what engines match.
 *
 * @example
 * ```ts
 * throw notFound("fw1");
 * ```
 */
export function notFound(id: string): RuntimeError {
  return new RuntimeError("not-found", `container ${id} does not exist`);
}

/**
 * Takes the lock of the container `id`, which must exist. Opening the lock file is the check: no directory
 * (never created, or removed by a racing delete) means the container does not exist. Its holder still reads
 * the container after this, and finds it gone if a delete removed it while this waited.
 *
 * @example
 * ```ts
 * using _lock = lockExisting(ctx, "fw1");
 * ```
 * @throws {RuntimeError} "invalid-id", "not-found", or "permission" naming the lock file.
 */
export function lockExisting(ctx: RuntimeContext, id: string): Disposable {
  const dir = containerDir(ctx.root, id);
  try {
    return lockContainer(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) throw notFound(id);
    throw fsError(err, "lock", join(dir, "lock"));
  }
}
