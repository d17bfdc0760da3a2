import { processorCondition } from "../remoteproc/kernel_state.ts";

/** Exit codes of the proxy, which engines show as the container's exit code. */
export const EXIT = {
  /** Stopped on request (TERM/INT), or ended before start. */
  stoppedOnRequest: 0,
  /** The proxy itself failed (unreadable state, internal error). */
  internalError: 1,
  /** The firmware did not boot. */
  bootFailed: 2,
  /** The processor stopped by itself (state went offline, or detached, without a request). */
  stoppedBySelf: 3,
  /** The processor crashed and did not recover. */
  crashed: 4,
  /** The processor left the runtime's control (deleted, invalid or an unknown state). */
  lost: 5,
  /** A requested stop did not complete; the runtime will stop the processor itself. */
  stopFailed: 6,
} as const;

/**
 * The signal `start` sends the proxy. Not SIGUSR1: since Deno 2.9.2 a SIGUSR1 also opens Deno's V8 inspector on
 * 127.0.0.1:9229 (even when the program listens for it), which in a root process is an unauthenticated way to
 * run code as root. SIGUSR2 has no such side effect.
 */
export const START_SIGNAL = "SIGUSR2";

/** A signal the proxy listens for. */
export type ProxySignal = typeof START_SIGNAL | "SIGTERM" | "SIGINT";

/** Where the proxy is in a container's life. */
export type Phase = "waiting" | "booting" | "running" | "recovering" | "stopping" | "done";

/** The proxy's state: its phase and whether a stop was asked for while booting. */
export interface ProxyState {
  phase: Phase;
  stopPending: boolean;
}

/** Something that happened to the proxy. */
export type ProxyEvent =
  | { type: "signal"; signal: ProxySignal }
  | { type: "booted" }
  | { type: "boot-failed"; message: string }
  | { type: "polled"; state: string; recovery: boolean }
  | { type: "stopped" }
  | { type: "stop-failed"; message: string }
  | { type: "recovery-expired" }
  | { type: "orphaned" };

/** Something the driver must do. */
export type ProxyAction =
  | { type: "boot" }
  | { type: "report"; ok: boolean; message: string }
  | { type: "watch" }
  | { type: "stop" }
  | { type: "arm-recovery" }
  | { type: "log"; message: string }
  | { type: "exit"; code: number };

/** The state a proxy starts in. */
export const INITIAL_STATE: ProxyState = { phase: "waiting", stopPending: false };

/**
 * The proxy as a pure state machine: (state, event) -> (state, actions). It does no I/O, so every path is
 * unit-tested without processes; the driver turns signals and sysfs reads into events.
 *
 * @example
 * ```ts
 * const { state, actions } = transition(INITIAL_STATE, { type: "signal", signal: START_SIGNAL });
 * // state.phase === "booting", actions = [{ type: "log", ... }, { type: "boot" }]
 * ```
 */
export function transition(
  state: ProxyState,
  event: ProxyEvent,
): { state: ProxyState; actions: ProxyAction[] } {
  const to = (phase: Phase, actions: ProxyAction[], stopPending = state.stopPending) => ({
    state: { phase, stopPending },
    actions,
  });
  const stay = (actions: ProxyAction[] = []) => ({ state, actions });
  const log = (message: string): ProxyAction => ({ type: "log", message });
  const exit = (code: number, message: string) => to("done", [log(message), { type: "exit", code }]);

  if (state.phase === "done") return stay();
  switch (event.type) {
    case "signal":
      return onSignal(state, event.signal, { to, stay, log, exit });
    case "booted":
      if (state.phase !== "booting") return stay();
      if (state.stopPending) {
        return to("stopping", [
          { type: "report", ok: false, message: "the container was stopped while it was booting" },
          log("booted, but a stop was requested: stopping the processor"),
          { type: "stop" },
        ], false);
      }
      return to("running", [{ type: "report", ok: true, message: "running" }, log("running"), {
        type: "watch",
      }]);
    case "boot-failed":
      if (state.phase !== "booting") return stay();
      return to("done", [
        { type: "report", ok: false, message: event.message },
        log(`boot failed: ${event.message}`),
        { type: "exit", code: EXIT.bootFailed },
      ]);
    case "polled":
      return polled(state, event.state, event.recovery, { to, stay, log, exit });
    case "recovery-expired":
      return state.phase === "recovering"
        ? exit(EXIT.crashed, "the processor crashed and kernel recovery did not bring it back")
        : stay();
    case "stopped":
      return state.phase === "stopping" ? exit(EXIT.stoppedOnRequest, "stopped on request") : stay();
    case "stop-failed":
      return state.phase === "stopping" ? exit(EXIT.stopFailed, `stop failed: ${event.message}`) : stay();
    case "orphaned":
      // The container's state directory is gone (removed by hand, or the state root wiped): nothing can
      // delete this container any more, so the proxy stops its processor itself rather than let it outlive it.
      if (state.phase === "waiting") {
        return exit(EXIT.stoppedOnRequest, "container removed before start: exiting");
      }
      if (state.phase === "running" || state.phase === "recovering") {
        return to("stopping", [log("the container's state was removed: stopping the processor"), {
          type: "stop",
        }]);
      }
      if (state.phase === "booting") {
        return to(
          "booting",
          [log("the container's state was removed: will stop once the boot completes")],
          true,
        );
      }
      return stay();
  }
}

type Helpers = {
  to: (
    phase: Phase,
    actions: ProxyAction[],
    stopPending?: boolean,
  ) => { state: ProxyState; actions: ProxyAction[] };
  stay: (actions?: ProxyAction[]) => { state: ProxyState; actions: ProxyAction[] };
  log: (message: string) => ProxyAction;
  exit: (code: number, message: string) => { state: ProxyState; actions: ProxyAction[] };
};

function polled(state: ProxyState, kernelState: string, recovery: boolean, h: Helpers) {
  if (state.phase !== "running" && state.phase !== "recovering") return h.stay();
  switch (processorCondition(kernelState)) {
    case "active":
      return state.phase === "recovering"
        ? h.to("running", [h.log(`recovered by the kernel: ${kernelState}`)])
        : h.stay();
    case "crashed":
      if (state.phase === "recovering") return h.stay();
      return recovery
        ? h.to("recovering", [h.log("the processor crashed; kernel recovery is enabled, waiting for it"), {
          type: "arm-recovery",
        }])
        : h.exit(EXIT.crashed, "the processor crashed (kernel recovery is disabled)");
    case "idle":
      return h.exit(EXIT.stoppedBySelf, `the processor stopped by itself (state ${kernelState})`);
    default:
      return h.exit(
        EXIT.lost,
        `the processor left the runtime's control (state ${JSON.stringify(kernelState)})`,
      );
  }
}

function onSignal(state: ProxyState, signal: ProxySignal, h: Helpers) {
  if (signal === START_SIGNAL) {
    return state.phase === "waiting"
      ? h.to("booting", [h.log("start requested: booting the firmware"), { type: "boot" }])
      : h.stay([h.log(`ignoring ${START_SIGNAL}: already ${state.phase}`)]);
  }
  switch (state.phase) {
    case "waiting":
      return h.exit(EXIT.stoppedOnRequest, `${signal} before start: exiting without touching the processor`);
    case "booting":
      return h.to("booting", [h.log(`${signal} while booting: will stop once the boot completes`)], true);
    case "running":
    case "recovering":
      return h.to("stopping", [h.log(`${signal}: stopping the processor`), { type: "stop" }]);
    default:
      return h.stay();
  }
}
