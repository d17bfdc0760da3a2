import assert from "node:assert/strict";
import { isKernelState, KERNEL_STATES, processorCondition } from "../lib/remoteproc/kernel_state.ts";
import { deriveStatus, type StatusFacts } from "../lib/runtime/status.ts";
import { join } from "node:path";
import { DEFAULT_TIMINGS } from "../lib/config/settings.ts";
import { processStartTime } from "../lib/process/proc.ts";
import { loadContainer } from "../lib/runtime/container.ts";
import type { RuntimeContext } from "../lib/runtime/context.ts";
import { tempDir } from "./helpers.ts";

/** A container whose proxy is alive and whose start was requested, on a running processor. */
function facts(change: Partial<StatusFacts> = {}): StatusFacts {
  return {
    creatorAlive: false,
    proxyRecorded: true,
    proxyAlive: true,
    startRequested: true,
    processorState: "running",
    ...change,
  };
}

Deno.test("processorCondition classifies all eight kernel states", () => {
  const expected: Record<string, string> = {
    offline: "idle",
    suspended: "active",
    running: "active",
    crashed: "crashed",
    deleted: "gone",
    attached: "active",
    detached: "idle",
    invalid: "gone",
  };
  assert.deepEqual([...KERNEL_STATES].sort(), Object.keys(expected).sort());
  for (const state of KERNEL_STATES) assert.equal(processorCondition(state), expected[state], state);
});

Deno.test("processorCondition calls unknown or malformed strings unknown", () => {
  for (const s of ["", "booting", "RUNNING", "running\n", " running", "start", "stop", "offline "]) {
    assert.equal(processorCondition(s), "unknown", JSON.stringify(s));
  }
});

Deno.test("isKernelState accepts the eight strings and nothing else", () => {
  for (const s of KERNEL_STATES) assert.equal(isKernelState(s), true, s);
  for (const s of ["", "Running", "start", "unknown", "offline\n"]) assert.equal(isKernelState(s), false, s);
});

Deno.test("deriveStatus: no proxy yet and the creator alive is creating", () => {
  for (const processorState of [undefined, "offline", "running"]) {
    assert.equal(
      deriveStatus(
        facts({
          proxyRecorded: false,
          proxyAlive: false,
          creatorAlive: true,
          startRequested: false,
          processorState,
        }),
      ),
      "creating",
    );
  }
});

Deno.test("deriveStatus: no proxy and a dead creator (a crashed create) is stopped", () => {
  assert.equal(
    deriveStatus(
      facts({ proxyRecorded: false, proxyAlive: false, creatorAlive: false, startRequested: false }),
    ),
    "stopped",
  );
  // Even if something left a start request behind.
  assert.equal(
    deriveStatus(
      facts({ proxyRecorded: false, proxyAlive: false, creatorAlive: false, startRequested: true }),
    ),
    "stopped",
  );
});

Deno.test("deriveStatus: a recorded proxy that died is stopped, whatever the processor says", () => {
  for (const startRequested of [false, true]) {
    for (const processorState of [undefined, ...KERNEL_STATES, "weird"]) {
      for (const creatorAlive of [false, true]) {
        assert.equal(
          deriveStatus(facts({ proxyAlive: false, startRequested, processorState, creatorAlive })),
          "stopped",
          `${startRequested} ${processorState} ${creatorAlive}`,
        );
      }
    }
  }
});

Deno.test("deriveStatus: a live proxy before start is created, whatever the processor says", () => {
  for (const processorState of [undefined, ...KERNEL_STATES]) {
    assert.equal(deriveStatus(facts({ startRequested: false, processorState })), "created", processorState);
  }
  // The creator still running (create has not returned yet) does not matter once the proxy is recorded.
  assert.equal(deriveStatus(facts({ startRequested: false, creatorAlive: true })), "created");
});

Deno.test("deriveStatus: a live proxy after start on an active processor is running", () => {
  for (const processorState of ["running", "attached", "suspended"]) {
    assert.equal(deriveStatus(facts({ processorState })), "running", processorState);
  }
});

Deno.test("deriveStatus: a pod sandbox (no processor) with a live started proxy is running", () => {
  assert.equal(deriveStatus(facts({ processorState: undefined })), "running");
});

Deno.test("deriveStatus: started but the processor still offline (booting) is running", () => {
  // The proxy is booting it; the proxy itself exits when the boot fails.
  assert.equal(deriveStatus(facts({ processorState: "offline" })), "running");
});

Deno.test("deriveStatus: a crashed processor makes a running container stopped", () => {
  assert.equal(deriveStatus(facts({ processorState: "crashed" })), "stopped");
});

Deno.test("deriveStatus: a deleted or invalid processor makes a running container stopped", () => {
  for (const processorState of ["deleted", "invalid"]) {
    assert.equal(deriveStatus(facts({ processorState })), "stopped", processorState);
  }
});

Deno.test({
  name: "deriveStatus: an unknown kernel state string is not running",
  fn() {
    for (const processorState of ["some-future-state", "RUNNING"]) {
      assert.equal(deriveStatus(facts({ processorState })), "stopped", processorState);
    }
  },
});

Deno.test("deriveStatus: a start that died before the proxy reported a boot leaves the container created", () => {
  assert.equal(deriveStatus(facts({ startAbandoned: true, processorState: "offline" })), "created");
  assert.equal(deriveStatus(facts({ startAbandoned: false, processorState: "offline" })), "running");
  assert.equal(deriveStatus(facts({ startAbandoned: true, proxyAlive: false })), "stopped");
});

Deno.test("deriveStatus: a proxy that reported its exit is stopped while its process is still ending", () => {
  assert.equal(deriveStatus(facts()), "running", "the same facts without the report");
  assert.equal(deriveStatus(facts({ exitReported: true })), "stopped");
  assert.equal(deriveStatus(facts({ exitReported: true, startRequested: false })), "stopped");
  assert.equal(deriveStatus(facts({ exitReported: true, processorState: "offline" })), "stopped");
});

Deno.test("deriveStatus: a processor idle after the proxy reported its boot is stopped (kill stopped it)", () => {
  for (const processorState of ["offline", "detached"]) {
    assert.equal(deriveStatus(facts({ booted: true, processorState })), "stopped", processorState);
    // Not yet booted: the proxy is booting it.
    assert.equal(deriveStatus(facts({ booted: false, processorState })), "running", processorState);
  }
  assert.equal(deriveStatus(facts({ booted: true })), "running", "still running");
  // A fake tree's word, not yet answered, is no stop.
  assert.equal(deriveStatus(facts({ booted: true, processorState: "stop" })), "running");
});

Deno.test("loadContainer: the proxy is ending once it reported its exit or its processor went idle after the boot", async () => {
  await using tmp = await tempDir("unit-status-");
  const processorDir = join(tmp.path, "remoteproc0");
  const dir = join(tmp.path, "state", "fw1");
  await Deno.mkdir(processorDir);
  await Deno.mkdir(dir, { recursive: true });
  // This test process stands for the proxy: alive whatever the files say.
  const self = { pid: Deno.pid, startTime: processStartTime(Deno.pid)! };
  const record = {
    id: "fw1",
    creator: self,
    proxy: self,
    processor: { name: "dsp0", dir: processorDir },
    firmware: { path: "/nonexistent/fw", name: "fw", source: "fw" },
    timings: DEFAULT_TIMINGS,
  };
  await Deno.writeTextFile(join(dir, "state.json"), JSON.stringify(record));
  await Deno.writeTextFile(join(dir, "start-requested"), JSON.stringify({ at: "", by: self }));
  const ctx = { root: join(tmp.path, "state") } as RuntimeContext;
  const look = async (processorState: string, files: Record<string, unknown> = {}) => {
    await Deno.writeTextFile(join(processorDir, "state"), `${processorState}\n`);
    for (const [name, value] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), JSON.stringify(value));
    }
    const c = loadContainer(ctx, "fw1");
    return { status: c.status, ending: c.ending, booted: c.booted };
  };
  assert.deepEqual(await look("offline"), { status: "running", ending: false, booted: false }, "booting");
  const booted = { "boot.json": { ok: true, message: "running" } };
  assert.deepEqual(await look("running", booted), { status: "running", ending: false, booted: true });
  assert.deepEqual(
    await look("offline"),
    { status: "stopped", ending: true, booted: true },
    "stopped by kill",
  );
  assert.deepEqual(await look("crashed"), { status: "stopped", ending: false, booted: true }, "crashed");
  const exited = { "exit.json": { code: 4, at: "" } };
  assert.deepEqual(
    await look("crashed", exited),
    { status: "stopped", ending: true, booted: true },
    "reported",
  );
});
