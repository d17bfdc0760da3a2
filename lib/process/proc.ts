/** A process identified beyond its pid: the pid plus its start time, so a reused pid is never mistaken. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot). */
  startTime: string;
}

/**
 * Reads the start time of `pid` from /proc, or undefined when no such process exists or it is a zombie.
 *
 * @example
 * ```ts
 * const start = await processStartTime(Deno.pid);
 * ```
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
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
 * if (await isAlive(record.proxy)) Deno.kill(record.proxy.pid, "SIGTERM");
 * ```
 */
export async function isAlive(identity: ProcessIdentity | null | undefined): Promise<boolean> {
  if (!identity) return false;
  return (await processStartTime(identity.pid)) === identity.startTime;
}

/**
 * Sends `signal` to the process only if it is provably the one recorded; never signals a reused pid.
 * Returns false when the process is gone.
 *
 * @example
 * ```ts
 * await signalIfAlive(record.proxy, "SIGTERM");
 * ```
 */
export async function signalIfAlive(
  identity: ProcessIdentity | null | undefined,
  signal: Deno.Signal,
): Promise<boolean> {
  if (!(await isAlive(identity))) return false;
  try {
    Deno.kill(identity!.pid, signal);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
