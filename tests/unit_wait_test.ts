import assert from "node:assert/strict";
import { TIMED_OUT, within } from "../lib/util/wait.ts";

Deno.test("within: the promise's value when it settles first, and its error", async () => {
  assert.equal(await within(Promise.resolve(7), 60_000), 7);
  await assert.rejects(within(Promise.reject(new Error("boom")), 60_000), /boom/);
});

Deno.test("within: TIMED_OUT when the time runs out first", async () => {
  assert.equal(await within(new Promise<number>(() => {}), 10), TIMED_OUT);
});
