/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** How long to keep trying, in milliseconds. */
  timeoutMs: number;
  /** Pause between tries, in milliseconds (default 10). */
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
