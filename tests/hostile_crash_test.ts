/**
 * Guarantee 4: crash-consistency. The runtime is killed with SIGKILL at every named step of create, start,
 * kill and delete (the REMOTEPROC_RUNTIME_CRASH_AT test hook, lib/util/crash_point.ts). Afterwards `state`
 * tells the truth and `delete --force` returns the system to clean. Orphaned firmware copies are removed by
 * cleanupOrphans.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_TIMINGS } from "../lib/config/settings.ts";
import { currentSelfExecInfo, selfCommand } from "../lib/process/self_exec.ts";
import { cleanupOrphans } from "../lib/runtime/cleanup.ts";
import type { RuntimeContext } from "../lib/runtime/context.ts";
import { CRASH_AT_ENV } from "../lib/util/crash_point.ts";
import { waitFor } from "../lib/util/wait.ts";
import {
  assertNothingLeft,
  envWith,
  type Fixture,
  ledgerDir,
  listDir,
  makeFixture,
  pidRunning,
  proxiesUnder,
  proxyCreateArgs,
  storedCopies,
} from "./helpers.ts";

/** SIGKILL as a shell-style exit status: the crash point was reached. */
const KILLED = 128 + 9;

async function ok(f: Fixture, args: string[]): Promise<void> {
  const r = await f.cli(args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
}

async function crashAt(f: Fixture, step: string, args: string[]): Promise<void> {
  const r = await f.cli(args, { env: envWith({ [CRASH_AT_ENV]: step }) });
  assert.equal(r.code, KILLED, `${args.join(" ")} should die at ${step}; code ${r.code}, stderr ${r.stderr}`);
}

/** `state` after the crash: "does not exist", or a valid state whose pid agrees with its status. */
async function truthfulState(f: Fixture, id: string): Promise<string> {
  const r = await f.cli(["state", id]);
  if (r.code === 1) {
    assert.match(r.stderr, /^container \S+ does not exist\n$/);
    return "gone";
  }
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const s = JSON.parse(r.stdout);
  assert.equal(s.id, id);
  assert.ok(["creating", "created", "running", "stopped"].includes(s.status), `status ${s.status}`);
  if (s.status === "stopped") assert.equal(s.pid, 0);
  else assert.ok(s.pid > 0 && await pidRunning(s.pid), `a ${s.status} container names a live pid`);
  return s.status;
}

async function assertCleanAfterForce(f: Fixture, id: string, step: string): Promise<void> {
  const r = await f.cli(["delete", "--force", id]);
  assert.equal(r.code, 0, `delete --force after ${step}: ${r.stderr}`);
  assert.equal(r.stderr, "");
  assert.equal(await f.sim.state("dsp0"), "offline", `processor offline after ${step}`);
  await assertNothingLeft(f, step);
  // The processor is free again: another container can take it and run.
  await ok(f, ["create", "--bundle", await f.bundle(), "next"]);
  await ok(f, ["start", "next"]);
  assert.equal(await f.sim.state("dsp0"), "running");
  await ok(f, ["delete", "--force", "next"]);
  await assertNothingLeft(f, `${step}, after the next container`);
}

interface CrashCase {
  step: string;
  /** What runs before the crashing command. */
  before: string[][];
  /** The command that crashes. */
  command: string[];
  /** The statuses `state` may truthfully report right after the crash. */
  statuses: string[];
}

const CASES: CrashCase[] = [
  ...["after-dir", "after-record", "after-claim", "after-firmware", "after-proxy"].map((s) => ({
    step: `create:${s}`,
    before: [],
    command: ["create", "--bundle", "{bundle}", "fw1"],
    // create never finished: a failed create reads stopped (runc shows the same) until deleted.
    statuses: ["stopped"],
  })),
  {
    step: "create:after-final-record",
    before: [],
    command: ["create", "--bundle", "{bundle}", "fw1"],
    statuses: ["created"],
  },
  {
    step: "start:before-request",
    before: [["create", "--bundle", "{bundle}", "fw1"]],
    command: ["start", "fw1"],
    // The start died before writing its request, so nothing booted: the container is still created.
    statuses: ["created"],
  },
  {
    step: "start:after-request",
    before: [["create", "--bundle", "{bundle}", "fw1"]],
    command: ["start", "fw1"],
    // The proxy saw the request and boots on its own: created until it reports the boot, then running.
    statuses: ["created", "running"],
  },
  {
    step: "kill:after-request",
    before: [["create", "--bundle", "{bundle}", "fw1"], ["start", "fw1"]],
    command: ["kill", "fw1", "TERM"],
    // The proxy saw the stop request and stops the processor on its own; it may not be done yet.
    statuses: ["running", "stopped"],
  },
  {
    step: "kill:after-signal",
    before: [["create", "--bundle", "{bundle}", "fw1"], ["start", "fw1"]],
    command: ["kill", "fw1", "KILL"],
    statuses: ["stopped"],
  },
  ...["after-proxy-killed", "after-processor-stopped", "after-firmware-removed", "after-claim-released"].map((
    s,
  ) => ({
    step: `delete:${s}`,
    before: [["create", "--bundle", "{bundle}", "fw1"], ["start", "fw1"]],
    command: ["delete", "--force", "fw1"],
    statuses: ["stopped"],
  })),
];

for (const c of CASES) {
  const label = c.command[0] === "kill" ? `${c.step} (kill ${c.command[2]})` : c.step;
  Deno.test(`crash at ${label}: state tells the truth, delete --force cleans`, async () => {
    await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
    const bundle = await f.bundle();
    const fill = (args: string[]) => args.map((a) => a === "{bundle}" ? bundle : a);
    for (const args of c.before) await ok(f, fill(args));
    await crashAt(f, c.step, fill(c.command));
    const status = await truthfulState(f, "fw1");
    assert.ok(c.statuses.includes(status), `after ${c.step} state reads ${status}; expected ${c.statuses}`);
    // Reading the state again changes nothing (no repair on read, no flapping).
    // (created may still become running: a proxy that got the start signal finishes its boot on its own.)
    if (status !== "running") {
      const again = await truthfulState(f, "fw1");
      assert.ok(again === status || (status === "created" && again === "running"), `${status} then ${again}`);
    }
    await assertCleanAfterForce(f, "fw1", c.step);
  });
}

Deno.test("crash points: an unknown step name changes nothing", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const r = await f.cli(["create", "--bundle", await f.bundle(), "fw1"], {
    env: envWith({ [CRASH_AT_ENV]: "create:no-such-step" }),
  });
  assert.equal(r.code, 0, r.stderr);
  await ok(f, ["delete", "fw1"]);
  await assertNothingLeft(f);
});

function context(f: Fixture): RuntimeContext {
  return {
    root: f.root,
    hostRoot: f.host,
    timings: DEFAULT_TIMINGS,
    self: selfCommand(currentSelfExecInfo()),
    cwd: f.dir,
  };
}

/**
 * Waits (with a deadline) until the proxy the crashed create of `id` had started has ended by itself: nobody
 * can delete a container whose directory was removed by hand, so its proxy must notice (its directory is
 * gone, or its create died before it was up) and exit.
 */
async function proxyEndsOnItsOwn(f: Fixture, id: string): Promise<void> {
  const ours = async () => {
    const found: number[] = [];
    for (const pid of await proxiesUnder(f)) {
      if ((await proxyCreateArgs(pid))?.at(-1) === id) found.push(pid);
    }
    return found;
  };
  await waitFor(async () => (await ours()).length === 0, {
    timeoutMs: 10_000,
    what: `the proxy of the crashed create of ${id} to end on its own`,
  });
}

Deno.test("cleanupOrphans: a copy whose container directory was lost is removed; live copies stay", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "m4" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "live"]);
  await crashAt(f, "create:after-firmware", [
    "create",
    "--bundle",
    await f.bundle({ processor: "m4" }),
    "lost",
  ]);
  const liveCopy = (await storedCopies(f)).length;
  assert.equal(liveCopy, 2);
  // The engine (or a person) removes the crashed container's directory by hand: its copy is orphaned.
  await Deno.remove(join(f.root, "lost"), { recursive: true });
  await proxyEndsOnItsOwn(f, "lost");
  const report = await cleanupOrphans(context(f));
  assert.equal(report.removed.length, 1);
  assert.match(report.removed[0], /hello\.elf-\d{13}-[0-9a-f]{8}$/);
  assert.equal(report.kept, 1);
  assert.equal((await storedCopies(f)).length, 1);
  assert.equal((await listDir(ledgerDir(f))).length, 1);
  // Running it again finds nothing more to do.
  assert.deepEqual((await cleanupOrphans(context(f))).removed, []);
  // The stale claim of the lost container does not block m4.
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "m4" }), "again"]);
  await ok(f, ["delete", "--force", "again"]);
  await ok(f, ["delete", "--force", "live"]);
  await assertNothingLeft(f);
});

Deno.test("cleanupOrphans: copies interrupted before their record was written are removed with the record gone", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await crashAt(f, "create:after-firmware", ["create", "--bundle", await f.bundle(), "fw1"]);
  // While the container directory exists, its copy is referenced and kept.
  assert.deepEqual((await cleanupOrphans(context(f))).removed, []);
  assert.equal((await storedCopies(f)).length, 1);
  // The proxy of the crashed create still adopts the record (it was sent its line first) and writes its ready
  // report into the directory; removed before that write, the directory could gain a file as it is emptied.
  await waitFor(() => Deno.stat(join(f.root, "fw1", "proxy.json")).then(() => true, () => false), {
    timeoutMs: 10_000,
    what: "the crashed create's proxy to report ready",
  });
  await Deno.remove(join(f.root, "fw1"), { recursive: true });
  await proxyEndsOnItsOwn(f, "fw1");
  // A temp file of an interrupted copy goes too.
  const [copy] = await storedCopies(f);
  await Deno.writeTextFile(join(f.sim.firmwareDir(), `.${copy}.tmp`), "partial");
  assert.equal((await cleanupOrphans(context(f))).removed.length, 1);
  assert.deepEqual(await storedCopies(f), []);
  await Deno.remove(join(f.root, ".claims"), { recursive: true });
  await assertNothingLeft(f);
});

Deno.test("cleanupOrphans: files the ledger does not name, or names wrongly, are never touched", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const fwDir = f.sim.firmwareDir();
  // A user's own file that happens to look like a stored copy.
  const lookalike = join(fwDir, "vendor.elf-1764400000000-deadbeef");
  await Deno.writeTextFile(lookalike, "user firmware");
  // A tampered ledger entry pointing at another file.
  const victim = join(f.dir, "precious.bin");
  await Deno.writeTextFile(victim, "precious");
  await Deno.mkdir(ledgerDir(f), { recursive: true });
  await Deno.writeTextFile(
    join(ledgerDir(f), "hello.elf-1764400000000-0badf00d"),
    JSON.stringify({ root: f.root, id: "ghost", path: victim }),
  );
  await Deno.writeTextFile(
    join(ledgerDir(f), "not-a-copy-name"),
    JSON.stringify({ root: f.root, id: "x", path: victim }),
  );
  // An entry whose name matches but whose path is in another directory.
  await Deno.writeTextFile(
    join(ledgerDir(f), "precious.bin-1764400000000-0badf00d"),
    JSON.stringify({ root: f.root, id: "ghost", path: join(f.dir, "precious.bin-1764400000000-0badf00d") }),
  );
  await Deno.writeTextFile(join(f.dir, "precious.bin-1764400000000-0badf00d"), "precious too");
  assert.deepEqual((await cleanupOrphans(context(f))).removed, []);
  assert.equal(await Deno.readTextFile(lookalike), "user firmware");
  assert.equal(await Deno.readTextFile(victim), "precious");
  assert.equal(await Deno.readTextFile(join(f.dir, "precious.bin-1764400000000-0badf00d")), "precious too");
});

Deno.test("a start that died before writing its request can simply be retried", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "fw1"]);
  await crashAt(f, "start:before-request", ["start", "fw1"]);
  assert.equal(await truthfulState(f, "fw1"), "created");
  assert.equal(await f.sim.state("dsp0"), "offline");
  await ok(f, ["start", "fw1"]);
  assert.equal(await f.sim.state("dsp0"), "running");
  assert.equal(await truthfulState(f, "fw1"), "running");
  await assertCleanAfterForce(f, "fw1", "start:before-request retried");
});

Deno.test("the cleanup command removes a copy whose container directory was lost, and only that", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }, { name: "m4" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "lost"]);
  await ok(f, ["create", "--bundle", await f.bundle({ processor: "m4" }), "kept"]);
  const copies = await storedCopies(f);
  assert.equal(copies.length, 2);
  const lostPid = JSON.parse(await Deno.readTextFile(join(f.root, "lost", "proxy.json"))).pid;
  Deno.kill(lostPid, "SIGKILL");
  await Deno.remove(join(f.root, "lost"), { recursive: true });
  const first = await f.cli(["cleanup"]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, "");
  const removed = first.stdout.trim().split("\n");
  assert.equal(removed.length, 1);
  assert.match(removed[0], /^removed \/.*\/hello\.elf-\d{13}-[0-9a-f]{8}$/);
  assert.equal((await storedCopies(f)).length, 1);
  assert.deepEqual(await f.cli(["cleanup"]), { code: 0, stdout: "", stderr: "" });
  await ok(f, ["delete", "kept"]);
  assert.deepEqual(await storedCopies(f), []);
});

Deno.test("after a reboot wiped the state root, cleanup still finds and removes the old firmware copies", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  await ok(f, ["create", "--bundle", await f.bundle(), "before-reboot"]);
  await ok(f, ["start", "before-reboot"]);
  // The reboot: the proxy and the tmpfs state root are gone, the processor is reset, the firmware stays.
  for (const pid of await f.proxyPids()) Deno.kill(pid, "SIGKILL");
  await waitFor(async () => (await proxiesUnder(f)).length === 0, {
    timeoutMs: 10_000,
    what: "the proxy to die",
  });
  await Deno.remove(f.root, { recursive: true });
  await f.sim.setState("dsp0", "offline");
  assert.equal((await storedCopies(f)).length, 1);
  const r = await f.cli(["cleanup"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^removed \/.*\/hello\.elf-\d{13}-[0-9a-f]{8}\n$/);
  await assertNothingLeft(f);
});
