/**
 * Guarantee 2: every bad input is refused with one line that names the problem, exit 1, and no trace.
 * One data-driven test runs every case in testdata/corpus/ (one JSON file per case, see CorpusCase).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertNothingLeft, type Fixture, listDir, makeFixture, TESTDATA } from "./helpers.ts";

/** One case of the corpus. Strings in `args` and `globals` may hold {bundle}, {id} and {dir}. */
interface CorpusCase {
  name: string;
  /** config.json as an object (written as JSON). */
  config?: unknown;
  /** config.json as raw text. */
  configText?: string;
  /** config.json as base64 bytes (for non-UTF-8 content). */
  configBase64?: string;
  /** Command arguments after the fixture's globals; default `create --bundle {bundle} {id}`. */
  args?: string[];
  /** Extra global flags. */
  globals?: string[];
  /** Container id for the default arguments (default "fw1"). */
  id?: string;
  /** JSONC text of a runtime configuration file passed with --config. */
  configFile?: string;
  /** A bundle or state that config.json alone cannot express. */
  setup?:
    | "oversized-config"
    | "rootfs-absent"
    | "rootfs-is-file"
    | "bundle-is-file"
    | "bundle-missing"
    | "config-missing"
    | "config-is-directory"
    | "running-victim";
  /** Regular expression the one stderr line must match. */
  expect: string;
}

const CORPUS = join(TESTDATA, "corpus");

function loadCorpus(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const entry of Deno.readDirSync(CORPUS)) {
    if (entry.name.endsWith(".json")) {
      cases.push(JSON.parse(Deno.readTextFileSync(join(CORPUS, entry.name))));
    }
  }
  return cases.sort((a, b) => a.name.localeCompare(b.name));
}

/** Builds the bundle of a case; returns the path that {bundle} stands for. */
async function prepareBundle(f: Fixture, c: CorpusCase): Promise<string> {
  const bundle = await f.bundle({ name: "bundle" });
  const config = join(bundle, "config.json");
  if (c.config !== undefined) await Deno.writeTextFile(config, JSON.stringify(c.config, null, 2));
  if (c.configText !== undefined) await Deno.writeTextFile(config, c.configText);
  if (c.configBase64 !== undefined) {
    await Deno.writeFile(
      config,
      Uint8Array.from(atob(c.configBase64), (ch) => ch.charCodeAt(0)),
    );
  }
  switch (c.setup) {
    case "oversized-config": {
      const doc = JSON.parse(await Deno.readTextFile(config));
      doc.annotations["org.example.padding"] = "p".repeat(4 * 1024 * 1024 + 1);
      await Deno.writeTextFile(config, JSON.stringify(doc));
      break;
    }
    case "rootfs-absent":
      await Deno.remove(join(bundle, "rootfs"), { recursive: true });
      break;
    case "rootfs-is-file":
      await Deno.remove(join(bundle, "rootfs"), { recursive: true });
      await Deno.writeTextFile(join(bundle, "rootfs"), "not a directory");
      break;
    case "bundle-is-file": {
      const file = join(f.dir, "bundle-file");
      await Deno.writeTextFile(file, "{}");
      return file;
    }
    case "bundle-missing":
      return join(f.dir, "no-such-bundle");
    case "config-missing":
      await Deno.remove(config);
      break;
    case "config-is-directory":
      await Deno.remove(config);
      await Deno.mkdir(config);
      break;
  }
  return bundle;
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{(bundle|id|dir)\}/g, (_, key: string) => values[key]);
}

async function runCase(c: CorpusCase): Promise<void> {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await prepareBundle(f, c);
  let victimWrites: string[] = [];
  if (c.setup === "running-victim") {
    const good = await f.bundle({ name: "victim-bundle" });
    assert.equal((await f.cli(["create", "--bundle", good, "victim"])).code, 0);
    assert.equal((await f.cli(["start", "victim"])).code, 0);
    assert.equal(await f.sim.state("dsp0"), "running");
    victimWrites = f.sim.writes("dsp0");
  }
  const globals = (c.globals ?? []).map((g) => fill(g, { bundle, id: c.id ?? "fw1", dir: f.dir }));
  if (c.configFile !== undefined) {
    const path = join(f.dir, "runtime.jsonc");
    await Deno.writeTextFile(path, c.configFile);
    globals.push("--config", path);
  }
  const args = (c.args ?? ["create", "--bundle", "{bundle}", "{id}"]).map((a) =>
    a === "{id}" ? (c.id ?? "fw1") : fill(a, { bundle, id: c.id ?? "fw1", dir: f.dir })
  );
  const r = await f.cli(args, { globals });

  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "", "nothing on stdout");
  assert.ok(r.stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  const lines = r.stderr.slice(0, -1).split("\n");
  assert.equal(lines.length, 1, `exactly one stderr line: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], new RegExp(c.expect));
  assert.doesNotMatch(lines[0], /internal error|at file:|\bError: /, "a named problem, not a crash");

  if (c.setup === "running-victim") {
    // A refused kill has no effect: the container and its processor still run.
    const s = await f.cli(["state", "victim"]);
    assert.equal(JSON.parse(s.stdout).status, "running");
    assert.equal(await f.sim.state("dsp0"), "running");
    assert.deepEqual(f.sim.writes("dsp0"), victimWrites, "the processor was not touched");
    assert.equal((await f.cli(["delete", "--force", "victim"])).code, 0);
    assert.equal(await f.sim.state("dsp0"), "offline");
  } else {
    assert.deepEqual(f.sim.writes("dsp0"), [], "the processor was not touched");
    assert.equal(await f.sim.state("dsp0"), "offline");
  }
  await assertNothingLeft(f);
  // Nothing reached outside the fixture's state root through an id or a path.
  assert.deepEqual(
    (await listDir(f.dir)).filter((n) =>
      !/^(host|state|bundle|victim-bundle|bundle-file|runtime\.jsonc|run-.*)$/.test(n)
    ),
    [],
  );
}

Deno.test("corpus: every bad input is refused with one line, exit 1 and nothing left behind", async (t) => {
  const cases = loadCorpus();
  assert.ok(cases.length >= 40, `the corpus holds ${cases.length} cases; at least 40 expected`);
  for (const c of cases) {
    await t.step(c.name, () => runCase(c));
  }
});
