/**
 * Guarantee 8: after a reboot the state root is stale (proxies gone, processors offline) or gone (tmpfs):
 * `list` and `state` report stale containers as stopped, and `delete` cleans them.
 */
import assert from "node:assert/strict";
import { assertNothingLeft, type Fixture, makeFixture, storedCopies, waitForExit } from "./helpers.ts";

async function ok(f: Fixture, args: string[]): Promise<string> {
  const r = await f.cli(args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stderr, "");
  return r.stdout;
}

/** A reboot as the state root sees it: every proxy gone, every processor offline. */
async function reboot(f: Fixture, processors: string[]): Promise<void> {
  for (const pid of await f.proxyPids()) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
    await waitForExit(pid);
  }
  for (const p of processors) await f.sim.setState(p, "offline");
  for (const p of processors) await f.sim.waitForState(p, "offline");
}

Deno.test("after a reboot with a stale state root: list and state say stopped, delete cleans", async () => {
  await using f = await makeFixture({ processors: [{ name: "p0" }, { name: "p1" }] });
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "p0" }), "running1"]);
  await ok(f, ["start", "running1"]);
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "p1" }), "created1"]);
  await reboot(f, ["p0", "p1"]);

  const listed = JSON.parse(await ok(f, ["list", "--format", "json"])) as {
    id: string;
    status: string;
    pid: number;
  }[];
  assert.deepEqual(listed.map((s) => [s.id, s.status, s.pid]), [["created1", "stopped", 0], [
    "running1",
    "stopped",
    0,
  ]]);
  for (const id of ["running1", "created1"]) {
    const s = JSON.parse(await ok(f, ["state", id]));
    assert.equal(s.status, "stopped");
    assert.equal(s.pid, 0);
    const k = await f.cli(["kill", id, "KILL"]);
    assert.equal(k.code, 1);
    assert.match(k.stderr, /container not running/);
  }
  // Stopped containers are deleted without --force, as engines do after a reboot.
  await ok(f, ["delete", "running1"]);
  await ok(f, ["delete", "created1"]);
  assert.equal(await f.sim.state("p0"), "offline");
  assert.equal(await f.sim.state("p1"), "offline");
  await assertNothingLeft(f);
  // The processors are free again.
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "p0" }), "again"]);
  await ok(f, ["start", "again"]);
  await ok(f, ["delete", "--force", "again"]);
  await assertNothingLeft(f);
});

Deno.test("after a reboot with the state root gone (tmpfs): unknown ids delete silently, processors are free", async () => {
  await using f = await makeFixture({ processors: [{ name: "p0" }] });
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "p0" }), "fw1"]);
  await ok(f, ["start", "fw1"]);
  await reboot(f, ["p0"]);
  await Deno.remove(f.root, { recursive: true });
  assert.equal(await ok(f, ["list", "--quiet"]), "");
  const s = await f.cli(["state", "fw1"]);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /^container fw1 does not exist$/m);
  assert.equal(await ok(f, ["delete", "--force", "fw1"]), "");
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "p0" }), "fw1"]);
  await ok(f, ["start", "fw1"]);
  await ok(f, ["delete", "--force", "fw1"]);
  // The copy made before the reboot is still in the firmware directory, and its ledger entry (kept beside it)
  // proves it ours: cleanup removes it.
  assert.equal((await storedCopies(f)).length, 1);
  const cleaned = await f.cli(["cleanup"]);
  assert.equal(cleaned.code, 0, cleaned.stderr);
  assert.equal(cleaned.stdout.trim().split("\n").length, 1);
  await assertNothingLeft(f);
});
