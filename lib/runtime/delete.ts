import { orUndefined, RuntimeError } from "../errors.ts";
import { releaseClaim } from "../store/claims.ts";
import { removeContainerDir, requestStop } from "../store/container_store.ts";
import { forgetFirmwareOwner, removeStoredFirmware } from "../store/firmware_store.ts";
import { crashPoint } from "../util/crash_point.ts";
import { dirname } from "../util/path.ts";
import { type Container, loadContainer, lockExisting } from "./container.ts";
import type { RuntimeContext } from "./context.ts";
import { killProxy, stopOwnProcessor, waitForProxyExit } from "./stop.ts";

/** How long a proxy that is ending on its own is given before it is killed. */
const PROXY_END_MS = 2_000;

/**
 * Deletes a container: ends its proxy, stops the processor if it still runs this container's firmware,
 * removes the stored firmware copy, releases the processor and removes the state directory. A running
 * container needs `force`. With `force`, an unknown id is success (engines clean up that way).
 *
 * @example
 * ```ts
 * deleteContainer(ctx, "fw1", { force: true });
 * ```
 * @throws {RuntimeError} "not-found", "invalid-state" (running without force), or why cleanup failed (the
 * state is kept so the delete can be retried).
 */
export function deleteContainer(
  ctx: RuntimeContext,
  id: string,
  options: { force?: boolean } = {},
): void {
  const gone = (err: unknown) =>
    options.force === true && err instanceof RuntimeError && err.code === "not-found";
  let lock: Disposable;
  try {
    lock = lockExisting(ctx, id);
  } catch (err) {
    if (gone(err)) return;
    throw err;
  }
  using _lock = lock;
  let c: Container;
  try {
    c = loadContainer(ctx, id);
  } catch (err) {
    if (gone(err)) return; // deleted by someone else while this waited for the lock
    throw err;
  }
  if ((c.status === "running" || c.status === "creating") && !options.force) {
    throw new RuntimeError(
      "invalid-state",
      `cannot delete container ${id} that is not stopped: ${c.status}; stop it first (kill ${id}) or use delete --force`,
    );
  }
  if (c.proxyAlive && (c.status === "created" || c.ending)) {
    // A proxy waiting for start is asked to end (it never touched the processor); one that reported its exit,
    // or whose processor went idle after its boot (a kill), is ending already. Each gets a moment to finish
    // on its own, and to report its exit code to the engine, before it is killed below.
    if (c.status === "created") orUndefined(() => requestStop(c.dir, "SIGTERM", c.wakeFifo));
    orUndefined(() => waitForProxyExit(id, c.proxy, PROXY_END_MS));
  }
  // A proxy found dead above stays dead (its identity includes its start time): no need to look again.
  killProxy(id, c.proxyAlive ? c.proxy : null);
  crashPoint("delete:after-proxy-killed");
  stopOwnProcessor(c.record);
  crashPoint("delete:after-processor-stopped");
  if (c.record?.firmware) {
    removeStoredFirmware(c.record.firmware.path);
    forgetFirmwareOwner(dirname(c.record.firmware.path), c.record.firmware.name);
  }
  crashPoint("delete:after-firmware-removed");
  if (c.record?.processor) releaseClaim(ctx.root, c.record.processor.name, id);
  crashPoint("delete:after-claim-released");
  removeContainerDir(c.dir);
}
