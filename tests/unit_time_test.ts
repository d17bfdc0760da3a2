import assert from "node:assert/strict";
import { isoTimestamp } from "../lib/util/time.ts";
import { seededRandom } from "./helpers.ts";

Deno.test("isoTimestamp matches Date.prototype.toISOString on edges of days, months, leap years and eras", () => {
  const edges = [
    0,
    1,
    999,
    86_399_999,
    86_400_000,
    Date.UTC(2000, 1, 29, 23, 59, 59, 999), // a leap day of a year divisible by 400
    Date.UTC(2000, 2, 1),
    Date.UTC(2100, 1, 28, 12), // 2100 is not a leap year
    Date.UTC(2100, 2, 1),
    Date.UTC(2024, 11, 31, 23, 59, 59, 999),
    Date.UTC(2025, 0, 1),
    Date.UTC(1969, 11, 31, 23, 59, 59, 999), // before the epoch
    Date.UTC(1600, 0, 1),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    Date.now(),
  ];
  for (const ms of edges) assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
});

Deno.test("isoTimestamp matches Date.prototype.toISOString on 100000 random times from 1900 to 2200", () => {
  const random = seededRandom(20261129);
  const from = Date.UTC(1900, 0, 1);
  const span = Date.UTC(2200, 0, 1) - from;
  for (let i = 0; i < 100_000; i++) {
    const ms = from + Math.floor(random() * span);
    assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
  }
});

Deno.test("isoTimestamp without an argument is the current time", () => {
  const before = Date.now();
  const stamp = Date.parse(isoTimestamp());
  assert.ok(stamp >= before && stamp <= Date.now(), `${stamp} not in [${before}, now]`);
});
