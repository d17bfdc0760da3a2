import { dirname, join, resolve } from "../util/path.ts";
import { fsError, orUndefined, RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import { type ResolvedFile, resolveInRootfs } from "../oci/rootfs.ts";
import { FIRMWARE_ANNOTATION, loadBundleSpec, RESOLVED_PATH_ANNOTATION } from "../oci/spec.ts";
import { type ProcessIdentity, processStartTime } from "../process/proc.ts";
import { findProcessor, firmwareDirectory, type Processor, readAttribute } from "../remoteproc/sysfs.ts";
import { claimProcessor, releaseClaim } from "../store/claims.ts";
import {
  createContainerDir,
  ensureStateRoot,
  readProxyReady,
  removeContainerDir,
  wakeFifoPath,
  writeRecord,
} from "../store/container_store.ts";
import {
  forgetFirmwareOwner,
  recordFirmwareOwner,
  removeStoredFirmware,
  storedFirmwareName,
  storeFirmware,
} from "../store/firmware_store.ts";
import { lockContainer } from "../store/lock.ts";
import type { ContainerRecord } from "../store/record.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { crashPoint } from "../util/crash_point.ts";
import { type SpawnedChild, startProxy } from "../process/spawn.ts";
import { proxyLine } from "../proxy/line.ts";
import type { RuntimeContext } from "./context.ts";
import { isoTimestamp } from "../util/time.ts";

/** Options of {@link createContainer}. */
export interface CreateOptions {
  id: string;
  /** Bundle directory (relative to ctx.cwd allowed). */
  bundle: string;
  /** Where to write the proxy's pid, if anywhere. */
  pidFile?: string;
}

/**
 * Creates a container: starts the proxy, validates everything, then claims the processor, stores the
 * firmware copy, waits until the proxy is ready, writes the state and the pid file. Any failure kills the
 * proxy and undoes every step already done, leaving nothing behind.
 *
 * The proxy is started first because its start-up (a whole Deno process) is the longest step: main.ts starts
 * it before this module even loads (ctx.proxy; see lib/cli/early.ts), or this function does. Its start-up
 * runs while this process checks the bundle and copies the firmware; once the record is written it is sent
 * this process's identity and the container directory, and it adopts no other record (see runProxy).
 *
 * @example
 * ```ts
 * const record = await createContainer(ctx, { id: "fw1", bundle: "/bundles/fw1", pidFile: "/tmp/fw1.pid" });
 * ```
 * @throws {RuntimeError} naming what is wrong (id, config, firmware, processor, permissions).
 */
export async function createContainer(ctx: RuntimeContext, options: CreateOptions): Promise<ContainerRecord> {
  const { id } = options;
  let proxy = ctx.proxy;
  try {
    validateContainerId(id);
    const bundle = resolve(ctx.cwd, options.bundle);
    const pidFile = options.pidFile === undefined ? undefined : resolve(ctx.cwd, options.pidFile);
    const creator = { pid: Deno.pid, startTime: processStartTime(Deno.pid) ?? "" };
    // What follows "--" in the proxy's command line only tells `ps` readers what it is for.
    proxy ??= startProxy(ctx.self, ["--root", ctx.root, "create", id]);
    const record = await createWithProxy(ctx, { id, bundle, pidFile }, creator, proxy);
    proxy.release();
    return record;
  } catch (err) {
    await proxy?.kill();
    throw err;
  }
}

async function createWithProxy(
  ctx: RuntimeContext,
  { id, bundle, pidFile }: CreateOptions,
  creator: ProcessIdentity,
  proxy: SpawnedChild,
): Promise<ContainerRecord> {
  const spec = await loadBundleSpec(bundle);
  let firmware: ResolvedFile | undefined;
  let processor: Processor | undefined;
  let firmwareDir = "";
  if (spec.processorName !== undefined) {
    firmware = await resolveInRootfs(spec.rootfs, spec.firmwareArg, spec.cwd);
    processor = findProcessor(ctx.hostRoot, spec.processorName);
    firmwareDir = firmwareDirectory(ctx.hostRoot);
    checkDirectory(firmwareDir, "firmware directory", "set the kernel's firmware path or create it");
  }
  if (pidFile !== undefined) checkDirectory(dirname(pidFile), "pid file directory", "create it first");

  ensureStateRoot(ctx.root);
  const storedName = firmware ? storedFirmwareName(firmware.hostPath) : "";
  const annotations = { ...spec.annotations };
  if (processor) {
    annotations[RESOLVED_PATH_ANNOTATION] = processor.dir;
    annotations[FIRMWARE_ANNOTATION] = join(firmwareDir, storedName);
  }
  const record: ContainerRecord = {
    ociVersion: spec.ociVersion,
    id,
    bundle,
    rootfs: spec.rootfs,
    created: isoTimestamp(),
    annotations,
    creator,
    processor: processor ? { name: processor.name, dir: processor.dir } : null,
    firmware: firmware
      ? { path: join(firmwareDir, storedName), name: storedName, source: firmware.innerPath }
      : null,
    proxy: null,
    proxyStarted: childIdentity(proxy),
    timings: ctx.timings,
  };
  // The record names the planned firmware copy before it exists, so a crash at any later step leaves
  // enough behind for delete --force to clean up; the directory appears with the record already in it, and
  // with the proxy's wake-up FIFO where libc can make one (without it, the proxy watches the directory).
  const dir = createContainerDir(ctx.root, id, (tmp) => {
    writeRecord(tmp, record);
    proxy.makeFifo(wakeFifoPath(tmp));
  });
  const undo: (() => void)[] = [() => removeContainerDir(dir)];
  crashPoint("create:after-dir");
  // The proxy reads its record now, and reports ready while the firmware is copied.
  await proxy.send(proxyLine(creator, dir, proxy.readyFd));
  try {
    using _lock = lockContainer(dir);
    crashPoint("create:after-record");
    if (processor && firmware) {
      claimProcessor(ctx.root, processor.name, id);
      undo.push(() => releaseClaim(ctx.root, processor.name, id));
      crashPoint("create:after-claim");
      checkProcessorFree(processor);
      const stored = record.firmware!.path;
      undo.push(() => forgetFirmwareOwner(firmwareDir, storedName));
      // The ledger entry comes before the copy, so a copy whose record is lost can still be proven ours.
      recordFirmwareOwner(firmwareDir, storedName, { root: ctx.root, id, path: stored });
      undo.push(() => removeStoredFirmware(stored));
      storeFirmware(firmware, firmwareDir, storedName);
      crashPoint("create:after-firmware");
    }
    record.proxy = await proxyReady(ctx, dir, proxy);
    crashPoint("create:after-proxy");
    writeRecord(dir, record);
    crashPoint("create:after-final-record");
    if (pidFile !== undefined) {
      try {
        writeFileAtomic(pidFile, String(record.proxy.pid), { durable: false });
      } catch (err) {
        throw fsError(err, "write pid file", pidFile);
      }
    }
    return record;
  } catch (err) {
    // The proxy goes first: it must not see (and react to) the steps being undone.
    await proxy.kill();
    for (const step of undo.reverse()) orUndefined(step);
    throw err;
  }
}

function checkDirectory(path: string, what: string, hint: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    throw fsError(err, `use ${what}`, path, hint);
  }
  if (!info.isDirectory) {
    throw new RuntimeError("invalid-config", `${what} ${path} is not a directory; ${hint}`);
  }
}

function checkProcessorFree(processor: Processor): void {
  const state = readAttribute(processor.dir, "state");
  if (state === "offline") return;
  const firmware = orUndefined(() => readAttribute(processor.dir, "firmware")) ?? "unknown";
  throw new RuntimeError(
    "invalid-state",
    `remote processor ${processor.name} is ${state} with firmware ${firmware}, which this runtime did not start; ` +
      `stop it first (echo stop > ${processor.dir}/state) or choose another processor`,
  );
}

/** Waits until the proxy `child` reports that its signal listeners are in place. */
async function proxyReady(
  ctx: RuntimeContext,
  dir: string,
  child: SpawnedChild,
): Promise<ProcessIdentity> {
  const deadline = performance.now() + ctx.timings.readyTimeoutMs;
  while (true) {
    const ready = orUndefined(() => readProxyReady(dir));
    if (ready && ready.pid === child.pid) return ready;
    const code = await child.exitCode();
    if (code !== undefined) {
      throw new RuntimeError(
        "internal",
        `the proxy exited with code ${code} before it was ready; its output above says why`,
      );
    }
    if (performance.now() > deadline) {
      throw new RuntimeError(
        "timeout",
        `the proxy was not ready within ${ctx.timings.readyTimeoutMs} ms; raise readyTimeoutMs in the configuration`,
      );
    }
    // Woken by the proxy's byte on the readiness pipe where there is one (it writes it right after its
    // report): looking every millisecond alone saw the report 0.5 ms late on average.
    child.waitReady(READY_POLL_MS);
  }
}

/** The identity (pid and start time) of `child`, or null once it has exited. */
function childIdentity(child: SpawnedChild): ProcessIdentity | null {
  const startTime = processStartTime(child.pid);
  return startTime === undefined ? null : { pid: child.pid, startTime };
}

/** How often create looks for the proxy's readiness report. */
const READY_POLL_MS = 1;
