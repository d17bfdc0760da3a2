/**
 * The global flags (those before the command), read by the CLI and by main.ts, which must find the command
 * before it loads anything else (see earlyProxy in lib/cli/early.ts, and the bundled form's files in main.ts).
 * @module
 */
import { RuntimeError } from "../errors.ts";

/** The global flags read so far. */
export interface GlobalFlags {
  root?: string;
  hostRoot?: string;
  config?: string;
  log?: string;
  logFormat: "text" | "json";
  help: boolean;
  version: boolean;
}

/** The commands that create a container, and so start a proxy (early, from main.ts: see lib/cli/early.ts). */
export const CREATING_COMMANDS: readonly (string | undefined)[] = ["create", "run"];

export const VALUE_FLAGS = ["root", "host-root", "config", "log", "log-format", "rootless", "criu"];
export const BOOLEAN_FLAGS = ["debug", "systemd-cgroup", "help", "version"];

/** Reads the global flags (before the command) into `globals`; returns the command and its arguments. */
export function splitGlobalFlags(argv: string[], globals: GlobalFlags): { rest: string[] } {
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "-h") {
      globals.help = true;
      continue;
    }
    if (arg === "-v") {
      globals.version = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(arg.startsWith("--") ? 2 : 1, eq < 0 ? undefined : eq);
    if (BOOLEAN_FLAGS.includes(name)) {
      if (name === "help") globals.help = true;
      if (name === "version") globals.version = true;
      continue;
    }
    if (!VALUE_FLAGS.includes(name)) {
      throw new RuntimeError(
        "usage",
        `unknown global flag ${arg.split("=")[0]}; accepted: ${
          [...VALUE_FLAGS, ...BOOLEAN_FLAGS].map((f) => `--${f}`).join(", ")
        }`,
      );
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new RuntimeError("usage", `global flag --${name} needs a value`);
      value = argv[++i];
    }
    if (name === "root") globals.root = nonEmpty(name, value);
    else if (name === "host-root") globals.hostRoot = nonEmpty(name, value);
    else if (name === "config") globals.config = nonEmpty(name, value);
    else if (name === "log") globals.log = value === "" ? undefined : value;
    else if (name === "log-format") {
      if (value !== "text" && value !== "json") {
        throw new RuntimeError("usage", `--log-format must be text or json, not ${JSON.stringify(value)}`);
      }
      globals.logFormat = value;
    }
  }
  return { rest: argv.slice(i) };
}

/** A command line read ahead of the CLI: its global flags, its command and the command's arguments. */
export interface CommandLine {
  globals: GlobalFlags;
  command: string | undefined;
  args: string[];
}

/**
 * The command line `argv` read ahead of the CLI, once, by main.ts (which picks what to load by its command,
 * and hands it to earlyProxy). Undefined when a global flag is wrong, which the CLI then reports.
 *
 * @example
 * ```ts
 * readCommandLine(["--root", "/tmp/r", "state", "fw1"])?.args; // ["fw1"]
 * ```
 */
export function readCommandLine(argv: string[]): CommandLine | undefined {
  const globals: GlobalFlags = { logFormat: "text", help: false, version: false };
  try {
    const [command, ...args] = splitGlobalFlags(argv, globals).rest;
    return { globals, command, args };
  } catch {
    return undefined;
  }
}

function nonEmpty(flag: string, value: string): string {
  if (value === "") throw new RuntimeError("usage", `--${flag} needs a non-empty value`);
  return value;
}
