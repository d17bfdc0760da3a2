import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_TIMINGS,
  defaultStateRoot,
  parseConfigText,
  resolveSettings,
  type SettingEnv,
} from "../lib/config/settings.ts";
import { RuntimeError } from "../lib/errors.ts";
import { buildContext } from "../lib/cli/main.ts";

const ROOT_ENV: SettingEnv = { uid: 0, xdgRuntimeDir: undefined, cwd: "/work" };
const USER_ENV: SettingEnv = { uid: 1000, xdgRuntimeDir: "/run/user/1000", cwd: "/home/u" };

interface TempDir extends AsyncDisposable {
  dir: string;
  /** Writes `name` in the dir and returns its path. */
  write(name: string, text: string): Promise<string>;
}

async function tempDir(): Promise<TempDir> {
  const dir = await Deno.makeTempDir({ prefix: "unit-settings-" });
  return {
    dir,
    async write(name, text) {
      const path = join(dir, name);
      await Deno.writeTextFile(path, text);
      return path;
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<RuntimeError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RuntimeError, `expected a RuntimeError, got ${err}`);
    assert.ok(!err.message.includes("\n"), err.message);
    return err;
  }
  assert.fail("expected the promise to reject");
}

Deno.test("defaultStateRoot: root uses /run/remoteproc-runtime, even with XDG_RUNTIME_DIR set", () => {
  assert.equal(defaultStateRoot({ ...ROOT_ENV, xdgRuntimeDir: undefined }), "/run/remoteproc-runtime");
  assert.equal(defaultStateRoot({ ...ROOT_ENV, xdgRuntimeDir: "/run/user/0" }), "/run/remoteproc-runtime");
});

Deno.test("defaultStateRoot: other users use $XDG_RUNTIME_DIR when it is set", () => {
  assert.equal(defaultStateRoot(USER_ENV), "/run/user/1000/remoteproc-runtime");
  assert.equal(
    defaultStateRoot({ ...USER_ENV, xdgRuntimeDir: "/run/user/1000//" }),
    "/run/user/1000/remoteproc-runtime",
    "trailing slashes are not doubled",
  );
});

Deno.test("defaultStateRoot: an unset or empty XDG_RUNTIME_DIR falls back to /tmp, per uid", () => {
  assert.equal(defaultStateRoot({ ...USER_ENV, xdgRuntimeDir: "" }), "/tmp/remoteproc-runtime-1000");
  assert.equal(defaultStateRoot({ ...USER_ENV, xdgRuntimeDir: undefined }), "/tmp/remoteproc-runtime-1000");
  assert.notEqual(
    defaultStateRoot({ ...USER_ENV, uid: 1001, xdgRuntimeDir: "" }),
    defaultStateRoot({ ...USER_ENV, xdgRuntimeDir: "" }),
    "two users do not share a state root",
  );
});

Deno.test("defaultStateRoot: no uid (not Linux) still gives a usable, non-root path", () => {
  const root = defaultStateRoot({ uid: null, xdgRuntimeDir: "", cwd: "/" });
  assert.equal(root, "/tmp/remoteproc-runtime-user");
  assert.equal(
    defaultStateRoot({ uid: null, xdgRuntimeDir: "/run/user/x", cwd: "/" }),
    "/run/user/x/remoteproc-runtime",
  );
});

Deno.test("resolveSettings with no flags and no config file gives the defaults", async () => {
  // The default config path does not exist on a test machine, and its absence is not an error.
  await assert.rejects(Deno.stat(DEFAULT_CONFIG_PATH), Deno.errors.NotFound);
  const settings = await resolveSettings({}, USER_ENV);
  assert.deepEqual(settings, {
    root: "/run/user/1000/remoteproc-runtime",
    hostRoot: "/",
    timings: DEFAULT_TIMINGS,
  });
  assert.equal((await resolveSettings({}, ROOT_ENV)).root, "/run/remoteproc-runtime");
});

Deno.test("resolveSettings: the returned timings are a copy; changing them changes no default", async () => {
  const before = { ...DEFAULT_TIMINGS };
  const settings = await resolveSettings({}, ROOT_ENV);
  settings.timings.pollIntervalMs = 1;
  assert.deepEqual(DEFAULT_TIMINGS, before);
  assert.equal((await resolveSettings({}, ROOT_ENV)).timings.pollIntervalMs, before.pollIntervalMs);
});

Deno.test("resolveSettings: --root and --host-root flags win over the config file", async () => {
  await using t = await tempDir();
  const config = await t.write("c.jsonc", '{ "root": "/from/file", "hostRoot": "/file-host" }');
  const settings = await resolveSettings({ root: "/from/flag", hostRoot: "/flag-host", config }, USER_ENV);
  assert.equal(settings.root, "/from/flag");
  assert.equal(settings.hostRoot, "/flag-host");
});

Deno.test("resolveSettings: the config file wins over the defaults", async () => {
  await using t = await tempDir();
  const config = await t.write(
    "c.jsonc",
    '{ "root": "/from/file", "hostRoot": "/file-host", "pollIntervalMs": 20, "stopTimeoutMs": 500 }',
  );
  const settings = await resolveSettings({ config }, USER_ENV);
  assert.equal(settings.root, "/from/file");
  assert.equal(settings.hostRoot, "/file-host");
  assert.deepEqual(settings.timings, { ...DEFAULT_TIMINGS, pollIntervalMs: 20, stopTimeoutMs: 500 });
});

Deno.test("resolveSettings: a flag for one key leaves the file's other keys in force", async () => {
  await using t = await tempDir();
  const config = await t.write("c.jsonc", '{ "root": "/from/file", "hostRoot": "/file-host" }');
  const settings = await resolveSettings({ root: "/flag", config }, USER_ENV);
  assert.equal(settings.root, "/flag");
  assert.equal(settings.hostRoot, "/file-host");
});

Deno.test("resolveSettings resolves relative --root and --host-root against the cwd", async () => {
  const settings = await resolveSettings({ root: "state", hostRoot: "../fake-host" }, USER_ENV);
  assert.equal(settings.root, "/home/u/state");
  assert.equal(settings.hostRoot, "/home/fake-host");
  assert.equal((await resolveSettings({ root: "./a/../b" }, USER_ENV)).root, "/home/u/b");
});

Deno.test("resolveSettings resolves a relative root from the config file against the cwd", async () => {
  await using t = await tempDir();
  const config = await t.write("c.jsonc", '{ "root": "rel-state" }');
  assert.equal((await resolveSettings({ config }, USER_ENV)).root, "/home/u/rel-state");
});

Deno.test("resolveSettings refuses / as the state directory, however it is spelled", async () => {
  for (const root of ["/", "//", "/.", "/tmp/..", "."]) {
    const env = { ...USER_ENV, cwd: "/" };
    const err = await rejection(resolveSettings({ root }, env));
    assert.equal(err.code, "usage");
    assert.match(err.message, /cannot be \//);
    assert.match(err.message, /--root/);
  }
  await using t = await tempDir();
  const config = await t.write("c.jsonc", '{ "root": "/" }');
  assert.equal((await rejection(resolveSettings({ config }, USER_ENV))).code, "usage");
});

Deno.test("resolveSettings: an explicit --config that does not exist is an error naming the file", async () => {
  await using t = await tempDir();
  const missing = join(t.dir, "missing.jsonc");
  const err = await rejection(resolveSettings({ config: missing }, USER_ENV));
  assert.equal(err.code, "not-found");
  assert.ok(err.message.includes(missing), err.message);
  assert.match(err.message, /--config/);
});

Deno.test("resolveSettings: a malformed --config file is an error naming it, with line and column", async () => {
  await using t = await tempDir();
  const config = await t.write("bad.jsonc", '{\n  "root": "/a"\n  "hostRoot": "/b"\n}');
  const err = await rejection(resolveSettings({ config }, USER_ENV));
  assert.equal(err.code, "invalid-config");
  assert.ok(err.message.includes(config), err.message);
  assert.match(err.message, /line 3, column 3/);
});

Deno.test("parseConfigText accepts comments and trailing commas", async () => {
  const text = `// remoteproc-runtime configuration
{
  /* where state lives */
  "root": "/var/run/rp", // trailing comment
  "pollIntervalMs": 25,
}
`;
  assert.deepEqual(await parseConfigText(text, "c.jsonc"), { root: "/var/run/rp", pollIntervalMs: 25 });
  assert.deepEqual(await parseConfigText("{}", "c.jsonc"), {});
  assert.deepEqual(await parseConfigText("// nothing\n{ /* empty */ }", "c.jsonc"), {});
});

Deno.test("parseConfigText: malformed text names the file, line and column", async () => {
  const cases: [string, RegExp][] = [
    ['{\n  "root": ,\n}', /line 2, column 11/],
    ['{\n  "root": "/a"\n  "hostRoot": "/b"\n}', /line 3, column 3/],
    ['{ "root": "/a" } {}', /line 1, column 18/],
    ["", /line 1, column 1/],
    ['{\n\n  "root": "/a', /line 3/],
  ];
  for (const [text, where] of cases) {
    const err = await rejection(parseConfigText(text, "/etc/x/config.jsonc"));
    assert.equal(err.code, "invalid-config");
    assert.match(err.message, /^configuration file \/etc\/x\/config\.jsonc: /);
    assert.match(err.message, where, JSON.stringify(text));
  }
});

Deno.test("parseConfigText: the top level must be an object", async () => {
  for (const text of ["null", "[]", '"root"', "42", "true"]) {
    const err = await rejection(parseConfigText(text, "c.jsonc"));
    assert.match(err.message, /top level must be an object/, text);
  }
});

Deno.test("parseConfigText refuses unknown keys, naming the key and the accepted ones", async () => {
  for (const key of ["state", "Root", "poll_interval_ms", "log", "__proto__", "constructor"]) {
    const err = await rejection(parseConfigText(JSON.stringify({ [key]: 1 }), "c.jsonc"));
    assert.equal(err.code, "invalid-config");
    assert.ok(err.message.includes(`unknown key "${key}"`), err.message);
    assert.match(err.message, /accepted keys: .*root.*hostRoot.*pollIntervalMs/);
  }
});

Deno.test("parseConfigText: a __proto__ key cannot smuggle values past validation", async () => {
  await using t = await tempDir();
  const config = await t.write("c.jsonc", '{ "__proto__": { "pollIntervalMs": -5, "root": "/x" } }');
  const err = await rejection(resolveSettings({ config }, USER_ENV));
  assert.equal(err.code, "invalid-config");
});

Deno.test("parseConfigText: root and hostRoot must be non-empty strings", async () => {
  for (const key of ["root", "hostRoot"]) {
    for (const value of ["", 1, null, true, ["/a"], { path: "/a" }]) {
      const err = await rejection(parseConfigText(JSON.stringify({ [key]: value }), "c.jsonc"));
      assert.ok(err.message.includes(`"${key}" must be a non-empty path`), err.message);
    }
  }
});

Deno.test("parseConfigText: timings must be whole milliseconds from 1 to 3600000", async () => {
  for (const key of Object.keys(DEFAULT_TIMINGS)) {
    for (const bad of ["0", "-1", "-100", "1.5", "3600001", "1e10", '"50"', "null", "true", "[50]"]) {
      const err = await rejection(parseConfigText(`{ "${key}": ${bad} }`, "c.jsonc"));
      assert.ok(
        err.message.includes(`"${key}" must be a whole number of milliseconds from 1 to 3600000`),
        `${key}=${bad}: ${err.message}`,
      );
    }
    for (const good of [1, 50, 3_600_000]) {
      assert.deepEqual(await parseConfigText(`{ "${key}": ${good} }`, "c.jsonc"), { [key]: good });
    }
  }
});

Deno.test("buildContext: a rootOnly command given --root and no --config reads no configuration file", async () => {
  const globals = { logFormat: "text" as const, help: false, version: false };
  const ctx = await buildContext({ ...globals, root: "state" }, undefined, true);
  assert.equal(ctx.root, join(Deno.cwd(), "state"));
  // No settings were resolved: what only the configuration file or its defaults give is not there.
  assert.throws(() => ctx.hostRoot, (err) => err instanceof RuntimeError && err.code === "internal");
  assert.throws(() => ctx.timings, (err) => err instanceof RuntimeError && err.code === "internal");
  for (const root of ["/", "/tmp/.."]) {
    await assert.rejects(
      buildContext({ ...globals, root }, undefined, true),
      (err) => err instanceof RuntimeError && err.code === "usage" && /cannot be \//.test(err.message),
    );
  }
  // An explicit --config is read all the same (its errors show), and so is the file for any other command.
  await using t = await tempDir();
  const bad = await t.write("bad.jsonc", "{\n  oops\n}");
  for (const rootOnly of [true, false]) {
    const err = await rejection(buildContext({ ...globals, root: "/r", config: bad }, undefined, rootOnly));
    assert.equal(err.code, "invalid-config");
  }
  const good = await t.write("good.jsonc", `{ "hostRoot": "/sim", "startTimeoutMs": 77 }`);
  const full = await buildContext({ ...globals, root: "/r", config: good }, undefined, true);
  assert.deepEqual([full.root, full.hostRoot, full.timings.startTimeoutMs], ["/r", "/sim", 77]);
  const other = await buildContext({ ...globals, root: "/r", hostRoot: "/h" }, undefined, false);
  assert.deepEqual([other.hostRoot, other.timings], ["/h", DEFAULT_TIMINGS]);
});
