import { dirname, join, resolve } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import { type ResolvedFile, resolveInRootfs } from "../oci/rootfs.ts";
import { FIRMWARE_ANNOTATION, loadBundleSpec, RESOLVED_PATH_ANNOTATION } from "../oci/spec.ts";
import { type ProcessIdentity, processStartTime, signalIfAlive } from "../process/proc.ts";
import { findProcessor, firmwareDirectory, type Processor, readAttribute } from "../remoteproc/sysfs.ts";
import { claimProcessor, releaseClaim } from "../store/claims.ts";
import {
  createContainerDir,
  ensureStateRoot,
  readProxyReady,
  removeContainerDir,
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
import { delay } from "../util/wait.ts";
import type { RuntimeContext } from "./context.ts";

/** Options of {@link createContainer}. */
export interface CreateOptions {
  id: string;
  /** Bundle directory (relative to ctx.cwd allowed). */
  bundle: string;
  /** Where to write the proxy's pid, if anywhere. */
  pidFile?: string;
}

/**
 * Creates a container: validates everything first, then claims the processor, stores the firmware copy,
 * spawns the proxy and waits until it is ready, writes the state and the pid file. Any failure undoes every
 * step already done, leaving nothing behind.
 *
 * @example
 * ```ts
 * const record = await createContainer(ctx, { id: "fw1", bundle: "/bundles/fw1", pidFile: "/tmp/fw1.pid" });
 * ```
 * @throws {RuntimeError} naming what is wrong (id, config, firmware, processor, permissions).
 */
export async function createContainer(ctx: RuntimeContext, options: CreateOptions): Promise<ContainerRecord> {
  const { id } = options;
  validateContainerId(id);
  const bundle = resolve(ctx.cwd, options.bundle);
  const pidFile = options.pidFile === undefined ? undefined : resolve(ctx.cwd, options.pidFile);
  const spec = await loadBundleSpec(bundle);
  let firmware: ResolvedFile | undefined;
  let processor: Processor | undefined;
  let firmwareDir = "";
  if (spec.processorName !== undefined) {
    firmware = await resolveInRootfs(spec.rootfs, spec.firmwareArg, spec.cwd);
    processor = await findProcessor(ctx.hostRoot, spec.processorName);
    firmwareDir = await firmwareDirectory(ctx.hostRoot);
    await checkDirectory(firmwareDir, "firmware directory", "set the kernel's firmware path or create it");
  }
  if (pidFile !== undefined) await checkDirectory(dirname(pidFile), "pid file directory", "create it first");

  await ensureStateRoot(ctx.root);
  const creatorStart = await processStartTime(Deno.pid);
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
    created: new Date().toISOString(),
    annotations,
    creator: { pid: Deno.pid, startTime: creatorStart ?? "" },
    processor: processor ? { name: processor.name, dir: processor.dir } : null,
    firmware: firmware
      ? { path: join(firmwareDir, storedName), name: storedName, source: firmware.innerPath }
      : null,
    proxy: null,
    timings: ctx.timings,
  };
  // The record names the planned firmware copy before it exists, so a crash at any later step leaves
  // enough behind for delete --force to clean up; the directory appears with the record already in it.
  const dir = await createContainerDir(ctx.root, id, (tmp) => writeRecord(tmp, record));
  const undo: (() => Promise<unknown>)[] = [() => removeContainerDir(dir)];
  crashPoint("create:after-dir");
  try {
    using _lock = await lockContainer(dir);
    crashPoint("create:after-record");
    if (processor && firmware) {
      await claimProcessor(ctx.root, processor.name, id);
      undo.push(() => releaseClaim(ctx.root, processor.name, id));
      crashPoint("create:after-claim");
      await checkProcessorFree(processor);
      const stored = record.firmware!.path;
      undo.push(() => forgetFirmwareOwner(firmwareDir, storedName));
      // The ledger entry comes before the copy, so a copy whose record is lost can still be proven ours.
      await recordFirmwareOwner(firmwareDir, storedName, { root: ctx.root, id, path: stored });
      undo.push(() => removeStoredFirmware(stored));
      await storeFirmware(firmware, firmwareDir, storedName);
      crashPoint("create:after-firmware");
    }
    undo.push(async () => {
      const ready = await readProxyReady(dir).catch(() => undefined);
      await signalIfAlive(ready, "SIGKILL");
    });
    record.proxy = await spawnProxy(ctx, dir);
    crashPoint("create:after-proxy");
    await writeRecord(dir, record);
    crashPoint("create:after-final-record");
    if (pidFile !== undefined) {
      try {
        await writeFileAtomic(pidFile, String(record.proxy.pid));
      } catch (err) {
        throw fsError(err, "write pid file", pidFile);
      }
    }
    return record;
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
}

async function checkDirectory(path: string, what: string, hint: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw fsError(err, `use ${what}`, path, hint);
  }
  if (!info.isDirectory) {
    throw new RuntimeError("invalid-config", `${what} ${path} is not a directory; ${hint}`);
  }
}

async function checkProcessorFree(processor: Processor): Promise<void> {
  const state = await readAttribute(processor.dir, "state");
  if (state === "offline") return;
  const firmware = await readAttribute(processor.dir, "firmware").catch(() => "unknown");
  throw new RuntimeError(
    "invalid-state",
    `remote processor ${processor.name} is ${state} with firmware ${firmware}, which this runtime did not start; ` +
      `stop it first (echo stop > ${processor.dir}/state) or choose another processor`,
  );
}

/**
 * Spawns the proxy detached in its own session, with this process's stdout and stderr (the container log),
 * and waits until it reports that its signal listeners are in place.
 */
async function spawnProxy(ctx: RuntimeContext, dir: string): Promise<ProcessIdentity> {
  const { command, args } = withInheritedFdsClosed(ctx.self.command, [...ctx.self.args, "proxy", dir]);
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    detached: true,
    cwd: "/",
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  const deadline = performance.now() + ctx.timings.readyTimeoutMs;
  try {
    while (true) {
      const ready = await readProxyReady(dir).catch(() => undefined);
      if (ready && ready.pid === child.pid) {
        child.unref();
        return ready;
      }
      if (exited) {
        throw new RuntimeError(
          "internal",
          `the proxy exited with code ${exited.code} before it was ready; its output above says why`,
        );
      }
      if (performance.now() > deadline) {
        throw new RuntimeError(
          "timeout",
          `the proxy was not ready within ${ctx.timings.readyTimeoutMs} ms; raise readyTimeoutMs in the configuration`,
        );
      }
      await delay(2);
    }
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    throw err;
  }
}

/** The shell that closes inherited descriptors before the proxy runs; absent on the rare image without one. */
const SHELL = "/bin/sh";

/**
 * Runs `command` through `/bin/sh` closing descriptors 3 to 9 first. Engines hand `create` descriptors the
 * proxy must not keep (containerd's shim passes its listening socket as fd 3, not close-on-exec), and Deno
 * cannot close a raw descriptor itself. Descriptors Deno opened are close-on-exec already.
 */
function withInheritedFdsClosed(command: string, args: string[]): { command: string; args: string[] } {
  try {
    if (!Deno.statSync(SHELL).isFile) return { command, args };
  } catch {
    return { command, args };
  }
  return {
    command: SHELL,
    args: ["-c", 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec "$0" "$@"', command, ...args],
  };
}
