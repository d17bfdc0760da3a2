import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { BUNDLED_COMMANDS, bundleFile, ENTRY_MODULES } from "../main.ts";
import { buildBundledForm, BUNDLE_MAIN, bundleEntries } from "../lib/dev/bundle.ts";
import { COMMAND_MODULES } from "../lib/cli/main.ts";
import { assertNothingLeft, listDir, MAIN, makeFixture, proxyCreateArgs } from "./helpers.ts";

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
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
