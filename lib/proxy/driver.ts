import { orUndefined, RuntimeError } from "../errors.ts";
import { isAlive, type ProcessIdentity, processStartTime } from "../process/proc.ts";
import { bootObstacle, bootProcessor, stopProcessor } from "../remoteproc/control.ts";
import { attributeReader, readAttribute } from "../remoteproc/sysfs.ts";
import {
  isRequestFile,
  markStartRequested,
  openWakeFifo,
  readRecord,
  readStartRequest,
  readStopRequest,
  startRequestIn,
  stopRequestIn,
  WAKE_BYTE,
  wakeFifoPath,
  writeBootReport,
  writeExitReport,
  writeProxyReady,
} from "../store/container_store.ts";
import { descriptorIo, type FifoWaiter, INTERRUPTED, openFifoWaiter } from "../process/fifo_wait.ts";
import { pause, sleepSync } from "../util/wait.ts";
import type { ContainerRecord } from "../store/record.ts";
import {
  EXIT,
  INITIAL_STATE,
  type ProxyAction,
  type ProxyEvent,
  START_SIGNAL,
  transition,
} from "./machine.ts";
import { isoTimestamp } from "../util/time.ts";
import { isTransientWord, processorCondition } from "../remoteproc/kernel_state.ts";
import { pathExists } from "../util/fs.ts";
import { basename, dirname } from "../util/path.ts";

const SIGNALS = [START_SIGNAL, "SIGTERM", "SIGINT"] as const;
/**
 * While running, the container's directory is checked once every this many polls (the back-up of the
 * directory watch, and what notices its removal when the proxy is woken through its FIFO).
 */
const ORPHAN_CHECK_EVERY_POLLS = 10;
/**
 * A running proxy blocked in poll(2) on its FIFO (see {@link RequestWatch.idle}) lets Deno's event loop turn
 * once every this many waits (about once a second), for what a signal that came between two waits left to
 * do: its listener. Between two turns it waits and polls in a loop of its own, without a promise.
 */
const TURN_EVERY_WAITS = 8;
/** After this many signals in a row, a running proxy waits with timers again (poll(2) failing, say). */
const MAX_INTERRUPTIONS = 100;
/** How long such a turn lasts: one timer of this many milliseconds. */
const TURN_MS = 1;
/**
 * How long after its boot report a running proxy waits on timers and reads its processor's state through
 * Deno before it opens libc for both (poll(2) on its FIFO, and the reads: lib/process/fifo_wait.ts). Opening
 * libc compiles its calls, about 4 ms of CPU, which then falls after `start` has ended and after the commands
 * that usually follow it, rather than beside them.
 */
const LIBC_AFTER_MS = 1_000;
/** The state the machine is told of when the processor's state attribute cannot be read. */
const UNREADABLE = "unreadable";
/** How fast the processor is polled while it boots or stops. */
const CONTROL_POLL_MS = 1;

/**
 * Runs the proxy of the container whose state directory is `dir` until the container ends, and returns the
 * exit code (see {@link EXIT}). It registers its signal listeners before it reports ready, so a `start` right
 * after `create` can never kill it. Then it looks for the requests of `start` and `kill` (and for the
 * directory going away) whenever it is woken (see {@link watchRequests}), and polls the processor while it
 * runs.
 *
 * No timers: waits are {@link pause}, so an idle proxy never loads Deno's timer machinery. A proxy whose
 * directory holds no record of its creator (see {@link ownRecord}) returns 0 at once, having done nothing.
 *
 * `onReady`, when given, is called right after the ready report (to tell the creator, which waits for it).
 *
 * `end`, when given, is called with the exit code right after the exit report, instead of returning: the
 * process ends with its FIFO (or watch) and signal listeners still open, for the kernel to close. Closing
 * them first took about 1 ms between the report and the exit, during which the `kill` that waits for the
 * report ends beside this process.
 *
 * @example
 * ```ts
 * const code = await runProxy("/run/remoteproc-runtime/fw1", { pid: 4242, startTime: "81234" }, console.log);
 * await runProxy("/run/remoteproc-runtime/fw1", { pid: 4242, startTime: "81234" }, console.log, Deno.exit);
 * ```
 * @throws {RuntimeError} when this process's start time cannot be read.
 */
export async function runProxy(
  dir: string,
  creator: ProcessIdentity,
  print: (line: string) => void,
  end?: (code: number) => never,
  onReady?: () => void,
): Promise<number> {
  const record = ownRecord(dir, creator);
  // The create that started this proxy failed or died before writing the record: nothing to do.
  if (!record) return EXIT.stoppedOnRequest;
  const label = record.processor ? `${record.id} on ${record.processor.name}` : `${record.id} (pod sandbox)`;
  const log = (message: string) => print(`${isoTimestamp()} ${label}: ${message}`);

  const queue: ProxyEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (event: ProxyEvent) => {
    queue.push(event);
    wake?.();
  };
  const handlers = SIGNALS.map((signal) => {
    // A start signal is turned into the request `start` would have written, so that `state` reads the same
    // either way; the container is then started from that file, once.
    const handler = signal === START_SIGNAL
      ? () => requestStartFromSignal(dir, log)
      : () => push({ type: "signal", signal });
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  let closed = false;
  const tools: DriverTools = {
    push,
    log,
    closed: () => closed,
    idle: pauseThenPoll,
    look: () => {},
    timers: new Set(),
  };
  let fifo: Deno.FsFile | undefined;
  let requests: RequestWatch | undefined;
  try {
    const startTime = processStartTime(Deno.pid);
    if (startTime === undefined) throw new RuntimeError("internal", "cannot read this process's start time");
    // Opened before the ready report: a command that finds this proxy ready can write its request to the FIFO
    // (a byte written while nobody holds it open would be lost).
    fifo = orUndefined(() => openWakeFifo(dir));
    writeProxyReady(dir, { pid: Deno.pid, startTime });
    onReady?.();
    requests = watchRequests(dir, record.timings.pollIntervalMs, tools, fifo);
    tools.idle = requests.idle;
    tools.look = requests.look;
    // Nothing to do until start: look at the processor as the boot will, so that a problem is in the log
    // before start fails on it.
    const obstacle = record.processor && bootObstacle(record.processor.dir);
    if (obstacle) log(`created; a start now would fail: ${obstacle}`);

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
      for (const action of next.actions) {
        const code = perform(action, record, dir, tools);
        if (code !== undefined) {
          // What engines learn from the exit status, kept for `ps`, tests and people reading the state dir.
          orUndefined(() => writeExitReport(dir, code));
          end?.(code);
          return code;
        }
      }
    }
  } finally {
    closed = true;
    for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
    if (requests) await requests.close();
    else fifo?.close();
  }
}

/** Writes the start request on behalf of whoever sent the start signal, unless there is one already. */
function requestStartFromSignal(dir: string, log: (message: string) => void): void {
  try {
    // Woken through the FIFO, where there is one, like any request.
    if (readStartRequest(dir) === undefined) markStartRequested(dir, null, true);
  } catch (err) {
    log(`cannot record the start requested by ${START_SIGNAL}: ${errorMessage(err)}`);
  }
}

/** How long a proxy waits for the record of the create that started it (which normally takes milliseconds). */
const RECORD_WAIT_MS = 60_000;

/**
 * Returns the record of the container this proxy was started for. `create` sends the proxy its directory
 * only once the record is there (the directory is renamed into place already filled), so the first read
 * normally finds it; the wait is for any caller without that order. Only the record written by `creator`
 * (the create that started this proxy: same pid and start time) is the one: the directory of another
 * container with the same id, written after a delete of this one, is never adopted. Returns undefined once
 * the creator is gone or after `waitMs`.
 *
 * @example
 * ```ts
 * const record = ownRecord("/run/remoteproc-runtime/fw1", { pid: 4242, startTime: "81234" });
 * ```
 */
export function ownRecord(
  dir: string,
  creator: ProcessIdentity,
  waitMs = RECORD_WAIT_MS,
): ContainerRecord | undefined {
  const deadline = performance.now() + waitMs;
  while (performance.now() < deadline) {
    const record = orUndefined(() => readRecord(dir));
    if (record && record.creator.pid === creator.pid && record.creator.startTime === creator.startTime) {
      return record;
    }
    if (!isAlive(creator)) return undefined;
    sleepSync(RECORD_POLL_MS);
  }
  return undefined;
}

/** How often a new proxy looks for its record. */
const RECORD_POLL_MS = 1;

interface DriverTools {
  push: (event: ProxyEvent) => void;
  log: (message: string) => void;
  /** True once the proxy is ending: background loops stop. */
  closed: () => boolean;
  /** How the running poll waits and reads the processor's state: {@link RequestWatch.idle}. */
  idle: (ms: number, poll: () => boolean) => Promise<void>;
  /** Looks for requests now: {@link RequestWatch.look}. */
  look: () => void;
  /** When the timers ({@link pause}) pending besides the running poll's are due (`performance.now()`). */
  timers: Set<number>;
}

/** What the proxy looks for requests with: closed when the proxy ends. */
interface RequestWatch {
  close(): Promise<void>;
  /**
   * Waits `ms`, then calls `poll` (one poll of the running processor, true when it told the proxy's loop
   * something), looking at what comes through the FIFO meanwhile. Where there is a FIFO and libc, from its
   * first call on the proxy's thread blocks in poll(2) on the FIFO instead of waiting for a timer
   * (lib/process/fifo_wait.ts says what that saves), and reads the FIFO itself: the pending read that woke
   * the proxy so far is ended first. It then waits and polls again and again, synchronously, and returns
   * when `poll` or a byte of the FIFO gave the loop something to do, when a signal ended the wait (Deno's
   * event loop turns then, for the signal listeners), once every {@link TURN_EVERY_WAITS} waits (a turn),
   * and when another timer is due (the recovery grace: a turn). Against a promise after every wait: bare
   * loops used 6-14% less CPU, real proxies about 6% less (side by side; README, Benchmark). Elsewhere, a
   * timer and one poll.
   */
  idle(ms: number, poll: () => boolean): Promise<void>;
  /**
   * Looks at the request files now, as a wake-up would: the running poll does when it sees the processor go
   * idle, since `kill` puts its request on record before it stops the processor itself (killContainer).
   */
  look(): void;
}

/**
 * Turns what appears in the container directory into events: the start request, a stop request (as the
 * signal it stands for), and the directory's removal ("orphaned"), each once. It looks whenever it is woken:
 * through the container's wake-up FIFO `fifo` where `create` made one (see wakeFifoPath in the store; a stop
 * request comes as a byte of it), else by any change of the directory (inotify), else every `pollMs`
 * (inotify limits).
 *
 * With the FIFO nothing tells of the directory's removal: until the start request is seen, it also looks
 * every {@link ORPHAN_CHECK_EVERY_POLLS} polls; from then on the running poll checks as often.
 */
function watchRequests(
  dir: string,
  pollMs: number,
  tools: DriverTools,
  fifo: Deno.FsFile | undefined,
): RequestWatch {
  const { push } = tools;
  const seen = { start: false, stop: false, orphaned: false };
  const look = () => {
    if (seen.orphaned) return;
    if (!pathExists(dir)) {
      seen.orphaned = true;
      push({ type: "orphaned" });
      return;
    }
    if (!seen.start && orUndefined(() => readStartRequest(dir))) {
      seen.start = true;
      push({ type: "signal", signal: START_SIGNAL });
    }
    const stop = seen.stop ? undefined : orUndefined(() => readStopRequest(dir));
    if (stop) {
      seen.stop = true;
      push({ type: "signal", signal: stop.signal === "SIGINT" ? "SIGINT" : "SIGTERM" });
    }
  };
  /** Looks now and every `everyMs` until the proxy closes, the directory is gone, or `until` says so. */
  const poll = async (everyMs = pollMs, until = () => false) => {
    while (!tools.closed() && !seen.orphaned && !until()) {
      look();
      await pause(everyMs);
    }
  };
  if (fifo) {
    const received = (bytes: Uint8Array) => {
      const signal = seen.stop ? undefined : stopRequestIn(bytes);
      if (signal) {
        seen.stop = true;
        push({ type: "signal", signal });
      }
      if (!seen.start && startRequestIn(bytes)) {
        // start's byte comes after its request file: the boot begins at once, and the look for anything else
        // (the directory's removal, a stop request file) waits until it is under way (a microtask, which runs
        // once the proxy's loop waits again). Looking first took 0.2 ms of every start.
        seen.start = true;
        push({ type: "signal", signal: START_SIGNAL });
        queueMicrotask(look);
        return;
      }
      look();
    };
    /** Set once `idle` reads the FIFO itself: the pending read below then ends. */
    let handedOver = false;
    const reading = (async () => {
      const buffer = new Uint8Array(64);
      try {
        let read: number | null;
        while (!tools.closed() && !handedOver && (read = await fifo.read(buffer)) !== null) {
          received(buffer.subarray(0, read));
        }
      } catch {
        // read failed: polled below
      }
      if (!tools.closed() && !handedOver) poll();
    })();
    // The first look, then the back-up that notices the directory's removal until the start.
    poll(pollMs * ORPHAN_CHECK_EVERY_POLLS, () => seen.start);
    /** Undefined until `idle` first runs, then the poll(2) waiter, or null where there is none. */
    let waiter: FifoWaiter | null | undefined;
    let waits = 0;
    let interruptions = 0;
    const wake = () => orUndefined(() => fifo.writeSync(WAKE_BYTE));
    return {
      async idle(ms, poll) {
        // What the caller just pushed is taken by the proxy's loop (a microtask) before the thread blocks.
        await Promise.resolve();
        if (waiter === undefined) {
          waiter = openFifoWaiter(wakeFifoPath(dir)) ?? null;
          if (waiter) {
            // The pending read ends on this byte (looked at as a wake-up); from now on only `idle` reads.
            handedOver = true;
            wake();
            await reading;
          }
        }
        if (!waiter) return await pauseThenPoll(ms, poll);
        while (true) {
          // Infinity without other timers (nearly always): no array spread, no clock read.
          const due = tools.timers.size === 0 ? Infinity : Math.min(...tools.timers) - performance.now();
          const got = waiter.wait(Math.max(0, Math.min(ms, due)));
          if (got === INTERRUPTED) {
            if (++interruptions >= MAX_INTERRUPTIONS) {
              waiter[Symbol.dispose]();
              waiter = null;
            }
            // Polled all the same: signals coming faster than the interval must not hold the poll off.
            poll();
            return await pause(TURN_MS);
          }
          interruptions = 0;
          if (got.length > 0) received(got);
          const told = poll() || got.length > 0;
          if (++waits % TURN_EVERY_WAITS === 0 || due <= ms) return await pause(TURN_MS);
          if (told) return;
        }
      },
      look,
      async close() {
        // A pending read ends on this byte (the loop sees the proxy closed), then the FIFO is closed.
        wake();
        await reading;
        waiter?.[Symbol.dispose]();
        fifo.close();
      },
    };
  }
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(dir, { recursive: false });
  } catch (err) {
    tools.log(`cannot watch ${dir} (${errorMessage(err)}): polling it every ${pollMs} ms instead`);
    poll();
    return { close: () => Promise.resolve(), idle: pauseThenPoll, look };
  }
  (async () => {
    try {
      for await (const event of watcher) if (concernsRequests(dir, event)) look();
    } catch {
      // the watch broke (its directory was removed, or it was closed): look again below
    }
    if (!tools.closed()) poll();
  })();
  // A request written before the watch began raised no event.
  look();
  return {
    close() {
      orUndefined(() => watcher.close());
      return Promise.resolve();
    },
    idle: pauseThenPoll,
    look,
  };
}

/** Waits `ms` with a timer ({@link pause}), then polls once: {@link RequestWatch.idle} without poll(2). */
async function pauseThenPoll(ms: number, poll: () => boolean): Promise<void> {
  await pause(ms);
  poll();
}

/**
 * Whether a change seen in the container directory `dir` can be a request or the directory's removal: one that
 * touches `dir` itself, a request file, or anything else than a file in `dir`. The rest cannot: each state
 * file written (a temp file renamed into place, the proxy's own reports too) raises five or six events, and
 * a look at each lists the directory, while the command that just returned is ending.
 *
 * @example
 * ```ts
 * for await (const event of Deno.watchFs(dir)) if (concernsRequests(dir, event)) look();
 * ```
 */
export function concernsRequests(dir: string, event: Deno.FsEvent): boolean {
  return event.paths.some((path) => dirname(path) !== dir || isRequestFile(basename(path)));
}

function perform(
  action: ProxyAction,
  record: ContainerRecord,
  dir: string,
  tools: DriverTools,
): number | undefined {
  const { push, log } = tools;
  const processor = record.processor;
  const timings = record.timings;
  switch (action.type) {
    case "log":
      log(action.message);
      return;
    case "exit":
      return action.code;
    case "report":
      // Written before any later action: an exit that follows must not beat the report `start` waits for.
      try {
        writeBootReport(dir, { ok: action.ok, message: action.message });
      } catch (err) {
        log(`cannot report the boot result: ${errorMessage(err)}`);
      }
      return;
    case "boot":
      if (!processor || !record.firmware) {
        push({ type: "booted" });
        return;
      }
      try {
        bootProcessor(processor.dir, record.firmware.name, {
          timeoutMs: timings.startTimeoutMs,
          pollMs: CONTROL_POLL_MS,
        });
        push({ type: "booted" });
      } catch (err) {
        push({ type: "boot-failed", message: errorMessage(err) });
      }
      return;
    case "stop":
      if (!processor) {
        push({ type: "stopped" });
        return;
      }
      try {
        stopProcessor(processor.dir, { timeoutMs: timings.stopTimeoutMs, pollMs: CONTROL_POLL_MS });
        push({ type: "stopped" });
      } catch (err) {
        push({ type: "stop-failed", message: errorMessage(err) });
      }
      return;
    case "watch": {
      if (!processor) return;
      (async () => {
        // Edge-triggered: the machine hears of the state only when it changes (it was "running" when the
        // boot was confirmed), so an idle poll reads one attribute (held open) and goes back to sleep.
        let last = "running";
        let orphaned = false;
        // Deno's reads and timer waits until LIBC_AFTER_MS have passed, then libc's (see there).
        const libcAt = performance.now() + LIBC_AFTER_MS;
        let viaLibc = false;
        let state = attributeReader(processor.dir, "state");
        // Whichever reader is the current one is closed when the loop ends.
        using _state = { [Symbol.dispose]: () => state[Symbol.dispose]() };
        let polls = 0;
        /** One poll: true when it pushed an event (or the proxy is closing). */
        const poll = (): boolean => {
          if (tools.closed()) return true;
          let told = false;
          // Now and then (not every poll: idle CPU), check that the container still exists.
          if (!orphaned && ++polls % ORPHAN_CHECK_EVERY_POLLS === 0 && !pathExists(dir)) {
            orphaned = true;
            push({ type: "orphaned" });
            told = true;
          }
          let now: string;
          try {
            now = state.read();
          } catch (err) {
            if (last !== UNREADABLE) log(`cannot read the processor state: ${errorMessage(err)}`);
            now = UNREADABLE;
          }
          // A word `kill` just wrote to a fake tree, not yet answered, is no change.
          if (now === last || isTransientWord(now)) return told;
          last = now;
          // A stop on request, not by itself, when `kill` stopped it (its request is on record by then).
          if (processorCondition(now) === "idle") tools.look();
          const recovery = now === "crashed" &&
            orUndefined(() => readAttribute(processor.dir, "recovery")) === "enabled";
          push({ type: "polled", state: now, recovery });
          return true;
        };
        while (!tools.closed()) {
          if (!viaLibc) {
            const early = libcAt - performance.now();
            if (early > 0) {
              await pauseThenPoll(Math.min(timings.pollIntervalMs, early), poll);
              continue;
            }
            viaLibc = true;
            const io = descriptorIo();
            if (io) {
              state[Symbol.dispose]();
              state = attributeReader(processor.dir, "state", io);
            }
          }
          await tools.idle(timings.pollIntervalMs, poll);
        }
      })();
      return;
    }
    case "arm-recovery": {
      const due = performance.now() + timings.recoveryGraceMs;
      tools.timers.add(due);
      pause(timings.recoveryGraceMs).then(() => {
        tools.timers.delete(due);
        if (!tools.closed()) push({ type: "recovery-expired" });
      });
      return;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export { EXIT };
