/**
 * Starting a create's proxy before anything else loads. A proxy is a whole Deno process, the longest step of
 * a create; started first thing in main.ts, its start-up runs while create loads its modules and checks the
 * bundle, instead of after.
 * @module
 */
import { type CommandLine, CREATING_COMMANDS } from "./globals.ts";
import { currentSelfExecInfo, selfCommand } from "../process/self_exec.ts";
import { type SpawnedChild, startProxy } from "../process/spawn.ts";

/**
 * Starts the proxy for the command line `argv` (`line`, as main.ts read it) when its command creates a
 * container, else returns undefined. Whatever goes wrong here (a bad global flag, a proxy that cannot start)
 * is left for the command to find and report: it runs as if no proxy had been started.
 *
 * @example
 * ```ts
 * const proxy = earlyProxy(Deno.args, readCommandLine(Deno.args));
 * const code = await runCli(Deno.args, undefined, proxy);
 * await proxy?.kill(); // unless create kept it
 * ```
 */
export function earlyProxy(argv: string[], line: CommandLine | undefined): SpawnedChild | undefined {
  if (!line || line.globals.help || line.globals.version || !CREATING_COMMANDS.includes(line.command)) {
    return undefined;
  }
  if (line.args.includes("--help") || line.args.includes("-h")) return undefined;
  try {
    return startProxy(selfCommand(currentSelfExecInfo()), argv);
  } catch {
    return undefined;
  }
}
