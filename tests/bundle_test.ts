import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { BUNDLED_COMMANDS, bundleFile, ENTRY_MODULES } from "../main.ts";
import { buildBundledForm, BUNDLE_MAIN, bundleEntries, eagerFunctions } from "../lib/dev/bundle.ts";
import { COMMAND_MODULES } from "../lib/cli/main.ts";
import { assertNothingLeft, listDir, MAIN, makeFixture, proxyCreateArgs, tempDir } from "./helpers.ts";

const PROJECT = dirname(MAIN);

Deno.test("bundleFile: early.js, proxy.js, cli-COMMAND.js for the engines' commands, cli.js for the rest", () => {
  assert.equal(bundleFile("lib/cli/early.ts"), "early.js");
  assert.equal(bundleFile("lib/cli/proxy.ts"), "proxy.js");
  for (const command of BUNDLED_COMMANDS) {
    assert.equal(bundleFile("lib/cli/main.ts", command), `cli-${command}.js`);
  }
  for (const command of ["list", "help", "ps", "exec", undefined]) {
    assert.equal(bundleFile("lib/cli/main.ts", command), "cli.js", String(command));
  }
});

Deno.test("bundleEntries: a file for every file main.ts can load, and the JSONC parser; CLI files hand over their commands", () => {
  const entries = bundleEntries("/src/x");
  const wanted = new Set([
    ...ENTRY_MODULES.map((module) => bundleFile(module)),
    ...BUNDLED_COMMANDS.map((command) => bundleFile("lib/cli/main.ts", command)),
    "jsonc.js",
  ]);
  assert.deepEqual(new Set(Object.keys(entries).map((name) => `${name}.js`)), wanted);
  assert.match(entries["cli-delete"], /export const modules = \{ delete: m_delete \};/);
  for (const name of COMMAND_MODULES) assert.match(entries.cli, new RegExp(`${name}: m_${name}\\b`), name);
  assert.match(entries.jsonc, /file:\/\/\/src\/x\/lib\/config\/jsonc\.ts/);
  // settings.ts loads the parser from this file in the bundled form.
  const settings = Deno.readTextFileSync(join(PROJECT, "lib/config/settings.ts"));
  assert.match(settings, /endsWith\("\.js"\) \? "\.\/jsonc\.js"/);
});

Deno.test("the bundled form: a whole lifecycle, its own proxy, JSONC configuration, help, and one-line errors", async () => {
  const out = await Deno.makeTempDir({ prefix: "rproc-test-js-" });
  try {
    // As the release's compile builds it (lib/dev/compile.ts): the lock file must be up to date.
    const files = await buildBundledForm({ project: PROJECT, outDir: out, frozenLockfile: true });
    assert.deepEqual([...files].sort(), (await listDir(out)).sort());
    // Every function the runtime's own files declare is compiled with its file; the JSONC package is not.
    for (const file of files) {
      const text = await Deno.readTextFile(join(out, file));
      const declared = text.split("\n").filter((line) => /^(async )?function/.test(line)).length;
      if (file === "jsonc.js") assert.ok(declared > 0, file);
      else assert.equal(declared, 0, file);
    }
    const main = join(out, BUNDLE_MAIN);
    await using f = await makeFixture({ processors: [{ name: "dsp0" }] }, {
      deno: ["run", "-A", "--no-config", main],
    });
    const ok = async (args: string[]) => {
      const r = await f.cli(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      return r.stdout;
    };
    const status = async (id: string) => JSON.parse(await ok(["state", id])).status;
    const fails = async (args: string[], pattern: RegExp) => {
      const r = await f.cli(args);
      assert.equal(r.code, 1, `${args.join(" ")} should fail`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    };

    const bundleDir = await f.bundle();
    await ok(["create", "--bundle", bundleDir, "fw1"]);
    assert.equal(await status("fw1"), "created");
    // The proxy is this same file re-executed.
    const [pid] = await f.proxyPids();
    const cmdline = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0");
    assert.ok(cmdline.includes("--no-config") && cmdline.includes(main), cmdline.join(" "));
    assert.deepEqual(await proxyCreateArgs(pid), [
      "--root",
      f.root,
      "--host-root",
      f.host,
      "create",
      "--bundle",
      bundleDir,
      "fw1",
    ]);
    await ok(["start", "fw1"]);
    assert.equal(await status("fw1"), "running");
    assert.equal(await f.sim.state("dsp0"), "running");
    await ok(["kill", "fw1"]);
    assert.equal(await f.sim.state("dsp0"), "offline");
    assert.equal(await status("fw1"), "stopped");
    await ok(["delete", "fw1"]);
    await assertNothingLeft(f, "after delete");

    // Commands without a file of their own run from cli.js; the JSONC parser loads from jsonc.js.
    assert.match(await ok(["--version"]), /^remoteproc-runtime version /);
    assert.match(await ok(["help", "kill"]), /Usage: remoteproc-runtime kill/);
    const config = join(f.dir, "config.jsonc");
    await Deno.writeTextFile(config, '{\n  // faster\n  "pollIntervalMs": 50,\n}\n');
    assert.match(await ok(["--config", config, "list"]), /^ID/);
    await Deno.writeTextFile(config, '{\n  "pollIntervalMs": 50\n');
    await fails(["--config", config, "list"], /configuration file .*: line 3, column 1: CloseBraceExpected/);
    await fails(["state", "nope"], /container nope does not exist/);
    // A create that fails on its flags ends the proxy started before its modules loaded.
    await fails(["create", "--bundle", bundleDir, "--nope", "fw2"], /--nope/);
    await assertNothingLeft(f, "after a failed create");
    // Without a code cache to read or write (a read-only DENO_DIR), the files run the same, silently.
    const uncached = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", main, "--root", f.root, "list"],
      env: { DENO_DIR: join(main, "not-a-directory") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(uncached.stderr), "");
    assert.equal(uncached.code, 0);
    assert.match(new TextDecoder().decode(uncached.stdout), /^ID/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** A module whose code runs before its functions are declared, as a bundle's may. */
const DECLARED_LATER =
  `export const results = [plain(2), await later(), [...gen()].join(""), meta(), braces()];
function plain(x) {
  return x * 21;
}
async function later() {
  return "async";
}
function* gen() {
  yield "a";
  yield "b";
}
function meta() {
  return import.meta.url.startsWith("file:");
}
function braces() {
  return \`{
}
\`.length;
}
`;

Deno.test("eagerFunctions: declarations become parenthesized expressions defined before any other code runs", async () => {
  const { text, count } = eagerFunctions(DECLARED_LATER);
  // braces() holds a line "}" inside a template literal: cut there, it does not parse, so it stays declared.
  assert.equal(count, 4);
  assert.ok(
    text.startsWith(
      "var plain = (function plain(x) {\n  return x * 21;\n});\nvar later = (async function later",
    ),
    text,
  );
  assert.match(text, /\nfunction braces\(\) \{\n/);
  await using dir = await tempDir("rproc-test-eager-");
  for (const [name, source] of [["declared.js", DECLARED_LATER], ["eager.js", text]]) {
    const path = join(dir.path, name);
    await Deno.writeTextFile(path, source);
    const { results } = await import(new URL(`file://${path}`).href);
    assert.deepEqual(results, [42, "async", "ab", true, 4], name);
  }
});

Deno.test("eagerFunctions: V8 compiles the rewritten functions with their file, not at their first call", async () => {
  await using dir = await tempDir("rproc-test-eager-v8-");
  const source = "function probeFunction() {\n  return 1;\n}\nprobeFunction();\n";
  const compiledAtCall = async (name: string, text: string) => {
    const [script, log] = [join(dir.path, name), join(dir.path, `${name}.log`)];
    await Deno.writeTextFile(script, text);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-code-cache",
        `--v8-flags=--log-function-events,--logfile=${log},--no-logfile-per-isolate`,
        script,
      ],
    }).output();
    assert.equal(code, 0);
    // V8 logs "parse-function" when it compiles a function that was left for its first call.
    return (await Deno.readTextFile(log)).split("\n")
      .some((line) => line.startsWith("function,parse-function,") && line.endsWith(",probeFunction"));
  };
  assert.equal(await compiledAtCall("declared.js", source), true);
  assert.equal(await compiledAtCall("eager.js", eagerFunctions(source).text), false);
});
