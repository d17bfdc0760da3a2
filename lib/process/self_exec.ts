/** What decides how the runtime re-executes itself. */
export interface SelfExecInfo {
  /** `Deno.build.standalone`: true inside a `deno compile`d file. */
  standalone: boolean;
  /** `Deno.execPath()`: the compiled file, or the deno binary. */
  execPath: string;
  /** `Deno.mainModule`: the entry script's URL. */
  mainModule: string;
}

/** A program and the arguments that come before the runtime's own arguments. */
export interface SelfCommand {
  command: string;
  args: string[];
  /** Variables the program gets on top of this process's environment. */
  env: Record<string, string>;
}

/**
 * Permissions of the re-executed proxy under `deno run`. It only reads and writes sysfs, /proc and its state
 * directory, but Deno refuses reads of /proc/PID and writes under /sys without --allow-all ("Requires all
 * access"), whatever --allow-read/--allow-write say, so nothing narrower works.
 */
export const PROXY_PERMISSIONS = ["--allow-all"];

/**
 * V8 settings of the re-executed proxy: a 1 MiB young generation, the part of the heap an idle poller churns.
 * Measured with lib/dev/bench.ts (private memory of an idle proxy): --lite-mode, --single-threaded,
 * --single-threaded-gc, --optimize-for-size and --jitless change it by less than the run-to-run noise
 * (0.3 MiB), so none is used (--single-threaded would also stop the proxy's polls: under it, `deno run`
 * never fires the timeout of an Atomics.waitAsync; eight waits of 125 ms had not ended after 5 s);
 * --max-old-space-size is left alone because an out-of-memory proxy would leave a running processor
 * without its watcher. The compiled file is built with the same flags (lib/dev/compile.ts checks that it
 * carries them).
 */
export const PROXY_V8_FLAGS = "--max-semi-space-size=1";

/**
 * Environment of the re-executed proxy, in both forms (`deno run` and the compiled file), on top of the
 * environment `create` was given.
 *
 * `MALLOC_ARENA_MAX=1`: glibc's allocator keeps one arena for all of the process's threads. By default each
 * thread that allocates gets an arena of its own, and an idle proxy's arenas grew from about 1.1-1.2 MiB of
 * private memory to 2.2-2.4 MiB over its first hour, in steps, where with one arena they stayed at
 * 0.8-0.9 MiB and the main heap grew by 0.2-0.25 MiB instead (four proxies of each side by side; README,
 * Benchmark). The proxy's threads are idle nearly always, so they do not contend for the one arena.
 *
 * `DENO_NO_UPDATE_CHECK=1`: Deno's update check off. Half a second after it starts, a `deno run`
 * process that is still running asks dl.deno.land for Deno's latest version, and asks again at every start
 * until an answer is recorded in its cache (so always, on a board that is offline or whose cache cannot be
 * written). For the proxy, a long-lived root process, that was a DNS query (`strace`: a UDP socket to the
 * resolver; none with this variable) and, where it resolves, an HTTPS request, and 0.25-0.45 MiB of private
 * dirty memory for the certificates it loads. Set for the compiled file too: whether its runtime checks could
 * not be seen here (no compiled file can be built on this machine), and the variable costs nothing. Commands
 * end, or block their event loop, before the check would run (a slow board's `create` might not: the README's
 * bundled-form wrapper sets the variable for every command).
 */
export const PROXY_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "1",
  DENO_NO_UPDATE_CHECK: "1",
};

/**
 * How to run this program again: the compiled file runs itself; under `deno run` it runs
 * `deno run <permissions> --no-config main.ts`. The proxy needs no configuration file: its modules import
 * nothing through the import map, and reading deno.json and deno.lock would only slow its start-up.
 *
 * @example
 * ```ts
 * const self = selfCommand({ standalone: Deno.build.standalone, execPath: Deno.execPath(), mainModule: Deno.mainModule });
 * startProxy(self, Deno.args);
 * ```
 */
export function selfCommand(info: SelfExecInfo): SelfCommand {
  if (info.standalone) return { command: info.execPath, args: [], env: { ...PROXY_ENV } };
  const args = ["run", "--quiet", "--no-prompt", ...PROXY_PERMISSIONS, `--v8-flags=${PROXY_V8_FLAGS}`];
  args.push(
    "--no-config",
    info.mainModule.startsWith("file://") ? filePath(info.mainModule) : info.mainModule,
  );
  return { command: info.execPath, args, env: { ...PROXY_ENV } };
}

/**
 * The {@link SelfExecInfo} of the running program.
 *
 * @example
 * ```ts
 * selfCommand(currentSelfExecInfo());
 * ```
 */
export function currentSelfExecInfo(): SelfExecInfo {
  return { standalone: Deno.build.standalone, execPath: Deno.execPath(), mainModule: Deno.mainModule };
}

/**
 * The local path of a `file:` URL as Deno writes its main module's (`file:///` and the path,
 * percent-escaped), by string arithmetic: neither node:url (a `node:` import costs a command ~25 ms of
 * start-up) nor `URL`, whose first use cost a fresh process 0.5-0.7 ms, on create's way to starting its proxy.
 */
function filePath(url: string): string {
  return decodeURIComponent(url.slice("file://".length));
}
