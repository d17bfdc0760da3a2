import { TIMED_OUT, within } from "../util/wait.ts";

/** Options of {@link runToFiles}. */
export interface RunToFilesOptions {
  /** Directory for the two output files. */
  outDir: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Start from an empty environment (plus `env`). */
  clearEnv?: boolean;
  /** Kill the program by its pid and throw when it runs longer. */
  timeoutMs?: number;
  /** Called with the pid as soon as the program runs. */
  onSpawn?: (pid: number) => void;
}

/** What one run produced. */
export interface RunToFilesResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `program` with an argv array and its stdout and stderr in files, not pipes: a proxy that `create`
 * starts (or a daemon an engine leaves) inherits them, and a pipe would stay open as long as it lives. The
 * redirect is one constant shell script; every argument travels as its own argv entry.
 *
 * @example
 * ```ts
 * const r = await runToFiles(Deno.execPath(), ["run", "-A", "main.ts", "state", "fw1"], { outDir: "/tmp/x" });
 * ```
 * @throws {Error} when `timeoutMs` passes first (the program is killed).
 */
export async function runToFiles(
  program: string,
  args: string[],
  options: RunToFilesOptions,
): Promise<RunToFilesResult> {
  const tag = crypto.randomUUID().slice(0, 8);
  const out = `${options.outDir}/run-${tag}.out`;
  const err = `${options.outDir}/run-${tag}.err`;
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'out=$1; err=$2; shift 2; exec "$@" >"$out" 2>"$err"', "sh", out, err, program, ...args],
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  options.onSpawn?.(child.pid);
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const outcome = options.timeoutMs === undefined
    ? await child.status
    : await within(child.status, options.timeoutMs);
  if (outcome === TIMED_OUT) {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // it finished meanwhile
    }
    await child.status;
    throw new Error(
      `${program} ${args.join(" ")} did not finish within ${options.timeoutMs} ms\n` +
        `stdout: ${await read(out)}\nstderr: ${await read(err)}`,
    );
  }
  return { code: outcome.code, stdout: await read(out), stderr: await read(err) };
}
