import assert from "node:assert/strict";
import { join } from "node:path";
import { blockedInPoll } from "../lib/dev/bench.ts";
import { EXIT } from "../lib/proxy/machine.ts";
import { FIRMWARE_LEDGER, STORED_NAME_PATTERN } from "../lib/store/firmware_store.ts";
import { waitFor } from "../lib/util/wait.ts";
import { markStopRequested } from "../lib/store/container_store.ts";
import type { KernelState } from "../lib/remoteproc/kernel_state.ts";
import {
  assertNothingLeft,
  cliArgv,
  descriptorTargets,
  envWith,
  type Fixture,
  ledgerDir,
  listDir,
  makeFixture,
  pidRunning,
  proxiesUnder,
  proxyExitCode,
  storedCopies,
  waitForExit,
} from "./helpers.ts";

/** The state JSON of a container, parsed, asserting the command succeeded. */
async function state(f: Fixture, id: string): Promise<Record<string, unknown>> {
  const r = await f.cli(["state", id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return JSON.parse(r.stdout);
}

/** Creates container fw1 (a bundle for dsp0) and starts it; returns its proxy's pid. */
async function runningProxy(f: Fixture): Promise<number> {
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["start", "fw1"]);
  return (await state(f, "fw1")).pid as number;
}

async function ok(f: Fixture, args: string[]): Promise<string> {
  const r = await f.cli(args);
  assert.equal(r.stderr, "", `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.code, 0);
  return r.stdout;
}

async function fails(f: Fixture, args: string[], pattern: RegExp): Promise<string> {
  const r = await f.cli(args);
  assert.equal(r.code, 1, `${args.join(" ")} should fail; stdout: ${r.stdout}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line expected: ${r.stderr}`);
  return r.stderr;
}

Deno.test("full lifecycle: create, start, state, kill, delete with sysfs checked at each step", async () => {
  await using f = await makeFixture({ processors: [{ name: "m4" }, { name: "dsp0" }] });
  const bundle = await f.bundle();
  const pidFile = join(f.dir, "proxy.pid");
  await ok(f, ["create", "--bundle", bundle, "--pid-file", pidFile, "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.deepEqual(f.sim.writes("dsp0"), [], "create must not touch the processor");
  const created = await state(f, "fw1");
  assert.equal(created.status, "created");
  assert.equal(created.bundle, bundle);
  assert.equal(created.ociVersion, "1.2.0");
  const pid = Number(await Deno.readTextFile(pidFile));
  assert.equal(created.pid, pid);
  assert.ok(await pidRunning(pid));
  const annotations = created.annotations as Record<string, string>;
  assert.equal(annotations["remoteproc.name"], "dsp0");
  assert.equal(annotations["remoteproc.resolved-path"], f.sim.processorDir("dsp0"));
  const stored = annotations["remoteproc.firmware"];
  assert.equal(join(f.sim.firmwareDir(), stored.split("/").pop()!), stored);
  assert.match(stored.split("/").pop()!, /^hello\.elf-\d{13}-[0-9a-f]{8}$/);
  assert.deepEqual(
    await Deno.readFile(stored),
    await Deno.readFile(join(bundle, "rootfs/hello.elf")),
  );

  await ok(f, ["start", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "running", "start returns only once the processor runs");
  assert.equal(await f.sim.firmware("dsp0"), stored.split("/").pop());
  assert.equal((await state(f, "fw1")).status, "running");
  assert.equal(await f.sim.state("m4"), "offline", "other processors untouched");

  await ok(f, ["kill", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "offline", "kill returns once the processor is offline");
  await waitForExit(pid);
  const stopped = await state(f, "fw1");
  assert.equal(stopped.status, "stopped");
  assert.equal(stopped.pid, 0);
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedOnRequest);

  await ok(f, ["delete", "fw1"]);
  await fails(f, ["state", "fw1"], /^container fw1 does not exist$/m);
  await assertNothingLeft(f);
});

Deno.test("create from the bundle as working directory and a relative pid file", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  const r = await f.cli(["create", "--pid-file", "p.pid", "fw1"], { cwd: bundle });
  assert.equal(r.code, 0, r.stderr);
  const pid = await Deno.readTextFile(join(bundle, "p.pid"));
  assert.match(pid, /^\d+$/);
  assert.equal((await state(f, "fw1")).pid, Number(pid));
  assert.equal((await state(f, "fw1")).bundle, bundle);
  assert.deepEqual((await listDir(bundle)).filter((n) => n.includes(".tmp")), []);
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("firmware goes to the kernel's custom firmware path when it is set", async () => {
  const custom = await Deno.makeTempDir({ prefix: "rproc-custom-fw-" });
  try {
    await using f = await makeFixture({ processors: [{ name: "dsp0" }], customFirmwarePath: custom });
    await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
    const copies = await storedCopies(f);
    assert.equal(copies.length, 1);
    assert.match(copies[0], STORED_NAME_PATTERN);
    assert.deepEqual(await listDir(custom), [FIRMWARE_LEDGER, copies[0]].sort());
    assert.deepEqual(await listDir(join(f.host, "lib/firmware")), []);
    await ok(f, ["start", "fw1"]);
    assert.equal(await f.sim.state("dsp0"), "running");
    await ok(f, ["delete", "--force", "fw1"]);
    assert.deepEqual(await storedCopies(f), []);
    assert.deepEqual(await listDir(ledgerDir(f)), []);
    assert.equal(await f.sim.state("dsp0"), "offline");
  } finally {
    await Deno.remove(custom, { recursive: true });
  }
});

Deno.test("unknown processor: the message lists the available ones, and nothing is left", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "m4" }] });
  const bundle = await f.bundle({ processor: "nope" });
  await fails(
    f,
    ["create", "--bundle", bundle, "fw1"],
    /^remote processor nope does not exist; available remote processors: dsp0, m4/,
  );
  await assertNothingLeft(f);
});

Deno.test("no processors at all: the message says there are none", async () => {
  await using f = await makeFixture({ processors: [] });
  await fails(f, ["create", "--bundle", await f.bundle(), "fw1"], /there are no remote processors in /);
  await assertNothingLeft(f);
});

Deno.test("create immediately followed by start, 100 times: the proxy is never lost", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  for (let i = 0; i < 100; i++) {
    await ok(f, ["create", "--bundle", bundle, `c${i}`]);
    await ok(f, ["start", `c${i}`]);
    assert.equal(await f.sim.state("dsp0"), "running", `iteration ${i}`);
    await ok(f, ["delete", "--force", `c${i}`]);
    assert.equal(await f.sim.state("dsp0"), "offline", `iteration ${i}`);
  }
  await assertNothingLeft(f);
});

Deno.test("a second container on a claimed processor is refused, naming the holder", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "first"]);
  const before = await storedCopies(f);
  await fails(
    f,
    ["create", "--bundle", await f.bundle(), "second"],
    /remote processor dsp0 is already in use by container first/,
  );
  await fails(f, ["state", "second"], /container second does not exist/);
  assert.deepEqual(await storedCopies(f), before);
  await ok(f, ["start", "first"]);
  await fails(f, ["create", "--bundle", await f.bundle(), "second"], /in use by container first/);
  assert.equal(await f.sim.state("dsp0"), "running");
  await ok(f, ["delete", "--force", "first"]);
  await ok(f, ["create", "--bundle", await f.bundle(), "second"]);
  await ok(f, ["delete", "second"]);
  await assertNothingLeft(f);
});

Deno.test("the same id twice is refused and the first container is unharmed", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "m4" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await fails(f, ["create", "--bundle", await f.bundle({ processor: "m4" }), "fw1"], /already exists/);
  assert.equal((await state(f, "fw1")).status, "created");
  assert.equal(await f.sim.state("m4"), "offline");
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

for (const spelling of ["15", "TERM", "term", "sigterm", "SIGTERM", "2", "INT", "SIGINT", "sigint"]) {
  Deno.test(`kill with ${spelling} stops the processor gracefully; the proxy then ends with 0`, async () => {
    await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
    await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
    await ok(f, ["start", "fw1"]);
    await ok(f, ["kill", "fw1", spelling]);
    assert.equal(await f.sim.state("dsp0"), "offline");
    // Stopped from the moment kill returns, whether or not the proxy has reported yet.
    assert.equal((await state(f, "fw1")).status, "stopped");
    assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedOnRequest);
    await ok(f, ["delete", "fw1"]);
    await assertNothingLeft(f);
  });
}

for (const spelling of ["9", "KILL", "kill", "sigkill", "SIGKILL"]) {
  Deno.test(`kill with ${spelling} kills the proxy and leaves the processor offline`, async () => {
    await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
    const pid = await runningProxy(f);
    await ok(f, ["kill", "fw1", spelling]);
    assert.equal(await f.sim.state("dsp0"), "offline");
    assert.equal(await pidRunning(pid), false);
    assert.equal((await state(f, "fw1")).status, "stopped");
    await ok(f, ["delete", "fw1"]);
    await assertNothingLeft(f);
  });
}

Deno.test("kill: unknown and unsupported signals are refused without effect", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["start", "fw1"]);
  await fails(f, ["kill", "fw1", "BOGUS"], /^unknown signal "BOGUS"/);
  await fails(f, ["kill", "fw1", "99"], /unknown signal "99"/);
  await fails(f, ["kill", "fw1", "HUP"], /signal SIGHUP is not supported .*TERM or INT .*KILL/);
  await fails(f, ["kill", "fw1", "USR1"], /signal SIGUSR1 is not supported/);
  assert.equal(await f.sim.state("dsp0"), "running");
  assert.equal((await state(f, "fw1")).status, "running");
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("kill of a created container ends it without touching the processor", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["kill", "fw1", "TERM"]);
  assert.equal((await state(f, "fw1")).status, "stopped");
  assert.deepEqual(f.sim.writes("dsp0"), []);
  await fails(f, ["kill", "fw1"], /^container fw1 is not running.*container not running/);
  await fails(f, ["start", "fw1"], /cannot start a container that has stopped/);
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("proxy killed from outside: state reads stopped, delete stops the processor", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const pid = await runningProxy(f);
  Deno.kill(pid, "SIGKILL");
  await waitForExit(pid);
  assert.equal((await state(f, "fw1")).status, "stopped");
  assert.equal(await f.sim.state("dsp0"), "running", "nothing has stopped it yet");
  await fails(f, ["kill", "fw1"], /container not running/);
  await ok(f, ["delete", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "offline");
  await assertNothingLeft(f);
});

Deno.test("a crash with recovery disabled: the proxy exits with the crash code, state says stopped", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0", recovery: false }] });
  const pid = await runningProxy(f);
  await f.sim.crash("dsp0");
  await waitForExit(pid);
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.crashed);
  assert.equal((await state(f, "fw1")).status, "stopped");
  assert.equal(await f.sim.state("dsp0"), "crashed");
  await ok(f, ["delete", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "offline", "delete recovers and stops a crashed processor");
  await assertNothingLeft(f);
});

Deno.test("a crash the kernel recovers from keeps the container running", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0", recovery: true, recoveryDelayMs: 20 }] });
  const pid = await runningProxy(f);
  await f.sim.crash("dsp0");
  await f.sim.waitForState("dsp0", "running", 5_000);
  // The proxy polls every 100 ms; give it several polls' worth of chances to (wrongly) exit.
  await assert.rejects(waitForExit(pid, 500));
  assert.equal((await state(f, "fw1")).status, "running");
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("the processor stopping by itself ends the container with its own exit code", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["start", "fw1"]);
  await f.sim.haltBySelf("dsp0");
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedBySelf);
  assert.equal((await state(f, "fw1")).status, "stopped");
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("a processor gone idle with kill's request on record ends the proxy with 0, not as a stop by itself", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["start", "fw1"]);
  // What the proxy's poll can see between kill's stop and its byte (kill writes its request first).
  markStopRequested(join(f.root, "fw1"), "SIGTERM");
  await f.sim.haltBySelf("dsp0");
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedOnRequest);
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("kill stops a running processor without the proxy's help; the proxy, let go, ends with 0", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const pid = await runningProxy(f);
  Deno.kill(pid, "SIGSTOP");
  try {
    await ok(f, ["kill", "fw1"]);
    assert.equal(await f.sim.state("dsp0"), "offline");
    assert.equal((await state(f, "fw1")).status, "stopped");
  } finally {
    Deno.kill(pid, "SIGCONT");
  }
  // Its stop request (kill's byte) was waiting for it.
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedOnRequest);
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("start with the firmware missing from the search path fails clearly and the container stops", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  for (const copy of await storedCopies(f)) await Deno.remove(join(f.sim.firmwareDir(), copy));
  await fails(f, ["start", "fw1"], /^cannot start container fw1: firmware hello\.elf-\S+ failed to boot/);
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.bootFailed);
  assert.equal((await state(f, "fw1")).status, "stopped");
  assert.equal(await f.sim.state("dsp0"), "offline");
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("a slow boot: start waits until the processor runs", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0", bootDelayMs: 300 }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["start", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "running");
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("a processor already running firmware the runtime did not start is refused", async () => {
  for (const initial of ["running", "attached", "crashed"] as const) {
    await using f = await makeFixture({ processors: [{ name: "dsp0", state: initial }] });
    await fails(
      f,
      ["create", "--bundle", await f.bundle(), "fw1"],
      new RegExp(
        `remote processor dsp0 is ${initial} with firmware \\S+, which this runtime did not start; stop it first`,
      ),
    );
    assert.equal(await f.sim.state("dsp0"), initial);
    assert.deepEqual(f.sim.writes("dsp0"), []);
    await assertNothingLeft(f);
  }
});

Deno.test("delete: created, running, stopped and unknown, with and without --force", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  await fails(f, ["delete", "ghost"], /^container ghost does not exist$/m);
  assert.equal((await f.cli(["delete", "--force", "ghost"])).code, 0);
  assert.equal((await f.cli(["delete", "-f", "ghost"])).stderr, "");

  await ok(f, ["create", "--bundle", bundle, "created"]);
  const createdPid = (await state(f, "created")).pid as number;
  await ok(f, ["delete", "created"]);
  assert.equal(await pidRunning(createdPid), false);
  assert.deepEqual(f.sim.writes("dsp0"), []);

  await ok(f, ["create", "--bundle", bundle, "running"]);
  await ok(f, ["start", "running"]);
  await fails(f, ["delete", "running"], /^cannot delete container running that is not stopped: running/);
  assert.equal(await f.sim.state("dsp0"), "running");
  await ok(f, ["delete", "--force", "running"]);
  assert.equal(await f.sim.state("dsp0"), "offline");

  await ok(f, ["create", "--bundle", bundle, "stopped"]);
  await ok(f, ["start", "stopped"]);
  await ok(f, ["kill", "stopped", "KILL"]);
  await ok(f, ["delete", "stopped"]);
  await assertNothingLeft(f);
});

Deno.test("bad ids are refused before any path is touched", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  for (const id of ["..", ".", "../escape", "a/b", "with space", "", "ünï"]) {
    await fails(f, ["create", "--bundle", bundle, id], /invalid container id/);
    await fails(f, ["state", id], /invalid container id/);
    await fails(f, ["delete", "--force", id], /invalid container id/);
  }
  await assertNothingLeft(f);
  assert.deepEqual(await listDir(join(f.dir, "escape")), []);
});

Deno.test("bad bundles are refused with one line and nothing left behind", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const cases: [Parameters<Fixture["bundle"]>[0], RegExp][] = [
    [{ configText: "{ not json" }, /config\.json is not valid JSON: line 1, column 3/],
    [{ args: [] }, /process\.args has 0 entries; give exactly one/],
    [{ args: ["a.elf", "b.elf"] }, /process\.args has 2 entries/],
    [{ processor: null }, /annotations\["remoteproc\.name"\] is missing/],
    [{ args: ["missing.elf"] }, /firmware missing\.elf does not exist in the rootfs/],
    [{ mutate: (c) => c.ociVersion = "2.0.0" }, /ociVersion is "2\.0\.0"; only OCI runtime spec 1\.x/],
  ];
  for (const [options, pattern] of cases) {
    await fails(f, ["create", "--bundle", await f.bundle(options), "fw1"], pattern);
  }
  await fails(
    f,
    ["create", "--bundle", join(f.dir, "nope"), "fw1"],
    /cannot open bundle .*nope: it does not exist/,
  );
  await fails(
    f,
    ["create", "--bundle", await f.bundle(), "--pid-file", join(f.dir, "no/such/dir/p.pid"), "fw1"],
    /pid file directory .*no\/such\/dir: it does not exist/,
  );
  await assertNothingLeft(f);
  assert.deepEqual(f.sim.writes("dsp0"), []);
});

Deno.test("state of an unknown container and wrong argument counts", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await fails(f, ["state", "nope"], /^container nope does not exist$/m);
  await fails(f, ["start"], /^start takes 1 argument, got 0; usage: start ID/);
  await fails(f, ["bogus"], /^unknown command "bogus"; commands: create, start, state, kill, delete/);
  for (const command of ["create", "run"]) {
    await fails(
      f,
      [command, "--nope", "x"],
      new RegExp(`^unknown flag --nope for ${command}; accepted: --bundle`),
    );
    // main.ts started a proxy before the flags were read, and ended it before exiting (looked for at once:
    // left alone, it would end by itself once its start-up reads the end of its input).
    assert.deepEqual(await proxiesUnder(f), [], command);
  }
  await fails(f, ["--nope", "state", "x"], /^unknown global flag --nope; accepted: --root/);
  await assertNothingLeft(f);
});

Deno.test("help: every command prints usage with an example", async () => {
  await using f = await makeFixture({ processors: [] });
  for (const command of ["create", "start", "state", "kill", "delete"]) {
    const viaFlag = await f.cli([command, "--help"]);
    assert.equal(viaFlag.code, 0);
    assert.match(viaFlag.stdout, new RegExp(`^Usage: remoteproc-runtime ${command} `));
    assert.match(viaFlag.stdout, /Example:\n {2}remoteproc-runtime /);
    const viaHelp = await f.cli(["help", command]);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  }
  const main = await f.cli(["--help"]);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /Commands:\n {2}create/);
  const version = await f.cli(["--version"]);
  assert.match(version.stdout, /^remoteproc-runtime version \d+\.\d+\.\d+\nspec: 1\.2\.0\ndeno: 2\./);
});

/** Inodes of the listening TCP sockets on this machine (from /proc/net/tcp and tcp6). */
async function listeningInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(file).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A") inodes.add(cols[9]); // 0A is LISTEN; column 9 the socket inode
    }
  }
  return inodes;
}

Deno.test("a started proxy listens on no TCP port (start does not send SIGUSR1, which opens Deno's inspector)", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  const pid = (await state(f, "fw1")).pid as number;
  // Deno opens its inspector on SIGUSR1 only in a process older than about half a second.
  const ticks = Number((await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ")[19]);
  await waitFor(async () => {
    const uptime = Number((await Deno.readTextFile("/proc/uptime")).split(" ")[0]);
    return uptime - ticks / 100 > 1.5;
  }, { timeoutMs: 10_000, what: "the proxy to be older than 1.5 s" });
  await ok(f, ["start", "fw1"]);
  const proxyListens = async () => {
    const listening = await listeningInodes();
    for (const target of await descriptorTargets(pid)) {
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && listening.has(inode)) return true;
    }
    return false;
  };
  // Give a debugger the time it would need to appear; it must not.
  await assert.rejects(waitFor(proxyListens, { timeoutMs: 1_000, what: "a listening socket" }));
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("descriptors an engine hands create (containerd's fd 3) are not kept by the proxy", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  const marker = join(f.dir, "engine-socket-stand-in");
  await Deno.writeTextFile(marker, "held by the engine");
  const out = join(f.dir, "create.out");
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'exec 3<"$1" 7<"$1"; out=$2; shift 2; exec "$@" >"$out" 2>&1',
      "sh",
      marker,
      out,
      Deno.execPath(),
      ...cliArgv(f, ["create", "--bundle", bundle, "fw1"]),
    ],
    stdin: "null",
  }).spawn();
  assert.equal((await child.status).code, 0, await Deno.readTextFile(out));
  const pid = (await state(f, "fw1")).pid as number;
  const held = (await descriptorTargets(pid)).filter((target) => target === marker);
  assert.deepEqual(held, []);
  await ok(f, ["start", "fw1"]);
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("the proxy runs with the environment create was given (an engine's variables, PATH)", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const extra = { RPROC_ENGINE_VARIABLE: "a value with spaces=and an equals sign" };
  const created = await f.cli(["create", "--bundle", await f.bundle(), "fw1"], { env: envWith(extra) });
  assert.equal(created.code, 0, created.stderr);
  const pid = (await state(f, "fw1")).pid as number;
  const environment = (await Deno.readTextFile(`/proc/${pid}/environ`)).split("\0");
  assert.ok(
    environment.includes(`RPROC_ENGINE_VARIABLE=${extra.RPROC_ENGINE_VARIABLE}`),
    environment.join(" "),
  );
  assert.ok(environment.includes(`PATH=${Deno.env.get("PATH")}`), environment.join(" "));
  // Run with `deno run` here: Deno's update check is turned off for the proxy, and glibc keeps one arena
  // (PROXY_ENV).
  assert.ok(environment.includes("DENO_NO_UPDATE_CHECK=1"), environment.join(" "));
  assert.ok(environment.includes("MALLOC_ARENA_MAX=1"), environment.join(" "));
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});

/**
 * After a container's directory was removed by hand and its proxy has ended: the processor is free again once
 * the stale claim is recognised as such, and `cleanup` leaves nothing behind.
 */
async function assertCleanAfterRemoval(f: Fixture): Promise<void> {
  await ok(f, ["create", "--bundle", await f.bundle(), "fw2"]);
  await ok(f, ["delete", "fw2"]);
  await ok(f, ["cleanup"]);
  await assertNothingLeft(f);
}

Deno.test("a running container whose state directory is removed does not leave its processor running", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const pid = await runningProxy(f);
  await Deno.remove(join(f.root, "fw1"), { recursive: true });
  await f.sim.waitForState("dsp0", "offline", 10_000);
  await waitForExit(pid);
  await assertCleanAfterRemoval(f);
});

Deno.test("create makes the proxy's wake-up FIFO, and the proxy reads it instead of watching its directory", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  assert.ok((await Deno.lstat(join(f.root, "fw1", "wake"))).isFifo);
  const pid = (await state(f, "fw1")).pid as number;
  const descriptors = () => descriptorTargets(pid);
  // Read once the proxy has reported ready: it opens the FIFO (or sets up a watch) right after.
  await waitFor(async () => (await descriptors()).includes(join(f.root, "fw1", "wake")), {
    timeoutMs: 10_000,
    what: "the proxy to open its FIFO",
  });
  assert.ok(!(await descriptors()).includes("anon_inode:inotify"), (await descriptors()).join(" "));
  await ok(f, ["start", "fw1"]);
  await ok(f, ["kill", "fw1", "TERM"]);
  assert.equal(await f.sim.state("dsp0"), "offline");
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("a created container whose state directory is removed: its proxy ends, the processor untouched", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  const pid = (await state(f, "fw1")).pid as number;
  // Woken through its FIFO, the proxy hears nothing of the removal: it looks now and then (every ten polls).
  await Deno.remove(join(f.root, "fw1"), { recursive: true });
  await waitForExit(pid);
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.deepEqual(f.sim.writes("dsp0").filter((w) => w.startsWith("state=")), []);
  await assertCleanAfterRemoval(f);
});

/**
 * Writes a configuration file whose poll interval is `ms` and returns a runner of commands with it, asserting
 * that each succeeds.
 */
async function polledEvery(f: Fixture, ms: number): Promise<(args: string[]) => Promise<void>> {
  const config = join(f.dir, "poll.jsonc");
  await Deno.writeTextFile(config, JSON.stringify({ pollIntervalMs: ms }) + "\n");
  return async (args) => {
    const r = await f.cli(args, { globals: ["--config", config] });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  };
}

Deno.test("a running proxy takes a fake tree's unanswered word (kill's stop, mid-answer) for no change", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const run = await polledEvery(f, 5);
  await run(["create", "--bundle", await f.bundle(), "fw1"]);
  await run(["start", "fw1"]);
  const pid = (await state(f, "fw1")).pid as number;
  // Each poll reads the state file: its read system calls count the polls.
  const reads = async () => Number(/^syscr: (\d+)$/m.exec(await Deno.readTextFile(`/proc/${pid}/io`))![1]);
  await f.sim.setState("dsp0", "stop" as KernelState);
  const before = await reads();
  await waitFor(async () => await reads() >= before + 6, { timeoutMs: 10_000, what: "the proxy's polls" });
  assert.ok(await pidRunning(pid), "the proxy ended on the word");
  await f.sim.setState("dsp0", "running");
  await run(["kill", "fw1"]);
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedOnRequest);
  await run(["delete", "fw1"]);
  await assertNothingLeft(f);
});

for (const wake of ["kill's byte", "a SIGTERM", "a crash seen on a wake-up"] as const) {
  Deno.test(`a running proxy waits in poll(2) on its FIFO, and ${wake} ends the wait at once`, async () => {
    await using f = await makeFixture({ processors: [{ name: "dsp0", recovery: false }] });
    // Polls a minute apart: only a wake-up can end the proxy's wait within the time given below.
    const run = await polledEvery(f, 60_000);
    await run(["create", "--bundle", await f.bundle(), "fw1"]);
    const pid = (await state(f, "fw1")).pid as number;
    const inPoll = () => blockedInPoll(pid);
    const starting = performance.now();
    await run(["start", "fw1"]);
    // For a second after its boot report it waits on timers, libc not opened yet (LIBC_AFTER_MS in
    // lib/proxy/driver.ts): checked when the look came within 800 ms of start's launch, inside that second.
    const early = await inPoll();
    if (performance.now() - starting < 800) assert.equal(early, false, "in poll(2) right after its boot");
    // Then its thread is blocked in poll(2) (lib/process/fifo_wait.ts), not in Deno's event loop (epoll).
    await waitFor(inPoll, { timeoutMs: 10_000, what: "the running proxy to block in poll(2)" });
    // kill gives up after stopTimeoutMs (10 s) and 2 s more, waitForExit after 10 s: well before the next poll.
    if (wake === "kill's byte") await run(["kill", "fw1"]);
    else if (wake === "a SIGTERM") Deno.kill(pid, "SIGTERM");
    else {
      // A plain wake-up (as start's) makes the proxy read its processor: what it reads is acted on before it
      // waits again.
      await f.sim.crash("dsp0");
      using fifo = await Deno.open(join(f.root, "fw1", "wake"), { read: true, write: true });
      await fifo.write(new Uint8Array([1]));
    }
    await waitForExit(pid, 10_000);
    const crashed = wake === "a crash seen on a wake-up";
    assert.equal(await proxyExitCode(f, "fw1"), crashed ? EXIT.crashed : EXIT.stoppedOnRequest);
    assert.equal(await f.sim.state("dsp0"), crashed ? "crashed" : "offline");
    await run(["delete", "fw1"]);
    await assertNothingLeft(f);
  });
}

Deno.test("signals coming faster than the poll interval do not hold off a running proxy's poll", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0", recovery: false }] });
  // Polls half a second apart, signals ten times as often: each one ends the proxy's wait in poll(2).
  const run = await polledEvery(f, 500);
  await run(["create", "--bundle", await f.bundle(), "fw1"]);
  const pid = (await state(f, "fw1")).pid as number;
  await run(["start", "fw1"]);
  await waitFor(() => blockedInPoll(pid), {
    timeoutMs: 10_000,
    what: "the running proxy to block in poll(2)",
  });
  await f.sim.crash("dsp0");
  // SIGUSR2, the start signal, changes nothing for a running container. A wait that every signal ended without
  // a poll would see the crash only once the proxy gave up on poll(2), after a hundred signals (5 s).
  await waitFor(async () => {
    if (!(await pidRunning(pid))) return true;
    try {
      Deno.kill(pid, "SIGUSR2");
    } catch {
      // it ended meanwhile: seen at the next look
    }
    return false;
  }, { timeoutMs: 3_000, intervalMs: 50, what: "the proxy to end on the crash while signalled" });
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.crashed);
  await run(["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("the proxy also takes signals: SIGUSR2 starts it, SIGTERM stops it, as the request files do", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  const pid = (await state(f, "fw1")).pid as number;
  Deno.kill(pid, "SIGUSR2");
  await f.sim.waitForState("dsp0", "running", 10_000);
  await waitFor(async () => (await state(f, "fw1")).status === "running", {
    timeoutMs: 10_000,
    what: "state to read running after SIGUSR2",
  });
  Deno.kill(pid, "SIGTERM");
  await waitForExit(pid);
  assert.equal(await f.sim.state("dsp0"), "offline");
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.stoppedOnRequest);
  assert.equal((await state(f, "fw1")).status, "stopped");
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("start fails with one line when the proxy ends during the boot, and when it does not answer in time", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "dsp1" }] });
  // A start timeout of 1 ms: start gives the proxy 2001 ms (its margin) before it says no answer came.
  const config = join(f.dir, "fast-start.jsonc");
  await Deno.writeTextFile(config, '{ "startTimeoutMs": 1 }\n');
  const cli = (args: string[]) => f.cli(args, { globals: ["--config", config] });
  for (const [id, processor] of [["gone", "dsp0"], ["silent", "dsp1"]]) {
    const created = await cli(["create", "--bundle", await f.bundle({ name: id, processor }), id]);
    assert.equal(created.code, 0, created.stderr);
  }
  const gone = (await state(f, "gone")).pid as number;
  const silent = (await state(f, "silent")).pid as number;
  // Stopped, neither proxy reads its request: one is then killed while start waits, the other stays silent.
  Deno.kill(gone, "SIGSTOP");
  Deno.kill(silent, "SIGSTOP");
  try {
    const starting = cli(["start", "gone"]);
    await waitFor(() => listDir(join(f.root, "gone")).then((names) => names.includes("start-requested")), {
      timeoutMs: 10_000,
      what: "start's request",
    });
    Deno.kill(gone, "SIGKILL");
    const r = await starting;
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      r.stderr,
      "cannot start container gone: its proxy exited during the boot (see the container log)\n",
    );
    const s = await cli(["start", "silent"]);
    assert.equal(s.code, 1, s.stdout);
    assert.equal(s.stderr, "cannot start container silent: no answer from its proxy within 2001 ms\n");
  } finally {
    Deno.kill(silent, "SIGCONT");
  }
  assert.equal(await f.sim.state("dsp0"), "offline");
  for (const id of ["gone", "silent"]) {
    const d = await f.cli(["delete", "--force", id]);
    assert.equal(d.code, 0, d.stderr);
  }
  await assertNothingLeft(f);
});
