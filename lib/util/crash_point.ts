/** The environment variable naming the step at which the runtime kills itself (a test hook). */
export const CRASH_AT_ENV = "REMOTEPROC_RUNTIME_CRASH_AT";

/**
 * Test hook for crash-consistency tests: when the environment variable `REMOTEPROC_RUNTIME_CRASH_AT` equals
 * `name` (e.g. `create:after-claim`), the process kills itself with SIGKILL right here, as a power cut or an
 * OOM kill would, so tests can check that `state` and `delete --force` cope with what is left. Without the
 * variable it does nothing. The names are listed in the README's Reliability section.
 *
 * @example
 * ```ts
 * await writeRecord(dir, record);
 * crashPoint("create:after-record");
 * ```
 * @throws never; it either returns or the process is gone.
 */
export function crashPoint(name: string): void {
  let wanted: string | undefined;
  try {
    wanted = Deno.env.get(CRASH_AT_ENV);
  } catch {
    return; // no permission to read the environment: no hook
  }
  if (wanted === name) Deno.kill(Deno.pid, "SIGKILL");
}
