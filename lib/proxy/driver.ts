import { fsError, RuntimeError } from "../errors.ts";
import { processStartTime } from "../process/proc.ts";
import { bootProcessor, stopProcessor } from "../remoteproc/control.ts";
import { readAttribute } from "../remoteproc/sysfs.ts";
import { readRecord, writeBootReport, writeExitReport, writeProxyReady } from "../store/container_store.ts";
import type { ContainerRecord } from "../store/record.ts";
import {
  EXIT,
  INITIAL_STATE,
  type ProxyAction,
  type ProxyEvent,
  START_SIGNAL,
  transition,
} from "./machine.ts";

const SIGNALS = [START_SIGNAL, "SIGTERM", "SIGINT"] as const;
/** How often a proxy waiting for `start` checks that its container still exists. */
const ORPHAN_CHECK_MS = 1_000;
/** While running, the container's directory is checked once every this many polls. */
const ORPHAN_CHECK_EVERY_POLLS = 10;
/** How fast the processor is polled while it boots or stops. */
const CONTROL_POLL_MS = 2;

/**
 * Runs the proxy of the container whose state directory is `dir` until the container ends, and returns the
 * exit code (see {@link EXIT}). It registers its signal listeners before it reports ready, so a `start` right
 * after `create` can never kill it.
 *
 * @example
 * ```ts
 * Deno.exit(await runProxy("/run/remoteproc-runtime/fw1", console.log));
 * ```
 * @throws {RuntimeError} when the container record cannot be read.
 */
export async function runProxy(dir: string, print: (line: string) => void): Promise<number> {
  const record = await readRecord(dir);
  if (!record) throw new RuntimeError("not-found", `no container record in ${dir}`);
  const label = record.processor ? `${record.id} on ${record.processor.name}` : `${record.id} (pod sandbox)`;
  const log = (message: string) => print(`${new Date().toISOString()} ${label}: ${message}`);

  const queue: ProxyEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (event: ProxyEvent) => {
    queue.push(event);
    wake?.();
  };
  const handlers = SIGNALS.map((signal) => {
    const handler = () => push({ type: "signal", signal });
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  const timers: Timer[] = [];
  try {
    const startTime = await processStartTime(Deno.pid);
    if (startTime === undefined) throw new RuntimeError("internal", "cannot read this process's start time");
    await writeProxyReady(dir, { pid: Deno.pid, startTime });
    // Only a proxy still waiting for start reacts to its directory going away (see the machine), so the
    // check stops once it has left that phase: an idle running proxy then wakes only for its polls.
    let orphanCheck: Timer | undefined = setInterval(async () => {
      try {
        await Deno.lstat(dir);
      } catch {
        push({ type: "orphaned" });
      }
    }, ORPHAN_CHECK_MS);
    timers.push(orphanCheck);

    let state = INITIAL_STATE;
    while (true) {
      const event = queue.shift();
      if (!event) {
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
        continue;
      }
      const next = transition(state, event);
      state = next.state;
      if (orphanCheck !== undefined && state.phase !== "waiting") {
        clearInterval(orphanCheck);
        orphanCheck = undefined;
      }
      for (const action of next.actions) {
        const code = await perform(action, record, dir, { push, log, timers });
        if (code !== undefined) {
          // What engines learn from the exit status, kept for `ps`, tests and people reading the state dir.
          await writeExitReport(dir, code).catch(() => {});
          return code;
        }
      }
    }
  } finally {
    for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
    for (const timer of timers) clearInterval(timer);
  }
}

interface DriverTools {
  push: (event: ProxyEvent) => void;
  log: (message: string) => void;
  timers: Timer[];
}

type Timer = ReturnType<typeof setInterval>;

async function perform(
  action: ProxyAction,
  record: ContainerRecord,
  dir: string,
  tools: DriverTools,
): Promise<number | undefined> {
  const { push, log, timers } = tools;
  const processor = record.processor;
  const timings = record.timings;
  switch (action.type) {
    case "log":
      log(action.message);
      return;
    case "exit":
      return action.code;
    case "report":
      // Awaited: an exit that follows must not beat the report that `start` is waiting for.
      await writeBootReport(dir, { ok: action.ok, message: action.message }).catch((err) =>
        log(`cannot report the boot result: ${errorMessage(err)}`)
      );
      return;
    case "boot":
      if (!processor || !record.firmware) {
        push({ type: "booted" });
        return;
      }
      bootProcessor(processor.dir, record.firmware.name, {
        timeoutMs: timings.startTimeoutMs,
        pollMs: CONTROL_POLL_MS,
      }).then(
        () => push({ type: "booted" }),
        (err) => push({ type: "boot-failed", message: errorMessage(err) }),
      );
      return;
    case "stop":
      if (!processor) {
        push({ type: "stopped" });
        return;
      }
      stopProcessor(processor.dir, { timeoutMs: timings.stopTimeoutMs, pollMs: CONTROL_POLL_MS }).then(
        () => push({ type: "stopped" }),
        (err) => push({ type: "stop-failed", message: errorMessage(err) }),
      );
      return;
    case "watch": {
      if (!processor) return;
      let busy = false;
      let polls = 0;
      timers.push(setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          // Now and then (not every poll: idle CPU), check that the container still exists.
          if (++polls % ORPHAN_CHECK_EVERY_POLLS === 0 && !dirExistsNow(dir)) push({ type: "orphaned" });
          // A synchronous read: a sysfs attribute is answered from kernel memory at once, and the async
          // form costs a hop through Deno's blocking thread pool, an extra thread wake-up at every poll.
          const state = readStateNow(processor.dir);
          const recovery = state === "crashed" &&
            (await readAttribute(processor.dir, "recovery").catch(() => "disabled")) === "enabled";
          push({ type: "polled", state, recovery });
        } catch (err) {
          log(`cannot read the processor state: ${errorMessage(err)}`);
          push({ type: "polled", state: "unreadable", recovery: false });
        } finally {
          busy = false;
        }
      }, timings.pollIntervalMs));
      return;
    }
    case "arm-recovery":
      timers.push(setTimeout(() => push({ type: "recovery-expired" }), timings.recoveryGraceMs));
      return;
  }
}

function dirExistsNow(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The processor's state attribute, read synchronously (what readAttribute returns, without the "\n"). */
function readStateNow(processorDir: string): string {
  const path = `${processorDir}/state`;
  try {
    const text = Deno.readTextFileSync(path);
    return text.endsWith("\n") ? text.slice(0, -1) : text;
  } catch (err) {
    throw fsError(err, "read", path);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export { EXIT };
