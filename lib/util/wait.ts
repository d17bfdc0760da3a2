/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** How long to keep trying, in milliseconds. */
  timeoutMs: number;
  /** Pause between tries, in milliseconds (default 10; for {@link waitForSync}, the longest, default 1). */
  intervalMs?: number;
  /** What is being waited for, used in the timeout message. */
  what?: string;
}

/** Raised by {@link waitFor} when the deadline passes. */
export class WaitTimeout extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = "WaitTimeout";
  }
}

/**
 * Polls `condition` until it returns a value other than `undefined`/`false`, and returns that value.
 * This is the one way code and tests wait for something: never a fixed sleep.
 *
 * @example
 * ```ts
 * const pid = await waitFor(() => readPidOrUndefined(), { timeoutMs: 2000, what: "the pid file" });
 * ```
 * @throws {WaitTimeout} when the deadline passes first.
 */
export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 10;
  while (true) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    const left = deadline - performance.now();
    if (left <= 0) throw new WaitTimeout(options.what ?? "a condition", options.timeoutMs);
    await delay(Math.min(interval, left));
  }
}

/**
 * Resolves after `ms` milliseconds. Only for pacing a poll loop, never to "let things settle".
 *
 * @example
 * ```ts
 * await delay(5);
 * ```
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What {@link within} gives when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * The value of `promise`, or {@link TIMED_OUT} when `ms` milliseconds pass first; the timer is cleared either
 * way. It uses a timer: for tools and tests, not for a command's path (see {@link pause}).
 *
 * @example
 * ```ts
 * if (await within(child.status, 5000) === TIMED_OUT) child.kill("SIGKILL");
 * ```
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeUp = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

/** What {@link sleepSync} blocks on: a shared word nobody ever changes. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks this thread for `ms` milliseconds. For the poll loops of short-lived commands, which have nothing
 * else to do while they wait: a timer costs a Deno process ~15 ms the first time it is used (the timer
 * machinery is loaded on demand) and wakes ~2 ms late after that, where this wakes within ~0.1 ms.
 *
 * @example
 * ```ts
 * sleepSync(1);
 * ```
 */
export function sleepSync(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}

/** The shortest pause of {@link waitForSync} (see {@link pacedPause}). */
export const FIRST_PAUSE_MS = 0.1;

/**
 * The pause {@link waitForSync} takes after `waitedMs` of waiting: an eighth of it, at least
 * {@link FIRST_PAUSE_MS}, at most `intervalMs`. What a command or the proxy waits for (the proxy's report,
 * the kernel's answer) often comes within a millisecond or two, which a fixed 1 ms pause misses by half a
 * millisecond on average; paced, it is seen at most an eighth of its wait late, for a few more looks.
 *
 * @example
 * ```ts
 * pacedPause(0, 1); // 0.1
 * pacedPause(4, 1); // 0.5
 * pacedPause(60, 1); // 1
 * ```
 */
export function pacedPause(waitedMs: number, intervalMs: number): number {
  return Math.min(Math.max(waitedMs / 8, FIRST_PAUSE_MS), intervalMs);
}

/**
 * The blocking form of {@link waitFor}, for commands, and for the proxy's sysfs waits while it boots or stops
 * the processor, when nothing else may run (never the proxy's idle waits, whose event loop must turn):
 * polls `condition`, paced ({@link pacedPause}) up to every `intervalMs` (default 1), until it returns a
 * value other than `undefined`/`false`.
 *
 * @example
 * ```ts
 * const report = waitForSync(() => readBootReport(dir), { timeoutMs: 12_000, what: "the boot report" });
 * ```
 * @throws {WaitTimeout} when the deadline passes first.
 */
export function waitForSync<T>(condition: () => T | undefined | false, options: WaitOptions): T {
  const began = performance.now();
  const interval = options.intervalMs ?? 1;
  while (true) {
    const value = condition();
    if (value !== undefined && value !== false) return value;
    const waited = performance.now() - began;
    const left = options.timeoutMs - waited;
    if (left <= 0) throw new WaitTimeout(options.what ?? "a condition", options.timeoutMs);
    sleepSync(Math.min(pacedPause(waited, interval), left));
  }
}

/**
 * Resolves after `ms` milliseconds without a timer, for the long-lived proxy: Deno loads its timer machinery
 * on first use (~15 ms, and ~1.5 MiB of memory an idle proxy would keep), where V8's own Atomics.waitAsync
 * needs none of it. Something else must keep the event loop alive meanwhile (the proxy's signal listeners).
 *
 * @example
 * ```ts
 * await pause(100);
 * ```
 */
export function pause(ms: number): Promise<void> {
  const wait = Atomics.waitAsync(SLEEPER, 0, 0, ms);
  return wait.async ? wait.value.then(() => {}) : Promise.resolve();
}
