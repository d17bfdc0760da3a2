import assert from "node:assert/strict";
import { join } from "node:path";
import { concernsRequests } from "../lib/proxy/driver.ts";
import { isAttributeWrite } from "../lib/simulator/simulator.ts";
import { markStartRequested, requestStop, writeExitReport } from "../lib/store/container_store.ts";
import { writeFileAtomic } from "../lib/util/atomic.ts";
import { tempDir } from "./helpers.ts";

const FENCE = "fence";
/** How long a test waits for an event before it gives up (and fails). */
const EVENT_WAIT_MS = 10_000;

/** Yields what `watcher` reports until `last` says so, or until it has been quiet for too long (it is closed). */
async function* eventsUntil(watcher: Deno.FsWatcher, last: (event: Deno.FsEvent) => boolean) {
  let timer = setTimeout(() => watcher.close(), EVENT_WAIT_MS);
  try {
    for await (const event of watcher) {
      yield event;
      if (last(event)) return;
      clearTimeout(timer);
      timer = setTimeout(() => watcher.close(), EVENT_WAIT_MS);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The events Deno's watch of `dir` reports for what `action` does: the real ones (their kinds and paths are
 * Deno's and the notify crate's to choose), collected up to a fence file written after the action.
 */
async function eventsOf(dir: string, action: () => void): Promise<Deno.FsEvent[]> {
  using watcher = Deno.watchFs(dir, { recursive: false });
  const events: Deno.FsEvent[] = [];
  action();
  Deno.writeFileSync(join(dir, FENCE), new Uint8Array());
  const isFence = (event: Deno.FsEvent) => event.paths.some((path) => path.endsWith(`/${FENCE}`));
  let fenced = false;
  for await (const event of eventsUntil(watcher, isFence)) {
    if (isFence(event)) fenced = true;
    else events.push(event);
  }
  assert.ok(fenced, "the fence's event never came");
  Deno.removeSync(join(dir, FENCE));
  assert.ok(events.length > 0, "the action raised no event at all");
  return events;
}

Deno.test("the proxy's watch: a request concerns it, its own reports and other state files do not", async () => {
  await using tmp = await tempDir("unit-watch-proxy-");
  const dir = tmp.path;
  for (
    const [what, action] of [
      ["the exit report", () => writeExitReport(dir, 0)],
      ["a state file", () => writeFileAtomic(join(dir, "boot.json"), "{}\n", { durable: false })],
      ["the lock", () => Deno.openSync(join(dir, "lock"), { write: true, create: true }).close()],
    ] as const
  ) {
    const events = await eventsOf(dir, action);
    assert.deepEqual(events.filter((e) => concernsRequests(dir, e)), [], what);
  }
  for (
    const [what, action] of [
      ["the start request", () => markStartRequested(dir, null)],
      ["the stop request", () => requestStop(dir, "SIGTERM")],
      ["a request written in place", () => Deno.writeTextFileSync(join(dir, "stop-requested"), "{}")],
    ] as const
  ) {
    const events = await eventsOf(dir, action);
    assert.ok(events.some((e) => concernsRequests(dir, e)), `${what}: ${JSON.stringify(events)}`);
  }
});

Deno.test("the proxy's watch: the removal of its directory concerns it", async () => {
  await using tmp = await tempDir("unit-watch-parent-");
  const parent = tmp.path;
  const dir = join(parent, "fw1");
  Deno.mkdirSync(dir);
  writeExitReport(dir, 0);
  using watcher = Deno.watchFs(dir, { recursive: false });
  Deno.removeSync(dir, { recursive: true });
  const seen: Deno.FsEvent[] = [];
  for await (const event of eventsUntil(watcher, (e) => concernsRequests(dir, e))) seen.push(event);
  assert.ok(seen.some((e) => concernsRequests(dir, e)), JSON.stringify(seen));
});

Deno.test("the simulator wakes for a write to an attribute, not for its own renamed updates", async () => {
  await using tmp = await tempDir("unit-watch-sim-");
  const dir = tmp.path;
  Deno.writeTextFileSync(join(dir, "state"), "offline\n");
  const own = await eventsOf(
    dir,
    () => writeFileAtomic(join(dir, "state"), "running\n", { durable: false }),
  );
  assert.deepEqual(own.filter(isAttributeWrite), []);
  for (const attr of ["state", "firmware", "recovery"]) {
    const written = await eventsOf(dir, () => Deno.writeTextFileSync(join(dir, attr), "stop"));
    assert.ok(written.some(isAttributeWrite), `${attr}: ${JSON.stringify(written)}`);
  }
});
