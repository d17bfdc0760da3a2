import { RuntimeError } from "../errors.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import { ArgsError, type OptionSpec, parseArgs } from "./args.ts";

/** A flag of a command, as lib/cli/args.ts describes it, plus its help line. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  help: string;
  /** Accepted for runc compatibility and ignored. */
  ignored?: boolean;
  /** Placeholder shown in help, e.g. DIR. */
  arg?: string;
}

/** `-b, --bundle DIR`, shared by the commands that take a bundle. */
export const BUNDLE_FLAG: FlagSpec = {
  type: "string",
  short: "b",
  arg: "DIR",
  help: "bundle directory (default: the current directory)",
};

/** Output channels of a command. */
export interface CommandIo {
  out(text: string): void;
}

/** Parsed flags and positional arguments of one command. */
export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** One subcommand: its help and what it does. */
export interface Command {
  name: string;
  summary: string;
  /** Positional arguments, e.g. "[--bundle DIR] ID". */
  synopsis: string;
  example: string;
  flags: Record<string, FlagSpec>;
  /** How many positional arguments: [min, max]. */
  arity: [number, number];
  /** False for commands that need no settings (features, spec, proxy). */
  needsContext?: boolean;
  /**
   * True for commands whose only setting is the state root (what they need else is in the container's
   * record): given `--root` and no `--config`, they read no configuration file (see buildContext in
   * lib/cli/main.ts).
   */
  rootOnly?: boolean;
  /** True for commands that take any arguments unparsed (the refused runc commands: exec, pause...). */
  rawArgs?: boolean;
  run(args: ParsedArgs, ctx: RuntimeContext, io: CommandIo): Promise<void> | void;
}

/**
 * Parses a command's arguments strictly: unknown flags and wrong argument counts are usage errors that say
 * what is accepted.
 *
 * @example
 * ```ts
 * parseCommandArgs(deleteCommand, ["--force", "fw1"]);
 * ```
 * @throws {RuntimeError} "usage".
 */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  if (command.rawArgs) return { flags: {}, positionals: [...argv] };
  const options: Record<string, OptionSpec> = {};
  for (const [name, spec] of Object.entries(command.flags)) {
    options[name] = { type: spec.type };
    if (spec.short) options[name].short = spec.short;
    if (spec.multiple) options[name].multiple = true;
  }
  let parsed;
  try {
    parsed = parseArgs(argv, options);
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    if (err.kind === "unknown-option") {
      const accepted = Object.keys(command.flags).map((f) => `--${f}`).join(", ") || "no flags";
      throw new RuntimeError(
        "usage",
        `unknown flag ${err.option} for ${command.name}; accepted: ${accepted} (see ${command.name} --help)`,
      );
    }
    throw new RuntimeError("usage", `${command.name}: ${err.message} (see ${command.name} --help)`);
  }
  const [min, max] = command.arity;
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new RuntimeError(
      "usage",
      `${command.name} takes ${expected} argument${
        max === 1 ? "" : "s"
      }, got ${count}; usage: ${command.name} ${command.synopsis}`,
    );
  }
  return { flags: parsed.values as ParsedArgs["flags"], positionals: parsed.positionals };
}

/**
 * The help text of a command: usage, summary, flags, example.
 *
 * @example
 * ```ts
 * console.log(commandHelp(createCommand));
 * ```
 */
export function commandHelp(command: Command): string {
  const lines = [`Usage: remoteproc-runtime ${command.name} ${command.synopsis}`, "", command.summary, ""];
  const flags = Object.entries(command.flags);
  if (flags.length > 0) {
    lines.push("Flags:");
    for (const [name, spec] of flags) {
      const left = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.arg ? ` ${spec.arg}` : ""}`;
      lines.push(`  ${left.padEnd(28)} ${spec.help}${spec.ignored ? " (accepted and ignored)" : ""}`);
    }
    lines.push("");
  }
  lines.push("Example:", `  ${command.example}`);
  return lines.join("\n");
}
