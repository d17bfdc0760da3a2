/**
 * remoteproc-runtime: an OCI container runtime for Linux remote processors.
 * @module
 */
import { CREATING_COMMANDS, readCommandLine } from "./lib/cli/globals.ts";
import type { CommandModules } from "./lib/cli/main.ts";

/**
 * The modules main.ts loads, each through a computed specifier so a process reads and runs only what it needs
 * (a literal `import("...")` makes Deno read the whole graph behind it at start-up): the proxy loads only its
 * own modules. `deno compile` embeds them with --include (lib/dev/compile.ts).
 */
export const ENTRY_MODULES = ["lib/cli/early.ts", "lib/cli/main.ts", "lib/cli/proxy.ts"] as const;

/**
 * The commands that have a file of their own in the bundled form (lib/dev/bundle.ts): the ones engines run
 * for every container. Any other command line runs from cli.js, which holds every command.
 */
export const BUNDLED_COMMANDS = ["create", "run", "start", "state", "kill", "delete"] as const;

/**
 * True when this code runs from the bundled form: JavaScript files made by `deno task bundle`, in which
 * every module main.ts loads is one file next to this one (see {@link bundleFile}).
 */
const BUNDLED = import.meta.url.endsWith(".js");

/**
 * The file of the bundled form that holds `module` (one of {@link ENTRY_MODULES}) for `command`: early.js,
 * proxy.js, and for the CLI cli-COMMAND.js or cli.js.
 *
 * @example
 * ```ts
 * bundleFile("lib/cli/main.ts", "state"); // "cli-state.js"
 * bundleFile("lib/cli/main.ts", "list"); // "cli.js"
 * ```
 */
export function bundleFile(module: typeof ENTRY_MODULES[number], command?: string): string {
  const name = module.slice("lib/cli/".length, -".ts".length);
  if (name !== "main") return `${name}.js`;
  return (BUNDLED_COMMANDS as readonly (string | undefined)[]).includes(command)
    ? `cli-${command}.js`
    : "cli.js";
}

function load<T>(path: typeof ENTRY_MODULES[number], command?: string): Promise<T> {
  // Not new URL() (nor in the other computed imports): start, state, kill and delete then parse no URL, and
  // Deno's URL code stays unloaded.
  return import(import.meta.resolve(BUNDLED ? `./${bundleFile(path, command)}` : `./${path}`));
}

if (import.meta.main) {
  if (Deno.args[0] === "proxy") {
    const { proxyMain } = await load<typeof import("./lib/cli/proxy.ts")>("lib/cli/proxy.ts");
    // Deno.exit as soon as the container's exit is reported (see runProxy).
    Deno.exit(await proxyMain(Deno.args.slice(1), Deno.exit));
  }
  const line = readCommandLine(Deno.args);
  const command = line?.command;
  // Started before the CLI's modules load: see lib/cli/early.ts.
  const proxy = CREATING_COMMANDS.includes(command)
    ? (await load<typeof import("./lib/cli/early.ts")>("lib/cli/early.ts")).earlyProxy(Deno.args, line)
    : undefined;
  const cli = await load<typeof import("./lib/cli/main.ts")>("lib/cli/main.ts", command);
  // The bundled form's CLI files also hand over the command modules they hold (see lib/dev/bundle.ts).
  const { modules } = cli as { modules?: CommandModules };
  const code = await cli.runCli(Deno.args, undefined, proxy, modules);
  // A create that failed before it took the proxy over leaves it to be ended here; one it kept is released.
  await proxy?.kill();
  Deno.exit(code);
}
