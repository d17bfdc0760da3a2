import { RuntimeError } from "../errors.ts";
import { isAlive, processStartTime } from "../process/proc.ts";
import { markStartRequested, readBootReport } from "../store/container_store.ts";
import { crashPoint } from "../util/crash_point.ts";
import { Pacer } from "../util/wait.ts";
import { loadContainer, lockExisting } from "./container.ts";
import type { RuntimeContext } from "./context.ts";

/** Extra time `start` gives the proxy beyond the boot timeout before it gives up waiting. */
const START_MARGIN_MS = 2_000;
/** The longest pause between two looks of `start` for the proxy's boot report (paced: see Pacer). */
const START_POLL_MS = 1;

/**
 * Starts a created container: asks its proxy to boot the firmware and returns only once the processor
 * runs. On failure the proxy exits and the container is stopped.
 *
 * @example
 * ```ts
 * startContainer(ctx, "fw1");
 * ```
 * @throws {RuntimeError} "invalid-state" unless created; "device"/"timeout" with the reason the boot failed.
 */
export function startContainer(ctx: RuntimeContext, id: string): void {
  // A delete racing with this call may remove the directory first: then the container does not exist.
  using _lock = lockExisting(ctx, id);
  const c = loadContainer(ctx, id);
  switch (c.status) {
    case "created":
      break;
    case "stopped":
      throw new RuntimeError(
        "invalid-state",
        `cannot start a container that has stopped: ${id}; delete it and create it again`,
      );
    case "running":
      throw new RuntimeError("invalid-state", `cannot start an already running container: ${id}`);
    case "creating":
      throw new RuntimeError("invalid-state", `cannot start container ${id}: it is still being created`);
  }
  const self = processStartTime(Deno.pid);
  crashPoint("start:before-request");
  // This file is the request: the proxy boots once it sees it.
  markStartRequested(c.dir, self ? { pid: Deno.pid, startTime: self } : null, c.wakeFifo);
  crashPoint("start:after-request");
  const timeout = (c.record?.timings.startTimeoutMs ?? 10_000) + START_MARGIN_MS;
  const deadline = performance.now() + timeout;
  const pacer = new Pacer(START_POLL_MS);
  while (true) {
    const report = readBootReport(c.dir);
    if (report) {
      if (report.ok) return;
      throw new RuntimeError("device", `cannot start container ${id}: ${report.message}`);
    }
    if (!isAlive(c.proxy)) {
      // The proxy may have reported and exited between the two reads: its report is the answer.
      const last = readBootReport(c.dir);
      if (last?.ok) return;
      if (last) throw new RuntimeError("device", `cannot start container ${id}: ${last.message}`);
      throw new RuntimeError(
        "device",
        `cannot start container ${id}: its proxy exited during the boot (see the container log)`,
      );
    }
    if (performance.now() > deadline) {
      throw new RuntimeError(
        "timeout",
        `cannot start container ${id}: no answer from its proxy within ${timeout} ms`,
      );
    }
    pacer.sleep();
  }
}
