import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_TIMINGS } from "../lib/config/settings.ts";
import { processStartTime } from "../lib/process/proc.ts";
import { ownRecord, runProxy } from "../lib/proxy/driver.ts";
import { EXIT } from "../lib/proxy/machine.ts";
import { readExitReport, requestStop } from "../lib/store/container_store.ts";

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

Deno.test("runProxy given `end` calls it with the exit code right after the exit report, instead of returning", async () => {
  // A pod sandbox container (no processor) whose stop is requested before start: the proxy ends at once.
  const dir = await Deno.makeTempDir({ prefix: "unit-proxy-end-" });
  const record = {
    id: "fw1",
    creator: self,
    processor: null,
    firmware: null,
    proxy: null,
    timings: DEFAULT_TIMINGS,
  };
  try {
    await Deno.writeTextFile(join(dir, "state.json"), JSON.stringify(record));
    requestStop(dir, "SIGTERM");
    class Ended extends Error {
      constructor(readonly code: number, readonly report: { code: number } | undefined) {
        super(`ended with ${code}`);
      }
    }
    const end = (code: number): never => {
      throw new Ended(code, readExitReport(dir));
    };
    const ended = await runProxy(dir, self, () => {}, end).then(
      (code) => assert.fail(`runProxy returned ${code} instead of calling end`),
      (err: unknown) => err,
    );
    assert.ok(ended instanceof Ended, String(ended));
    assert.equal(ended.code, EXIT.stoppedOnRequest);
    assert.equal(ended.report?.code, ended.code, "the report was written before end was called");
    // Without `end`, the same ending returns the code.
    await Deno.remove(join(dir, "exit.json"));
    assert.equal(await runProxy(dir, self, () => {}), EXIT.stoppedOnRequest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
