/**
 * Guarantees 5 and 6: the proxy dying or the processor stopping/crashing by itself, and PID reuse: the runtime
 * never signals a process it cannot prove is its proxy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT } from "../lib/proxy/machine.ts";
import {
  assertNothingLeft,
  cliArgv,
  type Fixture,
  makeFixture,
  pidRunning,
  proxyExitCode,
  waitForExit,
} from "./helpers.ts";

async function ok(f: Fixture, args: string[], globals: string[] = []): Promise<string> {
  const r = await f.cli(args, { globals });
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function status(f: Fixture, id: string): Promise<{ status: string; pid: number }> {
  return JSON.parse(await ok(f, ["state", id]));
}

Deno.test("proxy killed from outside: stopped, the claim holds until delete, which frees the processor", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await ok(f, ["start", "fw1"]);
  const { pid } = await status(f, "fw1");
  Deno.kill(pid, "SIGKILL");
  await waitForExit(pid);
  const after = await status(f, "fw1");
  assert.deepEqual([after.status, after.pid], ["stopped", 0]);
  // Until the container is deleted the processor still runs its firmware and stays reserved.
  const second = await f.cli(["create", "--bundle", await f.bundle(), "fw2"]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /remote processor dsp0 is already in use by container fw1/);
  await ok(f, ["delete", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "offline");
  await ok(f, ["create", "--bundle", await f.bundle(), "fw2"]);
  await ok(f, ["start", "fw2"]);
  await ok(f, ["delete", "--force", "fw2"]);
  await assertNothingLeft(f);
});

Deno.test("proxy killed before start: start refuses, delete cleans without touching the processor", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  const { pid } = await status(f, "fw1");
  Deno.kill(pid, "SIGKILL");
  await waitForExit(pid);
  assert.equal((await status(f, "fw1")).status, "stopped");
  const r = await f.cli(["start", "fw1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^cannot start a container that has stopped: fw1/);
  await ok(f, ["delete", "fw1"]);
  assert.deepEqual(f.sim.writes("dsp0"), []);
  await assertNothingLeft(f);
});

for (
  const [what, act, code] of [
    ["stops by itself", (f: Fixture) => f.sim.haltBySelf("dsp0"), EXIT.stoppedBySelf],
    ["crashes (recovery disabled)", (f: Fixture) => f.sim.crash("dsp0"), EXIT.crashed],
    ["is deleted by the kernel", (f: Fixture) => f.sim.setState("dsp0", "deleted"), EXIT.lost],
  ] as const
) {
  Deno.test(`the processor ${what}: the proxy notices within a few poll intervals and exits ${code}`, async () => {
    await using f = await makeFixture({ processors: [{ name: "dsp0", recovery: false }] });
    await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
    await ok(f, ["start", "fw1"]);
    const { pid } = await status(f, "fw1");
    await act(f);
    // The poll interval is 50 ms; the deadline is generous on purpose (a loaded machine), not a timing claim.
    await waitForExit(pid, 5_000);
    assert.equal(await proxyExitCode(f, "fw1"), code);
    assert.equal((await status(f, "fw1")).status, "stopped");
    await ok(f, ["delete", "fw1"]);
    // A processor the kernel deleted stays deleted; any other ends offline.
    assert.equal(await f.sim.state("dsp0"), code === EXIT.lost ? "deleted" : "offline");
    await assertNothingLeft(f);
  });
}

Deno.test("a proxy whose log reader is gone (a closed pipe) still boots, stops and reports", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  // create's standard output and error are pipes, closed here once create has returned: the proxy inherits
  // them, as it inherits an engine's log pipe, and every line it logs from then on meets EPIPE.
  const create = new Deno.Command(Deno.execPath(), {
    args: cliArgv(f, ["create", "--bundle", await f.bundle(), "fw1"]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  assert.equal((await create.status).code, 0);
  await create.stdout.cancel();
  await create.stderr.cancel();
  await ok(f, ["start", "fw1"]);
  const { pid, status: running } = await status(f, "fw1");
  assert.equal(running, "running");
  assert.equal(await f.sim.state("dsp0"), "running");
  await ok(f, ["kill", "fw1"]);
  assert.equal(
    await proxyExitCode(f, "fw1"),
    EXIT.stoppedOnRequest,
    "the proxy itself stopped the processor",
  );
  await waitForExit(pid);
  assert.equal(await f.sim.state("dsp0"), "offline");
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

Deno.test("recovery enabled but the processor never comes back: exit 4 after recoveryGraceMs, delete stops it", async () => {
  await using f = await makeFixture({
    processors: [{ name: "dsp0", recovery: true, recoveryDelayMs: 600_000 }],
  });
  const config = join(f.dir, "runtime.jsonc");
  await Deno.writeTextFile(config, '{\n  // a short grace for the test\n  "recoveryGraceMs": 300\n}\n');
  const globals = ["--config", config];
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"], globals);
  await ok(f, ["start", "fw1"], globals);
  const { pid } = await status(f, "fw1");
  await f.sim.crash("dsp0");
  assert.equal(await f.sim.state("dsp0"), "crashed");
  await waitForExit(pid, 10_000);
  assert.equal(await proxyExitCode(f, "fw1"), EXIT.crashed);
  assert.equal((await status(f, "fw1")).status, "stopped");
  assert.equal(await f.sim.state("dsp0"), "crashed", "the kernel had not recovered it");
  await ok(f, ["delete", "fw1"], globals);
  assert.equal(await f.sim.state("dsp0"), "offline", "delete recovers and stops the crashed processor");
  await assertNothingLeft(f);
});

/** Starts `sleep` (an unrelated process) and returns it; the caller ends it by its pid. */
function unrelatedProcess(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["600"], stdin: "null", stdout: "null", stderr: "null" }).spawn();
}

async function pointRecordAt(f: Fixture, id: string, pid: number, startTime: string): Promise<void> {
  for (const file of ["state.json", "proxy.json"]) {
    const path = join(f.root, id, file);
    const doc = JSON.parse(await Deno.readTextFile(path));
    if (file === "state.json") doc.proxy = { pid, startTime };
    else Object.assign(doc, { pid, startTime });
    await Deno.writeTextFile(path, JSON.stringify(doc));
  }
}

for (const phase of ["created", "running"] as const) {
  Deno.test(`PID reuse (${phase}): a record pointing at a live unrelated process reads stopped and is never signalled`, async () => {
    await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
    await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
    if (phase === "running") await ok(f, ["start", "fw1"]);
    const proxy = (await status(f, "fw1")).pid;
    Deno.kill(proxy, "SIGKILL");
    await waitForExit(proxy);
    const sleeper = unrelatedProcess();
    try {
      // The proxy's pid now belongs to another process: same pid, another start time.
      await pointRecordAt(f, "fw1", sleeper.pid, "1");
      assert.ok(await pidRunning(sleeper.pid));
      assert.deepEqual(
        [(await status(f, "fw1")).status, (await status(f, "fw1")).pid],
        ["stopped", 0],
      );
      for (const signal of ["TERM", "KILL", "INT"]) {
        const r = await f.cli(["kill", "fw1", signal]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /container not running/);
      }
      const start = await f.cli(["start", "fw1"]);
      assert.equal(start.code, 1);
      assert.match(start.stderr, /cannot start a container that has stopped/);
      assert.ok(await pidRunning(sleeper.pid), "the unrelated process was not signalled");
      await ok(f, ["delete", "--force", "fw1"]);
      assert.ok(await pidRunning(sleeper.pid), "delete --force did not signal it either");
      assert.equal(await f.sim.state("dsp0"), "offline");
      await assertNothingLeft(f);
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  });
}

Deno.test("a second create of an existing id fails and leaves the container, its proxy and no other", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "m4" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  const readyBefore = await Deno.readTextFile(join(f.root, "fw1", "proxy.json"));
  const [original] = await f.proxyPids();
  const again = await f.cli(["create", "--bundle", await f.bundle({ processor: "m4" }), "fw1"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /container with given ID already exists: fw1/);
  // The proxy the second create started saw a record it did not write, never reported ready, and is gone.
  assert.equal(await Deno.readTextFile(join(f.root, "fw1", "proxy.json")), readyBefore);
  assert.deepEqual(await f.proxyPids(), [original]);
  assert.deepEqual(f.sim.writes("m4"), []);
  await ok(f, ["start", "fw1"]);
  assert.equal((await status(f, "fw1")).status, "running");
  await ok(f, ["delete", "--force", "fw1"]);
  await assertNothingLeft(f);
});
