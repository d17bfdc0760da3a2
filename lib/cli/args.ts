/**
 * A strict command-line parser with the behaviour of `node:util`'s `parseArgs({ strict: true,
 * allowPositionals: true })` for string and boolean options: importing any `node:` module makes Deno set up
 * its Node compatibility layer, which costs every command 25-30 ms of CPU. tests/unit_args_test.ts compares it
 * with `node:util` on generated command lines.
 * @module
 */

/** One option: its type, an optional one-letter alias, and whether it may repeat (values collect in order). */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

/** The parsed command line: option values by long name, and the positional arguments in order. */
export interface ParsedCommandLine {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** What is wrong with a command line. */
export type ArgsErrorKind = "unknown-option" | "missing-value" | "unexpected-value" | "ambiguous-value";

/**
 * A command line that does not fit the options: `kind` says why and `option` is the option as written
 * (`--nope`, `-x`); the message is the first line of node's message for the same mistake.
 */
export class ArgsError extends Error {
  constructor(readonly kind: ArgsErrorKind, readonly option: string, message: string) {
    super(message);
    this.name = "ArgsError";
  }
}

interface _Token {
  name: string;
  rawName: string;
  value: string | undefined;
  inline: boolean;
}

/**
 * Parses `args` strictly against `options`: `--name value`, `--name=value`, `-n value`, `-nvalue`, grouped
 * booleans (`-abc`), `--` ending the options, and positionals anywhere. A string option takes the next
 * argument whatever it is, but one that starts with `-` only in the `--name=-x` spelling.
 *
 * @example
 * ```ts
 * parseArgs(["-b", "./bundle", "fw1"], { bundle: { type: "string", short: "b" } });
 * // { values: { bundle: "./bundle" }, positionals: ["fw1"] }
 * ```
 * @throws {ArgsError} "unknown-option" for an option not in `options`, "missing-value" for a string option
 * at the end, "unexpected-value" for `--boolean=value`, "ambiguous-value" for a string option followed by
 * something that looks like an option (`--bundle --force`).
 */
export function parseArgs(args: readonly string[], options: Record<string, OptionSpec>): ParsedCommandLine {
  const values: ParsedCommandLine["values"] = Object.create(null);
  const positionals: string[] = [];
  const tokens: (_Token | string)[] = [];
  const typeOf = (name: string) => Object.hasOwn(options, name) ? options[name].type : undefined;
  const longFor = (short: string) =>
    Object.keys(options).find((name) => options[name].short === short) ?? short;

  const remaining = [...args];
  while (remaining.length > 0) {
    const arg = remaining.shift()!;
    if (arg === "--") {
      tokens.push(...remaining);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      tokens.push(arg);
      continue;
    }
    if (arg[1] !== "-") {
      const name = longFor(arg[1]);
      if (arg.length === 2) {
        // -f, or -f VALUE for a string option
        const takes = typeOf(name) === "string" && remaining.length > 0;
        tokens.push({ name, rawName: arg, value: takes ? remaining.shift() : undefined, inline: false });
      } else if (typeOf(name) === "string") {
        // -fVALUE
        tokens.push({ name, rawName: `-${arg[1]}`, value: arg.slice(2), inline: true });
      } else {
        // -abc is -a -b -c; a string option inside the group takes the rest: -abfFILE is -a -b -fFILE
        const expanded: string[] = [];
        for (let i = 1; i < arg.length; i++) {
          if (typeOf(longFor(arg[i])) !== "string" || i === arg.length - 1) expanded.push(`-${arg[i]}`);
          else {
            expanded.push(`-${arg.slice(i)}`);
            break;
          }
        }
        remaining.unshift(...expanded);
      }
      continue;
    }
    // from here on, arg is --name or --name=value
    if (arg.includes("=", 3)) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq);
      tokens.push({ name, rawName: `--${name}`, value: arg.slice(eq + 1), inline: true });
      continue;
    }
    const name = arg.slice(2);
    const takes = typeOf(name) === "string" && remaining.length > 0;
    tokens.push({ name, rawName: arg, value: takes ? remaining.shift() : undefined, inline: false });
  }

  for (const token of tokens) {
    if (typeof token === "string") {
      positionals.push(token);
      continue;
    }
    const { name, rawName, value } = token;
    const type = typeOf(name);
    if (type === undefined) throw new ArgsError("unknown-option", rawName, `Unknown option '${rawName}'`);
    const short = options[name].short;
    const both = `${short ? `-${short}, ` : ""}--${name}`;
    if (type === "string" && value === undefined) {
      throw new ArgsError("missing-value", rawName, `Option '${both} <value>' argument missing`);
    }
    if (type === "boolean" && value !== undefined) {
      throw new ArgsError("unexpected-value", rawName, `Option '${both}' does not take an argument`);
    }
    if (!token.inline && value !== undefined && value.length > 1 && value[0] === "-") {
      throw new ArgsError("ambiguous-value", rawName, `Option '${rawName}' argument is ambiguous.`);
    }
    const stored = value ?? true;
    if (options[name].multiple) {
      const list = values[name];
      if (Array.isArray(list)) list.push(stored);
      else values[name] = [stored];
    } else {
      values[name] = stored;
    }
  }
  return { values, positionals };
}
