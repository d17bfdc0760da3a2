import denoJson from "../../deno.json" with { type: "json" };
import { resolveSettings, type Settings, stateRootFromFlag } from "../config/settings.ts";
import type { Timings } from "../store/record.ts";
import { RuntimeError } from "../errors.ts";
import { currentSelfExecInfo, selfCommand } from "../process/self_exec.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import { type Command, commandHelp, parseCommandArgs } from "./command.ts";
import { isoTimestamp } from "../util/time.ts";
import { writeLineSync } from "../util/fs.ts";
import { type GlobalFlags, splitGlobalFlags } from "./globals.ts";
import type { SpawnedChild } from "../process/spawn.ts";

/** Where a CLI run writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const STD_IO: CliIo = {
  stdout: (text) => writeLineSync(Deno.stdout, text),
  stderr: (text) => writeLineSync(Deno.stderr, text),
};

/** The modules (lib/cli/NAME.ts) loaded by {@link load}; `deno compile` is told to embed each of them. */
export const COMMAND_MODULES = [
  "create",
  "start",
  "state",
  "kill",
  "delete",
  "run",
  "cleanup",
  "list",
  "ps",
  "processors",
  "spec",
  "features",
  "unsupported",
] as const;
type CommandModule = typeof COMMAND_MODULES[number];

/** Command modules already loaded, by name: the bundled form's CLI files hold theirs (lib/dev/bundle.ts). */
export type CommandModules = Partial<Record<CommandModule, unknown>>;

/** Gets the command module `name`: from the modules given to runCli, or loaded (see {@link loader}). */
type Get = <T>(name: CommandModule) => Promise<T>;

/**
 * Returns the getter of command modules: one of `modules`, else the module lib/cli/NAME.ts loaded through a
 * computed specifier. The specifier is computed on purpose: Deno reads and checks every module named by a
 * literal `import("...")` when the program starts, so literal specifiers would make each command pay for all
 * of them. `deno compile` embeds these modules through `--include`.
 */
function loader(modules: CommandModules = {}): Get {
  return <T>(name: CommandModule) =>
    modules[name] !== undefined
      ? Promise.resolve(modules[name] as T)
      : import(import.meta.resolve(`./${name}.ts`));
}

/** Each command's module is loaded only when that command runs, so every command starts fast. */
const COMMANDS: Record<string, { summary: string; load: (get: Get) => Promise<Command> }> = {
  create: {
    summary: "create a container from a bundle",
    load: async (get) => (await get<typeof import("./create.ts")>("create")).createCommand,
  },
  start: {
    summary: "boot a created container's firmware",
    load: async (get) => (await get<typeof import("./start.ts")>("start")).startCommand,
  },
  state: {
    summary: "print a container's OCI state",
    load: async (get) => (await get<typeof import("./state.ts")>("state")).stateCommand,
  },
  kill: {
    summary: "stop a container (TERM, INT or KILL)",
    load: async (get) => (await get<typeof import("./kill.ts")>("kill")).killCommand,
  },
  delete: {
    summary: "delete a container",
    load: async (get) => (await get<typeof import("./delete.ts")>("delete")).deleteCommand,
  },
  run: {
    summary: "create and start a container",
    load: async (get) => (await get<typeof import("./run.ts")>("run")).runCommand,
  },
  cleanup: {
    summary: "remove firmware copies orphaned by crashes",
    load: async (get) => (await get<typeof import("./cleanup.ts")>("cleanup")).cleanupCommand,
  },
  list: {
    summary: "list containers (table, JSON or ids)",
    load: async (get) => (await get<typeof import("./list.ts")>("list")).listCommand,
  },
  ps: {
    summary: "print a container's pids (its proxy)",
    load: async (get) => (await get<typeof import("./ps.ts")>("ps")).psCommand,
  },
  processors: {
    summary: "list the remote processors and who holds them",
    load: async (get) => (await get<typeof import("./processors.ts")>("processors")).processorsCommand,
  },
  spec: {
    summary: "write a template config.json for a firmware bundle",
    load: async (get) => (await get<typeof import("./spec.ts")>("spec")).specCommand,
  },
  features: {
    summary: "print the OCI features document",
    load: async (get) => (await get<typeof import("./features.ts")>("features")).featuresCommand,
  },
  ...Object.fromEntries(
    (["exec", "pause", "resume", "update", "checkpoint", "restore", "events"] as const).map((name) => [name, {
      summary: "not supported for a remote processor (fails with the reason)",
      load: async (get: Get) =>
        (await get<typeof import("./unsupported.ts")>("unsupported")).unsupportedCommand(name),
    }]),
  ),
};

/**
 * Runs the command line `argv` and returns the exit code: 0 on success, 1 with one line on stderr on any
 * error (also written to the --log file when one is given). Only main.ts exits.
 *
 * @example
 * ```ts
 * Deno.exit(await runCli(["--root", "/tmp/r", "state", "fw1"]));
 * ```
 * `proxy` is a proxy main.ts started for this create (or run) before loading anything (see earlyProxy);
 * create starts one itself without it. `modules` are command modules already loaded (the bundled form's).
 */
export async function runCli(
  argv: string[],
  io: CliIo = STD_IO,
  proxy?: SpawnedChild,
  modules?: CommandModules,
): Promise<number> {
  const get = loader(modules);
  // Filled as the flags are read, so an error in a later global flag still reaches an earlier --log.
  const globals: GlobalFlags = { logFormat: "text", help: false, version: false };
  try {
    const split = splitGlobalFlags(argv, globals);
    if (globals.version) {
      io.stdout(`remoteproc-runtime version ${denoJson.version}\nspec: 1.2.0\ndeno: ${Deno.version.deno}`);
      return 0;
    }
    const [name, ...rest] = split.rest;
    if (name === undefined || globals.help) {
      io.stdout(mainHelp());
      return name === undefined && !globals.help ? 1 : 0;
    }
    if (name === "help") {
      if (rest.length === 0) {
        io.stdout(mainHelp());
        return 0;
      }
      io.stdout(commandHelp(await loadCommand(rest[0], get)));
      return 0;
    }
    const command = await loadCommand(name, get);
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(commandHelp(command));
      return 0;
    }
    const args = parseCommandArgs(command, rest);
    const ctx = command.needsContext === false
      ? ({} as RuntimeContext)
      : await buildContext(globals, proxy, command.rootOnly ?? false);
    await command.run(args, ctx, { out: io.stdout });
    return 0;
  } catch (err) {
    const message = err instanceof RuntimeError ? err.message : `internal error: ${describe(err)}`;
    io.stderr(message);
    if (globals.log) appendLog(globals.log, globals.logFormat, message);
    return 1;
  }
}

async function loadCommand(name: string, get: Get): Promise<Command> {
  const entry = COMMANDS[name];
  if (entry) return await entry.load(get);
  throw new RuntimeError(
    "usage",
    `unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(", ")} (see --help)`,
  );
}

/**
 * The context of a command. A `rootOnly` command given `--root` and no `--config` (as containerd runs every
 * command; podman passes no `--root`, so there the file is read as before) reads no configuration file:
 * looking for the default one lists /etc, 0.3-0.7 ms of a fresh process (an explicit `--config` is always
 * read, so its errors always show). Its host root and timings, which no such command uses, then throw if
 * read.
 *
 * @example
 * ```ts
 * const globals = { root: "/run/r", logFormat: "text" as const, help: false, version: false };
 * const ctx = await buildContext(globals, undefined, true);
 * ```
 * @throws {RuntimeError} from the settings: a configuration file that is malformed, or / as the state root.
 */
export async function buildContext(
  globals: GlobalFlags,
  proxy: SpawnedChild | undefined,
  rootOnly: boolean,
): Promise<RuntimeContext> {
  const cwd = Deno.cwd();
  const settings: Settings = rootOnly && globals.root !== undefined && globals.config === undefined
    ? {
      root: stateRootFromFlag(globals.root, cwd),
      get hostRoot(): string {
        throw new RuntimeError("internal", "a rootOnly command has no host root");
      },
      get timings(): Timings {
        throw new RuntimeError("internal", "a rootOnly command has no timings");
      },
    }
    : await resolveSettings(
      { root: globals.root, hostRoot: globals.hostRoot, config: globals.config },
      { uid: Deno.uid(), xdgRuntimeDir: Deno.env.get("XDG_RUNTIME_DIR"), cwd },
    );
  return {
    root: settings.root,
    // Read through, not copied: a rootOnly command's throw only if read.
    get hostRoot() {
      return settings.hostRoot;
    },
    get timings() {
      return settings.timings;
    },
    // Only a create without a proxy yet needs it, and working it out parses a URL: not done for the others.
    get self() {
      return selfCommand(currentSelfExecInfo());
    },
    cwd,
    proxy,
  };
}

function appendLog(path: string, format: "text" | "json", message: string): void {
  const time = isoTimestamp();
  const line = format === "json"
    ? JSON.stringify({ level: "error", msg: message, time })
    : `time="${time}" level=error msg=${JSON.stringify(message)}`;
  try {
    Deno.writeTextFileSync(path, line + "\n", { append: true });
  } catch {
    // the message is on stderr already; a log that cannot be written must not hide it
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return [
    "remoteproc-runtime: an OCI runtime that runs firmware on Linux remote processors (remoteproc)",
    "",
    "Usage: remoteproc-runtime [global flags] COMMAND [flags] [arguments]",
    "",
    "Commands:",
    ...rows,
    "  help         show help for a command (also: COMMAND --help)",
    "",
    "Global flags:",
    "  --root DIR        state directory (default /run/remoteproc-runtime for root)",
    "  --host-root DIR   take /sys and /lib/firmware under DIR (default /), e.g. a simulated processor",
    "  --config FILE     JSONC configuration file (default /etc/remoteproc-runtime/config.jsonc)",
    "  --log FILE        also write errors to FILE; --log-format text|json",
    "  --debug, --systemd-cgroup, --rootless VALUE   accepted for runc compatibility and ignored",
    "  --help, --version",
    "",
    "Example:",
    "  remoteproc-runtime create --bundle ./bundle blink && remoteproc-runtime start blink",
  ].join("\n");
}
