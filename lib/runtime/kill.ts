import { RuntimeError } from "../errors.ts";
import { parseSignal, signalAction } from "../process/signals.ts";
import { markStopRequested, requestStop } from "../store/container_store.ts";
import { crashPoint } from "../util/crash_point.ts";
import { EXIT } from "../proxy/machine.ts";
import { loadContainer, lockExisting } from "./container.ts";
import type { RuntimeContext } from "./context.ts";
import { killProxy, stopOwnProcessor, waitForProxyExit } from "./stop.ts";

/** Extra time given to the proxy beyond its own stop timeout. */
const STOP_MARGIN_MS = 2_000;

/**
 * Sends a signal to a container and returns once its effect is done: TERM/INT stop a running processor
 * directly and then tell the proxy, which ends with 0 (a container not yet started, a pod sandbox, or a
 * proxy without its wake-up FIFO: through the proxy, as before); KILL kills the proxy and stops the
 * processor directly. The container is stopped afterwards only because reality says so, never because a
 * flag was set.
 *
 * @example
 * ```ts
 * killContainer(ctx, "fw1", "TERM");
 * ```
 * @throws {RuntimeError} for an unknown or unsupported signal, a container that is not running, or a stop that
 * did not complete.
 */
export function killContainer(ctx: RuntimeContext, id: string, signalText = "SIGTERM"): void {
  const signal = parseSignal(signalText);
  const action = signalAction(signal);
  if (action === "unsupported") {
    throw new RuntimeError(
      "unsupported",
      `signal ${signal.name} is not supported for a remote processor; use TERM or INT to stop it gracefully, or KILL to stop it at once`,
    );
  }
  // A delete racing with this call may remove the directory first: then the container does not exist.
  using _lock = lockExisting(ctx, id);
  const c = loadContainer(ctx, id);
  if (c.status !== "created" && c.status !== "running") {
    throw new RuntimeError(
      "invalid-state",
      `container ${id} is not running (it is ${c.status}): container not running`,
    );
  }
  const graceful = signal.name === "SIGINT" ? "SIGINT" : "SIGTERM";
  if (action === "force-stop") {
    killProxy(id, c.proxy);
    crashPoint("kill:after-signal");
  } else if (c.booted && c.wakeFifo && c.record?.processor) {
    // The processor runs: stopped here, as KILL does, rather than through the proxy (its wake-up, its own
    // stop and its exit report, each seen a little late: 0.5-0.6 ms more of every kill, from its end). The
    // request goes on record first, so that a proxy that sees the processor idle before its byte comes
    // reports a stop on request; the byte then ends the proxy, whose stop finds the processor idle. `state`
    // reads stopped from the moment the processor is idle (see deriveStatus).
    markStopRequested(c.dir, graceful);
    crashPoint("kill:after-request");
    try {
      stopOwnProcessor(c.record);
    } finally {
      requestStop(c.dir, graceful, true);
    }
    return;
  } else {
    // The proxy stops the processor on this request, as it would on the signal.
    requestStop(c.dir, graceful, c.wakeFifo);
    crashPoint("kill:after-request");
    const code = waitForProxyExit(
      id,
      c.proxy,
      (c.record?.timings.stopTimeoutMs ?? 10_000) + STOP_MARGIN_MS,
      c.dir,
    );
    // The proxy reports 0 only once it has read the processor offline, or when it never booted it: nothing
    // is left to stop. Any other end (a failed stop, a proxy gone without a report) is checked below.
    if (code === EXIT.stoppedOnRequest) return;
  }
  stopOwnProcessor(c.record);
}
