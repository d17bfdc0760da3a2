import assert from "node:assert/strict";
import {
  EXIT,
  INITIAL_STATE,
  type ProxyAction,
  type ProxyEvent,
  type ProxyState,
  START_SIGNAL,
  transition,
} from "../lib/proxy/machine.ts";

const USR1: ProxyEvent = { type: "signal", signal: START_SIGNAL };
const TERM: ProxyEvent = { type: "signal", signal: "SIGTERM" };
const INT: ProxyEvent = { type: "signal", signal: "SIGINT" };
const BOOTED: ProxyEvent = { type: "booted" };
const STOPPED: ProxyEvent = { type: "stopped" };
const polled = (state: string, recovery = false): ProxyEvent => ({ type: "polled", state, recovery });

/** Feeds `events` to the machine from `start`; returns the final state and the actions of every step. */
function run(events: ProxyEvent[], start: ProxyState = INITIAL_STATE) {
  let state = start;
  const steps: ProxyAction[][] = [];
  for (const event of events) {
    const next = transition(state, event);
    state = next.state;
    steps.push(next.actions);
  }
  return { state, steps, all: steps.flat() };
}

/** The action types, without logs. */
function kinds(actions: ProxyAction[]): string[] {
  return actions.filter((a) => a.type !== "log").map((a) => a.type);
}

function exitCode(actions: ProxyAction[]): number | undefined {
  const exits = actions.filter((a) => a.type === "exit");
  assert.ok(exits.length <= 1, "at most one exit");
  const e = exits[0];
  return e?.type === "exit" ? e.code : undefined;
}

function report(actions: ProxyAction[]): { ok: boolean; message: string } | undefined {
  const r = actions.find((a) => a.type === "report");
  return r?.type === "report" ? { ok: r.ok, message: r.message } : undefined;
}

/** The machine brought to "running" the normal way. */
function runningState(): ProxyState {
  const { state } = run([USR1, BOOTED]);
  assert.equal(state.phase, "running");
  return state;
}

Deno.test("the proxy starts waiting, with no stop pending", () => {
  assert.deepEqual(INITIAL_STATE, { phase: "waiting", stopPending: false });
});

Deno.test("waiting + the start signal boots the firmware", () => {
  const { state, actions } = transition(INITIAL_STATE, USR1);
  assert.equal(state.phase, "booting");
  assert.deepEqual(kinds(actions), ["boot"]);
  assert.equal(exitCode(actions), undefined);
});

Deno.test("waiting + TERM or INT exits 0 without touching the processor", () => {
  for (const signal of [TERM, INT]) {
    const { state, actions } = transition(INITIAL_STATE, signal);
    assert.equal(state.phase, "done");
    assert.equal(exitCode(actions), EXIT.stoppedOnRequest);
    assert.equal(EXIT.stoppedOnRequest, 0);
    assert.deepEqual(kinds(actions), ["exit"], "no boot, no stop, no report");
  }
});

Deno.test("booting + booted: running, reports success and starts watching", () => {
  const { state, steps } = run([USR1, BOOTED]);
  assert.equal(state.phase, "running");
  assert.deepEqual(kinds(steps[1]), ["report", "watch"]);
  assert.equal(report(steps[1])?.ok, true);
  assert.equal(exitCode(steps[1]), undefined);
});

Deno.test("booting + boot-failed: exits with EXIT.bootFailed and reports the failure", () => {
  const { state, steps } = run([USR1, { type: "boot-failed", message: "firmware hello.elf: ENOENT" }]);
  assert.equal(state.phase, "done");
  assert.equal(exitCode(steps[1]), EXIT.bootFailed);
  const r = report(steps[1]);
  assert.equal(r?.ok, false);
  assert.match(r?.message ?? "", /ENOENT/, "the report carries the kernel's reason");
  assert.ok(!kinds(steps[1]).includes("stop"), "a processor that never booted is not stopped");
  // The report comes before the exit, so start sees it.
  const k = kinds(steps[1]);
  assert.ok(k.indexOf("report") < k.indexOf("exit"));
});

Deno.test("TERM while booting waits for the boot, then stops the processor", () => {
  const { state, steps } = run([USR1, TERM]);
  assert.equal(state.phase, "booting");
  assert.equal(state.stopPending, true);
  assert.deepEqual(kinds(steps[1]), [], "nothing is done mid-boot");

  const afterBoot = transition(state, BOOTED);
  assert.equal(afterBoot.state.phase, "stopping");
  assert.equal(afterBoot.state.stopPending, false);
  assert.deepEqual(kinds(afterBoot.actions), ["report", "stop"], "no watch: it is being stopped");
  assert.equal(report(afterBoot.actions)?.ok, false, "start is told the container did not stay up");

  const done = transition(afterBoot.state, STOPPED);
  assert.equal(done.state.phase, "done");
  assert.equal(exitCode(done.actions), EXIT.stoppedOnRequest);
});

Deno.test("TERM while booting, then the boot fails: exits with EXIT.bootFailed, nothing to stop", () => {
  const { state, all } = run([USR1, INT, { type: "boot-failed", message: "EINVAL" }]);
  assert.equal(state.phase, "done");
  assert.equal(exitCode(all), EXIT.bootFailed);
  assert.ok(!kinds(all).includes("stop"));
});

Deno.test("running + polled offline: the processor stopped by itself", () => {
  const { state, actions } = transition(runningState(), polled("offline"));
  assert.equal(state.phase, "done");
  assert.equal(exitCode(actions), EXIT.stoppedBySelf);
  assert.ok(!kinds(actions).includes("stop"));
});

Deno.test("running + polled active states keeps running, silently", () => {
  for (const s of ["running", "attached", "suspended"]) {
    const start = runningState();
    const { state, actions } = transition(start, polled(s));
    assert.deepEqual(state, start, s);
    assert.deepEqual(actions, [], s);
  }
});

Deno.test("running + crashed with recovery disabled exits with EXIT.crashed", () => {
  const { state, actions } = transition(runningState(), polled("crashed", false));
  assert.equal(state.phase, "done");
  assert.equal(exitCode(actions), EXIT.crashed);
});

Deno.test("running + crashed with recovery enabled waits for the kernel, then runs again", () => {
  const { state, steps } = run(
    [polled("crashed", true), polled("crashed", true), polled("running", true)],
    runningState(),
  );
  assert.deepEqual(kinds(steps[0]), ["arm-recovery"]);
  assert.deepEqual(kinds(steps[1]), [], "still crashed: keep waiting, do not re-arm");
  assert.equal(exitCode(steps.flat()), undefined);
  assert.equal(state.phase, "running");
  // Back to normal: a later poll of offline means it stopped by itself.
  assert.equal(exitCode(transition(state, polled("offline")).actions), EXIT.stoppedBySelf);
});

Deno.test("recovering + recovery-expired exits with EXIT.crashed", () => {
  const { state, steps } = run([polled("crashed", true), { type: "recovery-expired" }], runningState());
  assert.equal(state.phase, "done");
  assert.equal(exitCode(steps[1]), EXIT.crashed);
});

Deno.test("recovery-expired after the processor recovered is ignored", () => {
  const { state, all } = run(
    [polled("crashed", true), polled("running", true), { type: "recovery-expired" }],
    runningState(),
  );
  assert.equal(state.phase, "running");
  assert.equal(exitCode(all), undefined);
});

Deno.test("TERM while recovering stops the processor", () => {
  const { state, steps } = run([polled("crashed", true), TERM], runningState());
  assert.equal(state.phase, "stopping");
  assert.deepEqual(kinds(steps[1]), ["stop"]);
});

Deno.test("running + TERM or INT: stopping, then stopped exits 0", () => {
  for (const signal of [TERM, INT]) {
    const { state, steps } = run([signal, STOPPED], runningState());
    assert.deepEqual(kinds(steps[0]), ["stop"]);
    assert.equal(state.phase, "done");
    assert.equal(exitCode(steps[1]), EXIT.stoppedOnRequest);
  }
});

Deno.test("a second TERM while stopping does not stop twice", () => {
  const { state, steps } = run([TERM, TERM, INT], runningState());
  assert.equal(state.phase, "stopping");
  assert.deepEqual(kinds(steps[1]), []);
  assert.deepEqual(kinds(steps[2]), []);
});

Deno.test("polls while stopping do not end the proxy before the stop completes", () => {
  const { state, all } = run([TERM, polled("offline"), polled("crashed")], runningState());
  assert.equal(state.phase, "stopping");
  assert.equal(exitCode(all), undefined);
});

Deno.test("stop-failed exits with EXIT.stopFailed", () => {
  const { state, steps } = run([TERM, { type: "stop-failed", message: "EINVAL" }], runningState());
  assert.equal(state.phase, "done");
  assert.equal(exitCode(steps[1]), EXIT.stopFailed);
});

Deno.test("polled deleted, invalid or an unknown state: the processor is lost", () => {
  for (const s of ["deleted", "invalid", "some-future-state", ""]) {
    const { state, actions } = transition(runningState(), polled(s));
    assert.equal(state.phase, "done", s);
    assert.equal(exitCode(actions), EXIT.lost, s);
    const logs = actions.filter((a) => a.type === "log").map((a) => a.type === "log" ? a.message : "");
    assert.ok(logs.some((m) => m.includes(JSON.stringify(s))), `the log names the state ${s}`);
  }
});

Deno.test("the same lost states while recovering also end the proxy as lost", () => {
  const { state, all } = run([polled("crashed", true), polled("deleted", true)], runningState());
  assert.equal(state.phase, "done");
  assert.equal(exitCode(all), EXIT.lost);
});

Deno.test("polled detached while running: the processor was let go, which counts as stopping by itself", () => {
  const { actions } = transition(runningState(), polled("detached"));
  assert.equal(exitCode(actions), EXIT.stoppedBySelf);
});

Deno.test("orphaned while waiting exits 0 without touching the processor", () => {
  const waiting = transition(INITIAL_STATE, { type: "orphaned" });
  assert.equal(waiting.state.phase, "done");
  assert.equal(exitCode(waiting.actions), EXIT.stoppedOnRequest);
  assert.deepEqual(kinds(waiting.actions), ["exit"], "no processor is touched");
});

Deno.test("orphaned while running stops the processor, then exits 0", () => {
  const running = transition(runningState(), { type: "orphaned" });
  assert.equal(running.state.phase, "stopping");
  assert.ok(kinds(running.actions).includes("stop"));
  const done = transition(running.state, STOPPED);
  assert.equal(exitCode(done.actions), EXIT.stoppedOnRequest);
});

Deno.test("orphaned while booting stops once the boot completes", () => {
  const { state, all } = run([USR1, { type: "orphaned" }, BOOTED]);
  assert.equal(state.phase, "stopping");
  assert.ok(kinds(all).includes("stop"));
});

Deno.test("the start signal after the boot started does not boot twice", () => {
  const booting = run([USR1, USR1]);
  assert.equal(booting.state.phase, "booting");
  assert.deepEqual(kinds(booting.steps[1]), []);
  const running = transition(runningState(), USR1);
  assert.equal(running.state.phase, "running");
  assert.deepEqual(kinds(running.actions), []);
});

Deno.test("events that do not fit the phase are ignored", () => {
  const cases: [ProxyState, ProxyEvent][] = [
    [INITIAL_STATE, BOOTED],
    [INITIAL_STATE, { type: "boot-failed", message: "x" }],
    [INITIAL_STATE, polled("offline")],
    [INITIAL_STATE, polled("crashed", false)],
    [INITIAL_STATE, STOPPED],
    [INITIAL_STATE, { type: "stop-failed", message: "x" }],
    [INITIAL_STATE, { type: "recovery-expired" }],
    [{ phase: "booting", stopPending: false }, polled("offline")],
    [{ phase: "booting", stopPending: false }, STOPPED],
    [{ phase: "running", stopPending: false }, BOOTED],
    [{ phase: "running", stopPending: false }, { type: "boot-failed", message: "x" }],
    [{ phase: "running", stopPending: false }, STOPPED],
    [{ phase: "running", stopPending: false }, { type: "recovery-expired" }],
  ];
  for (const [state, event] of cases) {
    const next = transition(state, event);
    assert.deepEqual(next.state, state, `${state.phase} + ${event.type}`);
    assert.deepEqual(kinds(next.actions), [], `${state.phase} + ${event.type}`);
  }
});

Deno.test("once done, every event is ignored", () => {
  const { state } = run([TERM]);
  assert.equal(state.phase, "done");
  const events: ProxyEvent[] = [
    USR1,
    TERM,
    INT,
    BOOTED,
    { type: "boot-failed", message: "x" },
    polled("running"),
    polled("crashed", true),
    STOPPED,
    { type: "stop-failed", message: "x" },
    { type: "recovery-expired" },
    { type: "orphaned" },
  ];
  for (const event of events) {
    const next = transition(state, event);
    assert.deepEqual(next.state, state, event.type);
    assert.deepEqual(next.actions, [], event.type);
  }
});

Deno.test("transition does not mutate the state it is given", () => {
  const state: ProxyState = { phase: "booting", stopPending: false };
  const frozen = Object.freeze({ ...state });
  transition(frozen, TERM);
  transition(frozen, BOOTED);
  assert.deepEqual(frozen, state);
});

Deno.test("every exit code is distinct, and only a requested stop is 0", () => {
  const codes = Object.values(EXIT);
  assert.equal(new Set(codes).size, codes.length);
  assert.deepEqual(Object.entries(EXIT).filter(([, c]) => c === 0).map(([k]) => k), ["stoppedOnRequest"]);
  for (const c of codes) assert.ok(Number.isInteger(c) && c >= 0 && c < 126, `${c} is a usable exit code`);
});

Deno.test("every path that ends the proxy produces exactly one exit action and phase done", () => {
  const paths: ProxyEvent[][] = [
    [TERM],
    [{ type: "orphaned" }],
    [USR1, { type: "boot-failed", message: "x" }],
    [USR1, BOOTED, polled("offline")],
    [USR1, BOOTED, polled("crashed", false)],
    [USR1, BOOTED, polled("crashed", true), { type: "recovery-expired" }],
    [USR1, BOOTED, TERM, STOPPED],
    [USR1, BOOTED, TERM, { type: "stop-failed", message: "x" }],
    [USR1, TERM, BOOTED, STOPPED],
    [USR1, BOOTED, polled("deleted")],
  ];
  for (const events of paths) {
    const { state, all } = run(events);
    assert.equal(state.phase, "done", events.map((e) => e.type).join(","));
    assert.equal(all.filter((a) => a.type === "exit").length, 1);
    assert.equal(all.at(-1)?.type, "exit", "exit is the last action");
  }
});

Deno.test("start is not signalled with SIGUSR1, which opens Deno's inspector", () => {
  assert.notEqual(START_SIGNAL, "SIGUSR1");
});
