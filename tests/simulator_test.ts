import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type KernelView,
  react,
  type ReactContext,
  Simulator,
  type SimulatorOptions,
} from "../lib/simulator/simulator.ts";
import { waitFor } from "../lib/util/wait.ts";
import { tempDir } from "./helpers.ts";

const CLI = fileURLToPath(new URL("../lib/simulator/cli.ts", import.meta.url));
const CTX: ReactContext = { firmwareFound: true, failBoot: false, crashOnBoot: false, readOnly: false };

function startSim(
  dir: string,
  processors: SimulatorOptions["processors"],
  extra: Partial<SimulatorOptions> = {},
) {
  return Simulator.start({ dir, processors, ...extra });
}

/** Writes an attribute in place, as the runtime (root) does; a non-root test makes 0444 files writable first. */
async function writeAttr(sim: Simulator, name: string, attr: string, value: string): Promise<void> {
  const path = join(sim.processorDir(name), attr);
  try {
    await Deno.writeTextFile(path, value);
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    await Deno.chmod(path, 0o644);
    await Deno.writeTextFile(path, value);
  }
}

async function installFirmware(dir: string, name: string): Promise<void> {
  await Deno.mkdir(join(dir, name, ".."), { recursive: true });
  await Deno.writeTextFile(join(dir, name), "\x7fELF");
}

const view = (state: KernelView["state"], recovery = true): KernelView => ({
  state,
  firmware: "fw.elf",
  recovery,
});

Deno.test("react: state words follow kernel 5.19 rules", () => {
  const cases: [KernelView["state"], string, Partial<ReactContext>, string, string | undefined][] = [
    ["offline", "start", {}, "boot:running", undefined],
    ["offline", "start\n", {}, "boot:running", undefined],
    ["offline", "start", { firmwareFound: false }, "offline", "ENOENT"],
    ["offline", "start", { failBoot: true }, "boot:offline", undefined],
    ["offline", "start", { crashOnBoot: true }, "boot:crashed", undefined],
    ["running", "start", {}, "running", undefined],
    ["attached", "start", {}, "attached", undefined],
    ["detached", "start", {}, "attached", undefined],
    ["crashed", "start", {}, "crashed", undefined],
    ["deleted", "start", {}, "deleted", "ENODEV"],
    ["running", "stop", {}, "offline", undefined],
    ["attached", "stop", {}, "offline", undefined],
    ["crashed", "stop", {}, "crashed", "EINVAL"],
    ["offline", "stop", {}, "offline", "EINVAL"],
    ["attached", "detach", {}, "detached", undefined],
    ["running", "detach", {}, "running", "EINVAL"],
    ["offline", "START", {}, "offline", "EINVAL"],
    ["offline", "start\n\n", {}, "offline", "EINVAL"],
    ["offline", " start", {}, "offline", "EINVAL"],
    ["offline", "start", { readOnly: true }, "offline", "EACCES"],
  ];
  for (const [state, word, ctx, want, error] of cases) {
    const r = react(view(state), "state", word, { ...CTX, ...ctx });
    assert.equal(r.boot ? `boot:${r.boot}` : r.view.state, want, `${state} + ${JSON.stringify(word)}`);
    assert.equal(r.error, error, `${state} + ${JSON.stringify(word)}`);
  }
});

Deno.test("react: firmware is accepted only while offline, up to the first newline", () => {
  assert.equal(react(view("offline"), "firmware", "new.elf\nrest", CTX).view.firmware, "new.elf");
  for (const state of ["running", "crashed", "attached", "detached", "suspended"] as const) {
    const r = react(view(state), "firmware", "new.elf", CTX);
    assert.deepEqual([r.view.firmware, r.error], ["fw.elf", "EBUSY"], state);
  }
  assert.equal(react(view("offline"), "firmware", "\n", CTX).error, "EINVAL");
  assert.equal(
    react(view("offline"), "firmware", "new.elf", { ...CTX, readOnly: true }).view.firmware,
    "fw.elf",
  );
});

Deno.test("react: recovery words", () => {
  assert.equal(react(view("running"), "recovery", "disabled\n", CTX).view.recovery, false);
  assert.equal(react(view("running", false), "recovery", "enabled", CTX).view.recovery, true);
  assert.equal(react(view("running"), "recovery", "off", CTX).error, "EINVAL");
  assert.equal(react(view("crashed", false), "recovery", "recover", CTX).view.state, "running");
  assert.equal(
    react(view("crashed", false), "recovery", "recover", { ...CTX, firmwareFound: false }).error,
    "ENOENT",
  );
  assert.equal(react(view("offline"), "recovery", "recover", CTX).view.state, "offline");
});

Deno.test("tree layout and contents", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [
    { name: "dsp0" },
    { name: "m4", state: "running", firmware: "m4.elf", recovery: false },
  ]);
  const rp = join(tmp.path, "sys/class/remoteproc");
  assert.equal(sim.processorDir("m4"), join(rp, "remoteproc1"));
  assert.equal(sim.firmwareDir(), join(tmp.path, "lib/firmware"));
  const read = (p: string) => Deno.readTextFile(join(tmp.path, p));
  assert.deepEqual(
    await Promise.all(
      ["name", "state", "firmware", "recovery"].map((a) => read(`sys/class/remoteproc/remoteproc0/${a}`)),
    ),
    ["dsp0\n", "offline\n", "rproc-dsp0-fw\n", "enabled\n"],
  );
  assert.deepEqual(
    await Promise.all(
      ["name", "state", "firmware", "recovery"].map((a) => read(`sys/class/remoteproc/remoteproc1/${a}`)),
    ),
    ["m4\n", "running\n", "m4.elf\n", "disabled\n"],
  );
  assert.equal(await read("sys/module/firmware_class/parameters/path"), "\n");
  assert.deepEqual(await Array.fromAsync(Deno.readDir(join(tmp.path, "lib/firmware"))), []);
  assert.equal((await Deno.stat(join(rp, "remoteproc0/state"))).mode! & 0o777, 0o644);
  assert.equal((await Deno.stat(join(rp, "remoteproc0/name"))).mode! & 0o777, 0o444);
  assert.throws(() => sim.processorDir("nope"), /no simulated processor named "nope"/);
  assert.deepEqual(sim.writes("dsp0"), []);
});

Deno.test("start boots the firmware: running", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0" }, { name: "m4" }]);
  await installFirmware(sim.firmwareDir(), "hello.elf");
  await writeAttr(sim, "dsp0", "firmware", "hello.elf");
  await waitFor(() => sim.writes("dsp0").includes("firmware=hello.elf"), { timeoutMs: 2000 });
  await writeAttr(sim, "dsp0", "state", "start");
  await sim.waitForState("dsp0", "running");
  assert.equal(await sim.firmware("dsp0"), "hello.elf");
  assert.deepEqual(sim.writes("dsp0"), ["firmware=hello.elf", "state=start"]);
  assert.deepEqual(sim.writes("m4"), []);
  assert.equal(await sim.state("m4"), "offline");
});

Deno.test("start with missing firmware, or a '..' name, leaves the processor offline", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0" }, { name: "m4", firmware: "../m4.elf" }]);
  await installFirmware(tmp.path, "lib/m4.elf"); // reachable only through ".."
  for (const name of ["dsp0", "m4"]) {
    await writeAttr(sim, name, "state", "start");
    await sim.waitForState(name, "offline");
    assert.deepEqual(sim.writes(name), ["state=start"]);
  }
});

Deno.test("bootDelayMs: state reads start meanwhile, then running", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", bootDelayMs: 300 }]);
  await installFirmware(sim.firmwareDir(), "rproc-dsp0-fw");
  const started = performance.now();
  await writeAttr(sim, "dsp0", "state", "start");
  await waitFor(() => sim.writes("dsp0").includes("state=start"), { timeoutMs: 2000 });
  assert.equal(await sim.state("dsp0"), "start");
  await sim.waitForState("dsp0", "running");
  assert.ok(performance.now() - started >= 300, "running before bootDelayMs");
});

Deno.test("failBoot goes back to offline; crashOnBoot runs then crashes", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", failBoot: true, recovery: false }]);
  await installFirmware(sim.firmwareDir(), "rproc-dsp0-fw");
  await writeAttr(sim, "dsp0", "state", "start");
  await sim.waitForState("dsp0", "offline");
  sim.configure("dsp0", { failBoot: false, crashOnBoot: true });
  await writeAttr(sim, "dsp0", "state", "start");
  await sim.waitForState("dsp0", "crashed");
});

Deno.test("stop: running -> offline; stop while offline is refused", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", state: "running" }]);
  await writeAttr(sim, "dsp0", "state", "stop");
  await sim.waitForState("dsp0", "offline");
  await writeAttr(sim, "dsp0", "state", "stop");
  await sim.waitForState("dsp0", "offline");
  assert.deepEqual(sim.writes("dsp0"), ["state=stop", "state=stop"]);
});

Deno.test("stop while crashed is refused; the state reads crashed again", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", state: "crashed", recovery: false }]);
  await writeAttr(sim, "dsp0", "state", "stop");
  await sim.waitForState("dsp0", "crashed");
  assert.deepEqual(sim.writes("dsp0"), ["state=stop"]);
});

Deno.test("firmware write is refused while running, accepted while offline", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", state: "running", firmware: "old.elf" }]);
  await writeAttr(sim, "dsp0", "firmware", "new.elf");
  await waitFor(async () => (await sim.firmware("dsp0")) === "old.elf", { timeoutMs: 2000, what: "restore" });
  await sim.haltBySelf("dsp0");
  assert.equal(await sim.state("dsp0"), "offline");
  await writeAttr(sim, "dsp0", "firmware", "new.elf\n");
  await waitFor(() => sim.writes("dsp0").length === 2, { timeoutMs: 2000 });
  assert.equal(await sim.firmware("dsp0"), "new.elf");
  assert.deepEqual(sim.writes("dsp0"), ["firmware=new.elf", "firmware=new.elf"]);
});

Deno.test("crash with recovery enabled: crashed, then running again", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", state: "running", recoveryDelayMs: 200 }]);
  await installFirmware(sim.firmwareDir(), "rproc-dsp0-fw");
  await sim.crash("dsp0");
  assert.equal(await sim.state("dsp0"), "crashed");
  await sim.waitForState("dsp0", "running");
});

Deno.test("crash with recovery enabled but the firmware gone stays crashed", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", state: "running", recoveryDelayMs: 0 }]);
  await sim.crash("dsp0");
  // A refused stop proves the loop has run past the recovery deadline.
  await writeAttr(sim, "dsp0", "state", "stop");
  await sim.waitForState("dsp0", "crashed");
});

Deno.test("crash with recovery disabled stays crashed; recover brings it back", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{
    name: "dsp0",
    state: "running",
    recovery: false,
    recoveryDelayMs: 0,
  }]);
  await installFirmware(sim.firmwareDir(), "rproc-dsp0-fw");
  await sim.crash("dsp0");
  await writeAttr(sim, "dsp0", "state", "start"); // a no-op while crashed
  await sim.waitForState("dsp0", "crashed");
  await writeAttr(sim, "dsp0", "recovery", "recover");
  await sim.waitForState("dsp0", "running");
  assert.equal(await Deno.readTextFile(join(sim.processorDir("dsp0"), "recovery")), "disabled\n");
});

Deno.test("the custom firmware path is searched first, then lib/firmware/updates", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using custom = await tempDir("rproc-sim-");
  const fwDir = join(custom.path, "fw");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", firmware: "vendor/a.elf" }, { name: "m4" }], {
    customFirmwarePath: fwDir,
  });
  assert.equal(sim.firmwareDir(), fwDir);
  assert.equal(
    await Deno.readTextFile(join(tmp.path, "sys/module/firmware_class/parameters/path")),
    `${fwDir}\n`,
  );
  await installFirmware(fwDir, "vendor/a.elf");
  await installFirmware(join(tmp.path, "lib/firmware/updates"), "rproc-m4-fw");
  for (const name of ["dsp0", "m4"]) {
    await writeAttr(sim, name, "state", "start");
    await sim.waitForState(name, "running");
  }
});

Deno.test("readOnly: 0444 files, every write refused and the mode kept", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", readOnly: true }]);
  await installFirmware(sim.firmwareDir(), "rproc-dsp0-fw");
  await installFirmware(sim.firmwareDir(), "other.elf");
  const dir = sim.processorDir("dsp0");
  for (const attr of ["firmware", "state", "recovery"]) {
    assert.equal((await Deno.stat(join(dir, attr))).mode! & 0o777, 0o444, attr);
  }
  await writeAttr(sim, "dsp0", "firmware", "other.elf");
  await waitFor(async () => (await sim.firmware("dsp0")) === "rproc-dsp0-fw", { timeoutMs: 2000 });
  await writeAttr(sim, "dsp0", "state", "start");
  await sim.waitForState("dsp0", "offline");
  assert.deepEqual(sim.writes("dsp0"), ["firmware=other.elf", "state=start"]);
  for (const attr of ["firmware", "state"]) {
    assert.equal((await Deno.stat(join(dir, attr))).mode! & 0o777, 0o444, attr);
  }
});

Deno.test("attached: firmware reads unknown; detach, start attaches again, stop", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0", state: "attached", firmware: "boot.elf" }]);
  assert.equal(await sim.firmware("dsp0"), "unknown");
  await writeAttr(sim, "dsp0", "state", "detach");
  await sim.waitForState("dsp0", "detached");
  await writeAttr(sim, "dsp0", "state", "detach");
  await sim.waitForState("dsp0", "detached");
  await writeAttr(sim, "dsp0", "state", "start");
  await sim.waitForState("dsp0", "attached");
  await writeAttr(sim, "dsp0", "state", "stop");
  await sim.waitForState("dsp0", "offline");
  assert.equal(await sim.firmware("dsp0"), "boot.elf");
  assert.deepEqual(sim.writes("dsp0"), ["state=detach", "state=detach", "state=start", "state=stop"]);
});

Deno.test("setState forces any state", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(tmp.path, [{ name: "dsp0" }]);
  await sim.setState("dsp0", "suspended");
  assert.equal(await sim.state("dsp0"), "suspended");
  await writeAttr(sim, "dsp0", "state", "start");
  await sim.waitForState("dsp0", "suspended");
});

Deno.test("without its loop: answer() handles the writes it is told of and the timers due", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await using sim = await startSim(
    tmp.path,
    [{ name: "dsp0", bootDelayMs: 50 }, { name: "m4" }],
    { loop: false },
  );
  await installFirmware(sim.firmwareDir(), "rproc-dsp0-fw");
  await installFirmware(sim.firmwareDir(), "rproc-m4-fw");
  await writeAttr(sim, "dsp0", "state", "start");
  await writeAttr(sim, "m4", "state", "start");
  // No loop: nothing reacts until answer() is called, and then only for the directories it is given.
  assert.deepEqual(sim.writes("dsp0"), []);
  assert.equal(sim.answer([]), 100, "no timer pending: the idle step");
  assert.deepEqual(sim.writes("dsp0"), []);
  const due = sim.answer([sim.processorDir("dsp0")]);
  assert.deepEqual(sim.writes("dsp0"), ["state=start"]);
  assert.deepEqual(sim.writes("m4"), [], "m4 was not named");
  assert.equal(await sim.state("dsp0"), "start");
  assert.ok(due > 0 && due <= 50, `the boot is due in ${due} ms`);
  // The boot delay passes: an answer() naming nothing fires it, and no timer is left.
  await waitFor(() => sim.answer([]) === 100, { timeoutMs: 2000, intervalMs: 5, what: "the boot to fire" });
  assert.equal(await sim.state("dsp0"), "running");
  assert.equal(await sim.state("m4"), "start");
  sim.answer([sim.processorDir("m4")]);
  assert.equal(await sim.state("m4"), "running");
  // The other actions work the same without a loop.
  await sim.crash("m4");
  assert.equal(await sim.state("m4"), "crashed");
  // A simulator with its own loop refuses: both would step the same processors.
  await using looping = await startSim(join(tmp.path, "looping"), [{ name: "dsp0" }]);
  assert.throws(() => looping.answer([]), /answer\(\) is for a simulator started with loop: false/);
});

Deno.test("cli: prints its line, reacts, ends on SIGTERM", async () => {
  await using tmp = await tempDir("rproc-sim-");
  await installFirmware(join(tmp.path, "lib/firmware"), "rproc-dsp0-fw");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--dir", tmp.path, "--processor", "dsp0", "--processor", "m4:running"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  try {
    await waitFor(() => out.includes("\n"), { timeoutMs: 20_000, what: "the cli's first line" });
    assert.equal(out, `simulating 2 processors under ${tmp.path}\n`);
    await Deno.writeTextFile(join(tmp.path, "sys/class/remoteproc/remoteproc0/state"), "start");
    await waitFor(() => out.includes("dsp0: start -> running\n"), {
      timeoutMs: 5000,
      what: "the reaction line",
    });
  } finally {
    Deno.kill(child.pid, "SIGTERM");
  }
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text(), reading]);
  assert.equal(stderr, "");
  assert.equal(status.code, 0);
  assert.equal(status.signal, null);
});

Deno.test("cli: a bad flag is one line on stderr and exit code 1", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--dir", "/nonexistent", "--processor", "dsp0:on"],
  }).output();
  assert.equal(code, 1);
  assert.equal(new TextDecoder().decode(stdout), "");
  assert.match(
    new TextDecoder().decode(stderr),
    /^simulator: unknown state "on" in --processor dsp0:on[^\n]*\n$/,
  );
});
