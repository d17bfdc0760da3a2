import assert from "node:assert/strict";
import { join } from "node:path";
import { processStartTime } from "../lib/process/proc.ts";
import { ownRecord } from "../lib/proxy/driver.ts";

/** A temp container directory holding a record whose creator is `creator`. */
async function dirWithRecord(creator: { pid: number; startTime: string }): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "unit-proxy-record-" });
  await Deno.writeTextFile(join(dir, "state.json"), JSON.stringify({ id: "fw1", creator }));
  return dir;
}

const self = { pid: Deno.pid, startTime: processStartTime(Deno.pid)! };

Deno.test("ownRecord returns the record its creator wrote", async () => {
  const dir = await dirWithRecord(self);
  try {
    assert.equal(ownRecord(dir, self, 5_000)?.id, "fw1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ownRecord never adopts a record another create wrote (same pid, other start time, or other pid)", async () => {
  for (const other of [{ pid: self.pid, startTime: "1" }, { pid: 1, startTime: self.startTime }]) {
    const dir = await dirWithRecord(other);
    try {
      // The creator (this process) lives on: the proxy keeps waiting for its own record until the deadline.
      const began = performance.now();
      assert.equal(ownRecord(dir, self, 300), undefined, JSON.stringify(other));
      assert.ok(performance.now() - began >= 300, "it waited for its own record");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("ownRecord gives up at once when its creator is gone, record or not", async () => {
  const gone = new Deno.Command("true").spawn();
  const identity = { pid: gone.pid, startTime: processStartTime(gone.pid) ?? "0" };
  await gone.status;
  const dir = await dirWithRecord({ pid: 1, startTime: "1" });
  try {
    const began = performance.now();
    assert.equal(ownRecord(dir, identity, 5_000), undefined);
    assert.ok(performance.now() - began < 5_000, "it did not wait for the deadline");
    assert.equal(ownRecord(join(dir, "missing"), identity, 5_000), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
