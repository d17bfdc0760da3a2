import { dirHas } from "../util/fs.ts";

/** A process identified beyond its pid: the pid plus its start time, so a reused pid is never mistaken. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot). */
  startTime: string;
}

/**
 * Reads the start time of `pid` from /proc, or undefined when no such process exists or it is a zombie.
 * Synchronous, like every read of /proc and sysfs here: the kernel answers from memory at once, and an async
 * read costs a hop through Deno's blocking thread pool (a thread wake-up, ~0.2 ms each; ~1 ms the first time).
 *
 * @example
 * ```ts
 * const start = processStartTime(Deno.pid);
 * ```
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X" || state === "x") return undefined;
  return fields[19];
}

/**
 * True when the process recorded in `identity` still runs: same pid, same start time, not a zombie.
 *
 * @example
 * ```ts
 * if (isAlive(record.proxy)) Deno.kill(record.proxy.pid, "SIGTERM");
 * ```
 */
export function isAlive(identity: ProcessIdentity | null | undefined): boolean {
  if (!identity) return false;
  return processStartTime(identity.pid) === identity.startTime;
}

/**
 * Sends `signal` to the process only if it is provably the one recorded; never signals a reused pid.
 * Returns false when the process is gone.
 *
 * @example
 * ```ts
 * signalIfAlive(record.proxy, "SIGTERM");
 * ```
 */
export function signalIfAlive(
  identity: ProcessIdentity | null | undefined,
  signal: Deno.Signal,
): boolean {
  if (!isAlive(identity)) return false;
  try {
    Deno.kill(identity!.pid, signal);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Whether /proc lists `pid`: a process that is probably gone is looked up this way first, since reading the
 * /proc file of a missing process costs a thrown error (the first one of a Deno process about 1 ms).
 *
 * @example
 * ```ts
 * if (!pidListed(record.proxy.pid)) console.log("gone");
 * ```
 */
export function pidListed(pid: number): boolean {
  try {
    return dirHas("/proc", String(pid));
  } catch {
    return true; // cannot tell: let the /proc read decide
  }
}
