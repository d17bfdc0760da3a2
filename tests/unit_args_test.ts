import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { ArgsError, type OptionSpec, parseArgs } from "../lib/cli/args.ts";
import { parseCommandArgs } from "../lib/cli/command.ts";
import { createCommand } from "../lib/cli/create.ts";
import { seededRandom } from "./helpers.ts";

const OPTION_SETS: Record<string, OptionSpec>[] = [
  {
    bundle: { type: "string", short: "b" },
    "pid-file": { type: "string" },
    "no-pivot": { type: "boolean" },
  },
  { force: { type: "boolean", short: "f" }, all: { type: "boolean", short: "a" } },
  { format: { type: "string", short: "F" }, quiet: { type: "boolean", short: "q" } },
  { processor: { type: "string", short: "p", multiple: true }, verbose: { type: "boolean", multiple: true } },
  { x: { type: "boolean" }, y: { type: "string" } },
  {},
];

const WORDS = [
  "--bundle",
  "-b",
  "--bundle=",
  "--bundle=./b",
  "--bundle=-x",
  "-b./dir",
  "--pid-file",
  "--pid-file=p",
  "--no-pivot",
  "--no-pivot=1",
  "--force",
  "--force=true",
  "-f",
  "-fa",
  "-af",
  "-fab",
  "-all",
  "--all",
  "--format",
  "-F",
  "-Fjson",
  "-qFjson",
  "-Fq",
  "-q",
  "--quiet",
  "--processor",
  "-p",
  "-pdsp0",
  "--processor=dsp1",
  "--verbose",
  "-x",
  "-y",
  "--y=1",
  "--nope",
  "--nope=1",
  "-z",
  "-zq",
  "--",
  "-",
  "---",
  "--=a",
  "--=a=b",
  "fw1",
  "fw2",
  "-5",
  "json",
  "",
  "日本",
  "--constructor",
  "--__proto__",
  "--toString",
];

type Outcome =
  | { ok: true; values: Record<string, unknown>; positionals: string[] }
  | { ok: false; unknown?: string; message?: string };

function _ours(args: string[], options: Record<string, OptionSpec>): Outcome {
  try {
    const parsed = parseArgs(args, options);
    return { ok: true, values: { ...parsed.values }, positionals: parsed.positionals };
  } catch (err) {
    assert.ok(err instanceof ArgsError, `expected an ArgsError, got ${err}`);
    return err.kind === "unknown-option"
      ? { ok: false, unknown: err.option }
      : { ok: false, message: err.message };
  }
}

function _node(args: string[], options: Record<string, OptionSpec>): Outcome {
  try {
    const parsed = nodeParseArgs({ args, options, strict: true, allowPositionals: true });
    return { ok: true, values: { ...parsed.values }, positionals: parsed.positionals };
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    return unknown ? { ok: false, unknown: unknown[1] } : { ok: false, message: message.split("\n")[0] };
  }
}

Deno.test("parseArgs agrees with node:util parseArgs (strict, positionals allowed) on generated command lines", () => {
  const next = seededRandom(5);
  let failures = 0;
  let successes = 0;
  for (let n = 0; n < 20_000; n++) {
    const options = OPTION_SETS[Math.floor(next() * OPTION_SETS.length)];
    const length = Math.floor(next() * 6);
    const args = Array.from({ length }, () => WORDS[Math.floor(next() * WORDS.length)]);
    const ours = _ours(args, options);
    assert.deepEqual(ours, _node(args, options), `${JSON.stringify(args)} with ${Object.keys(options)}`);
    if (ours.ok) successes++;
    else failures++;
  }
  // both outcomes are exercised, so the comparison covers errors and results
  assert.ok(successes > 1000 && failures > 1000, `${successes} parsed, ${failures} refused`);
});

Deno.test("parseArgs reads each spelling of an option", () => {
  const options: Record<string, OptionSpec> = {
    bundle: { type: "string", short: "b" },
    force: { type: "boolean", short: "f" },
    processor: { type: "string", multiple: true },
  };
  const parse = (args: string[]) => {
    const parsed = parseArgs(args, options);
    return { values: { ...parsed.values }, positionals: parsed.positionals };
  };
  assert.deepEqual(parse(["--bundle", "d", "id"]), { values: { bundle: "d" }, positionals: ["id"] });
  assert.deepEqual(parse(["--bundle=d", "id"]), { values: { bundle: "d" }, positionals: ["id"] });
  assert.deepEqual(parse(["-b", "d", "id"]), { values: { bundle: "d" }, positionals: ["id"] });
  assert.deepEqual(parse(["-bd", "id"]), { values: { bundle: "d" }, positionals: ["id"] });
  assert.deepEqual(parse(["-fbd", "id"]), { values: { force: true, bundle: "d" }, positionals: ["id"] });
  assert.deepEqual(parse(["id", "-f"]), { values: { force: true }, positionals: ["id"] });
  assert.deepEqual(parse(["--", "-f", "--bundle"]), { values: {}, positionals: ["-f", "--bundle"] });
  assert.deepEqual(parse(["--bundle=-x"]), { values: { bundle: "-x" }, positionals: [] });
  assert.deepEqual(parse(["--bundle", "-"]), { values: { bundle: "-" }, positionals: [] });
  assert.deepEqual(parse(["-b", "a", "-b", "z"]), { values: { bundle: "z" }, positionals: [] });
  assert.deepEqual(parse(["--processor", "a", "--processor=b"]), {
    values: { processor: ["a", "b"] },
    positionals: [],
  });
});

Deno.test("parseArgs refuses what does not fit, naming the option", () => {
  const options: Record<string, OptionSpec> = {
    bundle: { type: "string", short: "b" },
    force: { type: "boolean", short: "f" },
  };
  const refuses = (args: string[], kind: string, option: string, message: RegExp) => {
    assert.throws(() => parseArgs(args, options), (err: unknown) => {
      assert.ok(err instanceof ArgsError);
      assert.equal(err.kind, kind);
      assert.equal(err.option, option);
      assert.match(err.message, message);
      return true;
    });
  };
  refuses(["--nope"], "unknown-option", "--nope", /^Unknown option '--nope'$/);
  refuses(["--nope=1", "id"], "unknown-option", "--nope", /'--nope'/);
  refuses(["-z"], "unknown-option", "-z", /'-z'/);
  refuses(["-fz"], "unknown-option", "-z", /'-z'/);
  refuses(
    ["id", "--bundle"],
    "missing-value",
    "--bundle",
    /^Option '-b, --bundle <value>' argument missing$/,
  );
  refuses(["-b"], "missing-value", "-b", /argument missing/);
  refuses(["--force=yes"], "unexpected-value", "--force", /^Option '-f, --force' does not take an argument$/);
  refuses(
    ["--bundle", "--force"],
    "ambiguous-value",
    "--bundle",
    /^Option '--bundle' argument is ambiguous\.$/,
  );
});

Deno.test("a command turns a parse error into its usage message", () => {
  assert.throws(
    () => parseCommandArgs(createCommand, ["--nope", "x"]),
    /^RuntimeError: unknown flag --nope for create; accepted: --bundle, --pid-file, /,
  );
  assert.throws(
    () => parseCommandArgs(createCommand, ["x", "--bundle"]),
    /create: Option '-b, --bundle <value>' argument missing \(see create --help\)/,
  );
  assert.throws(
    () => parseCommandArgs(createCommand, ["--no-pivot=1", "x"]),
    /create: Option '--no-pivot' does not take an argument \(see create --help\)/,
  );
});
