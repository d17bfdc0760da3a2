import assert from "node:assert/strict";
import { FIRST_PAUSE_MS, pacedPause, TIMED_OUT, waitForSync, WaitTimeout, within } from "../lib/util/wait.ts";

Deno.test("within: the promise's value when it settles first, and its error", async () => {
  assert.equal(await within(Promise.resolve(7), 60_000), 7);
  await assert.rejects(within(Promise.reject(new Error("boom")), 60_000), /boom/);
});

Deno.test("within: TIMED_OUT when the time runs out first", async () => {
  assert.equal(await within(new Promise<number>(() => {}), 10), TIMED_OUT);
});

Deno.test("pacedPause: an eighth of the time waited, from FIRST_PAUSE_MS up to the interval", () => {
  assert.equal(pacedPause(0, 1), FIRST_PAUSE_MS);
  assert.equal(pacedPause(0.4, 1), FIRST_PAUSE_MS);
  assert.equal(pacedPause(2, 1), 0.25);
  assert.equal(pacedPause(4, 1), 0.5);
  assert.equal(pacedPause(8, 1), 1);
  assert.equal(pacedPause(60_000, 1), 1);
  assert.equal(pacedPause(40, 5), 5);
  // An interval shorter than the first pause is kept.
  assert.equal(pacedPause(0, 0.05), 0.05);
});

Deno.test("waitForSync: looks until the condition holds and returns its value, or times out naming it", () => {
  let looks = 0;
  assert.equal(waitForSync(() => ++looks === 5 && "done", { timeoutMs: 60_000 }), "done");
  assert.equal(looks, 5);
  assert.throws(
    () => waitForSync(() => false, { timeoutMs: 5, what: "the report" }),
    (err: unknown) => err instanceof WaitTimeout && /waiting for the report/.test(err.message),
  );
});
