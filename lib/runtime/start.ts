import { RuntimeError } from "../errors.ts";
import { isAlive, processStartTime } from "../process/proc.ts";
import { markStartRequested, readBootReport } from "../store/container_store.ts";
import { crashPoint } from "../util/crash_point.ts";
import { waitForSync, WaitTimeout } from "../util/wait.ts";
import type { BootReport } from "../store/record.ts";
import { loadContainer, lockExisting } from "./container.ts";
import type { RuntimeContext } from "./context.ts";

/** Extra time `start` gives the proxy beyond the boot timeout before it gives up waiting. */
const START_MARGIN_MS = 2_000;
/** The longest pause between two looks of `start` for the proxy's boot report (paced: see waitForSync). */
const START_POLL_MS = 1;
/** What `start`'s wait gives when the proxy has ended without a boot report. */
const PROXY_GONE: unique symbol = Symbol("proxy gone");

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
  let report: BootReport | typeof PROXY_GONE;
  try {
    report = waitForSync(() => {
      const seen = readBootReport(c.dir);
      if (seen || isAlive(c.proxy)) return seen;
      // The proxy may have reported and exited between the two reads: its report is the answer.
      return readBootReport(c.dir) ?? PROXY_GONE;
    }, { timeoutMs: timeout, intervalMs: START_POLL_MS, what: "the boot report" });
  } catch (err) {
    if (err instanceof WaitTimeout) {
      throw new RuntimeError(
        "timeout",
        `cannot start container ${id}: no answer from its proxy within ${timeout} ms`,
      );
    }
    throw err;
  }
  if (report === PROXY_GONE) {
    throw new RuntimeError(
      "device",
      `cannot start container ${id}: its proxy exited during the boot (see the container log)`,
    );
  }
  if (!report.ok) throw new RuntimeError("device", `cannot start container ${id}: ${report.message}`);
}
