/**
 * Process-level tests of the runc-compatible CLI surface: list, ps, features, spec, processors, run, the
 * refused commands, global flags, CRI pod sandboxes and the defaults engines rely on. Each test runs the real
 * CLI as a subprocess against its own simulated board.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runToFiles } from "../lib/dev/run_to_files.ts";
import {
  type CliResult,
  firmwareFiles,
  type Fixture,
  listDir,
  MAIN,
  makeFixture,
  pidRunning,
} from "./helpers.ts";

/** Asserts a successful run with nothing on stderr, and returns its stdout. */
function ok(r: CliResult): string {
  assert.equal(r.stderr, "", `stderr: ${r.stderr}`);
  assert.equal(r.code, 0, `exit code; stdout: ${r.stdout}`);
  return r.stdout;
}

/** Asserts a failed run: exit 1, nothing on stdout, exactly one line on stderr matching `pattern`. */
function fails(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^[^\n]+\n$/, "exactly one line on stderr");
  assert.match(r.stderr.trimEnd(), pattern);
}

async function state(f: Fixture, id: string): Promise<{ status: string; pid: number }> {
  return JSON.parse(ok(await f.cli(["state", id])));
}

async function createStarted(f: Fixture, id: string, bundle?: string): Promise<void> {
  ok(await f.cli(["create", "--bundle", bundle ?? await f.bundle(), id]));
  ok(await f.cli(["start", id]));
}

/** Splits a table into its rows of cells. */
function cells(table: string): string[][] {
  return table.trimEnd().split("\n").map((line) => line.trim().split(/\s{2,}/));
}

Deno.test("list: an empty state root gives a header, [] and nothing", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  assert.deepEqual(cells(ok(await f.cli(["list"]))), [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]);
  assert.deepEqual(JSON.parse(ok(await f.cli(["list", "--format", "json"]))), []);
  assert.equal(ok(await f.cli(["list", "-q"])), "");
});

Deno.test("list: table, json and quiet show created, running and unreadable containers", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "dsp1" }] });
  const b1 = await f.bundle({ processor: "dsp0" });
  ok(await f.cli(["create", "--bundle", b1, "c1"]));
  await createStarted(f, "c2", await f.bundle({ processor: "dsp1" }));
  await Deno.mkdir(join(f.root, "c3"));
  await Deno.writeTextFile(join(f.root, "c3", "state.json"), "{ not json");
  await Deno.mkdir(join(f.root, "c4"));
  const c1 = await state(f, "c1");
  const c2 = await state(f, "c2");

  const json = JSON.parse(ok(await f.cli(["list", "--format=json"])));
  assert.deepEqual(json.map((s: { id: string; status: string }) => [s.id, s.status]), [
    ["c1", "created"],
    ["c2", "running"],
    ["c3", "stopped"],
    ["c4", "stopped"],
  ]);
  assert.equal(json[0].pid, c1.pid);
  assert.equal(json[0].bundle, b1);
  assert.equal(json[0].owner, "root");
  assert.equal(json[0].annotations["remoteproc.name"], "dsp0");
  assert.equal(json[2].pid, 0);

  const rows = cells(ok(await f.cli(["list"])));
  assert.deepEqual(rows[0], ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
  assert.deepEqual(rows[1], ["c1", String(c1.pid), "created", b1, json[0].created, "root"]);
  assert.deepEqual(rows[2].slice(0, 3), ["c2", String(c2.pid), "running"]);
  assert.deepEqual(rows.slice(3).map((r) => [r[0], r[1], r[2]]), [["c3", "0", "stopped"], [
    "c4",
    "0",
    "stopped",
  ]]);

  assert.equal(ok(await f.cli(["list", "--quiet"])), "c1\nc2\nc3\nc4\n");
  fails(
    await f.cli(["list", "--format", "yaml"]),
    /invalid format "yaml"; use --format table or --format json/,
  );
});

Deno.test("ps: the proxy pid while it lives, nothing once stopped", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await createStarted(f, "c1");
  const { pid } = await state(f, "c1");
  assert.ok(pid > 0 && await pidRunning(pid));
  assert.deepEqual(JSON.parse(ok(await f.cli(["ps", "--format", "json", "c1"]))), [pid]);
  assert.equal(ok(await f.cli(["ps", "c1"])), `PID\n${pid}\n`);
  ok(await f.cli(["kill", "c1", "15"]));
  assert.deepEqual(JSON.parse(ok(await f.cli(["ps", "-f", "json", "c1"]))), []);
  assert.equal(ok(await f.cli(["ps", "c1"])), "PID\n");
  fails(await f.cli(["ps", "--format", "json", "nope"]), /^container nope does not exist/);
  fails(await f.cli(["ps"]), /^ps takes 1 argument, got 0/);
});

Deno.test("features: an OCI features document that needs no settings", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  // A missing --config file would fail any command that reads settings.
  const r = await f.cli(["features"], { globals: ["--config", join(f.dir, "missing.jsonc")] });
  const doc = JSON.parse(ok(r));
  assert.equal(doc.ociVersionMin, "1.0.0");
  assert.equal(doc.ociVersionMax, "1.2.0");
  assert.deepEqual(doc.hooks, []);
  assert.deepEqual(doc.mountOptions, []);
  assert.deepEqual(doc.linux.namespaces, []);
  assert.deepEqual(doc.potentiallyUnsafeConfigAnnotations, []);
  assert.deepEqual(Object.keys(doc.annotations).sort(), [
    "io.kubernetes.cri.container-type",
    "remoteproc.firmware",
    "remoteproc.name",
    "remoteproc.resolved-path",
  ]);
  for (const value of Object.values(doc.annotations)) assert.equal(typeof value, "string");
  fails(await f.cli(["features", "extra"]), /^features takes 0 arguments, got 1/);
});

Deno.test("spec: writes a usable template and never overwrites", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = join(f.dir, "fresh");
  await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
  assert.equal(ok(await f.cli(["spec", "--bundle", bundle])), "");
  const config = JSON.parse(await Deno.readTextFile(join(bundle, "config.json")));
  assert.equal(config.ociVersion, "1.0.2");
  assert.deepEqual(config.process.args, ["firmware.elf"]);
  assert.equal(config.root.path, "rootfs");
  assert.equal(config.annotations["remoteproc.name"], "CHANGE-ME");

  const before = await Deno.readTextFile(join(bundle, "config.json"));
  fails(await f.cli(["spec", "-b", bundle]), /^File config\.json exists\. Remove it first/);
  assert.equal(await Deno.readTextFile(join(bundle, "config.json")), before);
  assert.deepEqual(await listDir(bundle), ["config.json", "rootfs"]);

  // The template as written names no real processor; create says which ones exist.
  await Deno.copyFile(join(await f.bundle(), "rootfs/hello.elf"), join(bundle, "rootfs/firmware.elf"));
  fails(
    await f.cli(["create", "--bundle", bundle, "t1"]),
    /CHANGE-ME does not exist; available remote processors: dsp0/,
  );
  config.annotations["remoteproc.name"] = "dsp0";
  await Deno.writeTextFile(join(bundle, "config.json"), JSON.stringify(config));
  await createStarted(f, "t1", bundle);
  assert.equal(await f.sim.state("dsp0"), "running");

  const cwdBundle = join(f.dir, "cwd");
  await Deno.mkdir(cwdBundle);
  ok(await f.cli(["spec"], { cwd: cwdBundle }));
  assert.deepEqual(await listDir(cwdBundle), ["config.json"]);
  fails(
    await f.cli(["spec", "--bundle", join(f.dir, "missing")]),
    /missing: it does not exist; create the bundle directory first/,
  );
});

Deno.test("processors: table and json with state, firmware and holder", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "m4", firmware: "m4.elf" }] });
  const dir0 = f.sim.processorDir("dsp0");
  const dir1 = f.sim.processorDir("m4");
  assert.deepEqual(cells(ok(await f.cli(["processors"]))), [
    ["INDEX", "NAME", "STATE", "FIRMWARE", "HOLDER", "PATH"],
    ["0", "dsp0", "offline", "rproc-dsp0-fw", "-", dir0],
    ["1", "m4", "offline", "m4.elf", "-", dir1],
  ]);
  await createStarted(f, "c1", await f.bundle({ processor: "m4" }));
  const json = JSON.parse(ok(await f.cli(["processors", "--format", "json"])));
  assert.deepEqual(json[0], {
    index: 0,
    name: "dsp0",
    state: "offline",
    firmware: "rproc-dsp0-fw",
    path: dir0,
    holder: null,
  });
  assert.equal(json[1].name, "m4");
  assert.equal(json[1].state, "running");
  assert.equal(json[1].holder, "c1");
  assert.match(json[1].firmware, /^hello\.elf-\d+-[0-9a-f]{8}$/);
  assert.deepEqual(cells(ok(await f.cli(["processors"])))[2].slice(0, 5), [
    "1",
    "m4",
    "running",
    json[1].firmware,
    "c1",
  ]);
});

Deno.test("processors: a host without processors gives a bare header or []", async () => {
  await using f = await makeFixture({ processors: [] });
  assert.equal(
    ok(await f.cli(["processors"])).trimEnd(),
    ["INDEX", "NAME", "STATE", "FIRMWARE", "HOLDER", "PATH"].map((h, i, a) =>
      i === a.length - 1 ? h : h.padEnd(15)
    ).join(""),
  );
  assert.equal(ok(await f.cli(["processors", "-f", "json"])), "[]\n");
});

Deno.test("run: creates and starts in one step, writing the pid file", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const pidFile = join(f.dir, "c1.pid");
  ok(await f.cli(["run", "-d", "--bundle", await f.bundle(), "--pid-file", pidFile, "c1"]));
  const s = await state(f, "c1");
  assert.equal(s.status, "running");
  assert.equal(await Deno.readTextFile(pidFile), String(s.pid));
  assert.equal(await f.sim.state("dsp0"), "running");
  ok(await f.cli(["kill", "c1", "KILL"]));
  assert.equal(await f.sim.state("dsp0"), "offline");
  ok(await f.cli(["delete", "c1"]));
  fails(
    await f.cli(["run", "--console-socket", "/tmp/x.sock", "--bundle", await f.bundle(), "c2"]),
    /--console-socket is not supported/,
  );
  assert.deepEqual(await listDir(f.root), [".claims"]);
});

Deno.test("run: a failed boot leaves no container, firmware copy or claim behind", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0", failBoot: true }] });
  const r = await f.cli(["run", "--bundle", await f.bundle(), "c1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^cannot start container c1: [^\n]+\n$/);
  // The proxy's lines are the container's log, on the stdout run inherited.
  assert.match(r.stdout, /c1 on dsp0: boot failed/);
  fails(await f.cli(["state", "c1"]), /^container c1 does not exist$/);
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.deepEqual(await firmwareFiles(f.sim), []);
  assert.deepEqual(await listDir(join(f.root, ".claims")), []);
  assert.deepEqual(await f.proxyPids(), []);
});

Deno.test("exec, pause, resume, update, checkpoint, restore, events: refused, nothing touched", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await createStarted(f, "c1");
  const before = await state(f, "c1");
  const stateDir = await listDir(join(f.root, "c1"));
  const writes = f.sim.writes("dsp0").length;
  const cases: [string[], RegExp][] = [
    [
      ["exec", "--tty", "-e", "A=B", "c1", "sh", "-c", "ls"],
      /^exec is not supported: a remote processor runs/,
    ],
    [["pause", "c1"], /^pause is not supported: a remote processor cannot be frozen; stop it with kill$/],
    [["resume", "c1"], /^resume is not supported: /],
    [["update", "--memory", "1M", "--pids-limit=2", "c1"], /^update is not supported: .*cgroup/],
    [["checkpoint", "--image-path", "/tmp/x", "c1"], /^checkpoint is not supported: /],
    [["restore", "-d", "c1"], /^restore is not supported: /],
    [["events", "--stats", "c1"], /^events is not supported: .*poll state ID instead$/],
    [["pause"], /^pause is not supported: /],
  ];
  for (const [args, pattern] of cases) fails(await f.cli(args), pattern);
  assert.deepEqual(await state(f, "c1"), before);
  assert.deepEqual(await listDir(join(f.root, "c1")), stateDir);
  assert.equal(f.sim.writes("dsp0").length, writes);
  assert.equal(await f.sim.state("dsp0"), "running");
  const help = ok(await f.cli(["pause", "--help"]));
  assert.match(help, /Not supported: a remote processor cannot be frozen/);
});

Deno.test("global flags: every runc flag in both spellings; errors go to the --log file as JSON", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const log = join(f.dir, "log.json");
  const spaced = ["--log", log, "--log-format", "json", "--debug", "--systemd-cgroup", "--rootless", "false"];
  const joined = [`--log=${log}`, "--log-format=json", "--debug", "--systemd-cgroup", "--rootless=auto"];
  ok(await f.cli(["create", "--bundle", await f.bundle(), "c1"], { globals: spaced }));
  ok(await f.cli(["start", "c1"], { globals: joined }));
  assert.equal(JSON.parse(ok(await f.cli(["state", "c1"], { globals: spaced }))).status, "running");
  assert.equal(await Deno.readTextFile(log).catch(() => ""), "");

  fails(await f.cli(["start", "c1"], { globals: spaced }), /^cannot start an already running container: c1$/);
  fails(await f.cli(["delete", "nope"], { globals: joined }), /^container nope does not exist$/);
  fails(
    await f.cli(["state", "c1"], { globals: [`--log=${log}`, "--log-format=json", "--root="] }),
    /^--root needs a non-empty value$/,
  );
  const lines = (await Deno.readTextFile(log)).trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
    ["error", "cannot start an already running container: c1"],
    ["error", "container nope does not exist"],
    ["error", "--root needs a non-empty value"],
  ]);
  for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.time)), l.time);

  const textLog = join(f.dir, "log.txt");
  fails(await f.cli(["state", "nope"], { globals: ["--log", textLog] }), /^container nope does not exist$/);
  assert.match(
    await Deno.readTextFile(textLog),
    /^time="[^"]+" level=error msg="container nope does not exist"\n$/,
  );
  fails(await f.cli(["state", "c1"], { globals: ["--bogus"] }), /^unknown global flag --bogus; accepted: /);
});

Deno.test("kill --all and -a take numeric signals as engines send them", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "dsp1" }] });
  await createStarted(f, "c1", await f.bundle({ processor: "dsp0" }));
  await createStarted(f, "c2", await f.bundle({ processor: "dsp1" }));
  ok(await f.cli(["kill", "--all", "c1", "9"]));
  ok(await f.cli(["kill", "-a", "c2", "15"]));
  assert.equal((await state(f, "c1")).status, "stopped");
  assert.equal((await state(f, "c2")).status, "stopped");
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.equal(await f.sim.state("dsp1"), "offline");
  fails(await f.cli(["kill", "--all", "c1", "9"]), /container not running/);
});

function sandboxConfig(args: string[]): (config: Record<string, unknown>) => void {
  return (config) => {
    (config.process as Record<string, unknown>).args = args;
    config.annotations = {
      "io.kubernetes.cri.container-type": "sandbox",
      "io.kubernetes.cri.sandbox-id": "pod1",
      "io.kubernetes.cri.sandbox-name": "firmware-pod",
    };
  };
}

Deno.test("pod sandbox: create, start, state, kill, delete without touching a processor", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  for (const [id, args] of [["pod1", ["/pause"]], ["pod2", ["/pause", "-v", "--anything"]]] as const) {
    const bundle = await f.bundle({ processor: null, mutate: sandboxConfig([...args]) });
    ok(await f.cli(["create", "--bundle", bundle, "--pid-file", join(f.dir, `${id}.pid`), id]));
    assert.equal((await state(f, id)).status, "created");
    ok(await f.cli(["start", id]));
    const s = await state(f, id);
    assert.equal(s.status, "running");
    assert.ok(await pidRunning(s.pid));
    assert.deepEqual(JSON.parse(ok(await f.cli(["ps", "--format", "json", id]))), [s.pid]);
  }
  assert.deepEqual(JSON.parse(ok(await f.cli(["processors", "-f", "json"])))[0].holder, null);
  ok(await f.cli(["kill", "pod1", "15"]));
  ok(await f.cli(["kill", "pod2", "9"]));
  for (const id of ["pod1", "pod2"]) {
    assert.equal((await state(f, id)).status, "stopped");
    ok(await f.cli(["delete", id]));
  }
  assert.deepEqual(f.sim.writes("dsp0"), []);
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.deepEqual(await firmwareFiles(f.sim), []);
  assert.deepEqual(await listDir(f.root), []);
});

Deno.test("pod: a firmware container with pod annotations runs beside its sandbox", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  ok(
    await f.cli([
      "run",
      "--bundle",
      await f.bundle({ processor: null, mutate: sandboxConfig(["/pause"]) }),
      "pod1",
    ]),
  );
  // containerd's pod_annotations copies the pod's remoteproc.name into each container's spec.
  const fw = await f.bundle({
    mutate: (config) => {
      config.annotations = {
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.sandbox-id": "pod1",
        "io.kubernetes.cri.container-name": "blink",
        "remoteproc.name": "dsp0",
      };
    },
  });
  ok(await f.cli(["run", "--bundle", fw, "blink"]));
  assert.equal(await f.sim.state("dsp0"), "running");
  assert.equal((await state(f, "pod1")).status, "running");
  assert.equal((await state(f, "blink")).status, "running");
  const listed = JSON.parse(ok(await f.cli(["list", "--format", "json"])));
  assert.deepEqual(listed.map((s: { id: string }) => s.id), ["blink", "pod1"]);
  assert.equal(listed[0].annotations["remoteproc.resolved-path"], f.sim.processorDir("dsp0"));

  ok(await f.cli(["kill", "blink", "15"]));
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.equal((await state(f, "pod1")).status, "running");
  ok(await f.cli(["delete", "blink"]));
  ok(await f.cli(["delete", "--force", "pod1"]));
  fails(await f.cli(["state", "pod1"]), /^container pod1 does not exist$/);
  assert.deepEqual(await firmwareFiles(f.sim), []);
});

/** Runs the CLI with an environment holding only XDG_RUNTIME_DIR= (empty), as podman calls kill/delete/state. */
async function bareCli(f: Fixture, args: string[]): Promise<CliResult> {
  return await runToFiles(Deno.execPath(), ["run", "-A", MAIN, ...args], {
    outDir: f.dir,
    cwd: f.dir,
    clearEnv: true,
    env: { XDG_RUNTIME_DIR: "" },
  });
}

Deno.test("defaults: no --root and an empty XDG_RUNTIME_DIR work, creating nothing", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const defaultRoot = Deno.uid() === 0 ? "/run/remoteproc-runtime" : `/tmp/remoteproc-runtime-${Deno.uid()}`;
  const existed = await Deno.lstat(defaultRoot).then(() => true, () => false);
  const id = `absent-${crypto.randomUUID().slice(0, 8)}`;
  fails(
    await bareCli(f, ["--host-root", f.host, "state", id]),
    new RegExp(`^container ${id} does not exist$`),
  );
  assert.equal(ok(await bareCli(f, ["--host-root", f.host, "delete", "--force", id])), "");
  assert.equal(await Deno.lstat(defaultRoot).then(() => true, () => false), existed);
});

Deno.test("defaults: a configuration file sets the root for a whole lifecycle without flags", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const root = join(f.dir, "from-config");
  const config = join(f.dir, "config.jsonc");
  await Deno.writeTextFile(
    config,
    `{\n  // as /etc/remoteproc-runtime/config.jsonc would\n  "root": "${root}",\n  "hostRoot": "${f.host}",\n}\n`,
  );
  const g = ["--config", config];
  ok(await bareCli(f, [...g, "create", "--bundle", await f.bundle(), "--pid-file", "c1.pid", "c1"]));
  assert.deepEqual(await listDir(root), [".claims", "c1"]);
  ok(await bareCli(f, [...g, "start", "c1"]));
  assert.equal(JSON.parse(ok(await bareCli(f, [...g, "state", "c1"]))).status, "running");
  assert.equal(await f.sim.state("dsp0"), "running");
  ok(await bareCli(f, [...g, "kill", "c1", "15"]));
  ok(await bareCli(f, [...g, "delete", "--force", "c1"]));
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.deepEqual(await listDir(root), [".claims"]);
});

Deno.test("help lists every command of the runc surface", async () => {
  await using f = await makeFixture({ processors: [] });
  const help = ok(await f.cli(["--help"]));
  for (
    const name of [
      "create",
      "start",
      "state",
      "kill",
      "delete",
      "run",
      "list",
      "ps",
      "processors",
      "spec",
      "features",
      "exec",
      "pause",
      "resume",
      "update",
      "checkpoint",
      "restore",
      "events",
    ]
  ) {
    assert.match(help, new RegExp(`^  ${name} `, "m"), name);
  }
});
