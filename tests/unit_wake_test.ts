/**
 * The proxy's wake-up FIFO: the store's calls (wakeProxy, openWakeFifo, readContainerFiles, the requests'
 * `wake`), and the proxy's choice between the FIFO and a directory watch, run in this process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_TIMINGS } from "../lib/config/settings.ts";
import { processStartTime } from "../lib/process/proc.ts";
import { runProxy } from "../lib/proxy/driver.ts";
import { tellReady } from "../lib/cli/proxy.ts";
import { EXIT, START_SIGNAL } from "../lib/proxy/machine.ts";
import {
  markStartRequested,
  markStopRequested,
  openWakeFifo,
  readContainerFiles,
  readProxyReady,
  requestStop,
  startRequestIn,
  stopRequestIn,
  wakeFifoPath,
  wakeProxy,
} from "../lib/store/container_store.ts";
import { TIMED_OUT, waitFor, within } from "../lib/util/wait.ts";
import { descriptorTargets, mkfifo, tempDir } from "./helpers.ts";

/** How long a test waits for what should take milliseconds before it fails. */
const DEADLINE_MS = 10_000;

const self = { pid: Deno.pid, startTime: processStartTime(Deno.pid)! };

/** How many of this process's descriptors point at `target` (a path, or "anon_inode:inotify"). */
async function openDescriptors(target: string): Promise<number> {
  return (await descriptorTargets("self")).filter((t) => t === target).length;
}

/** How many inotify instances this process has open (each Deno.watchFs holds one). */
const inotifyInstances = () => openDescriptors("anon_inode:inotify");

Deno.test("wakeProxy writes one byte to the FIFO of a reading proxy; a start request is a file and a byte", async () => {
  await using dir = await tempDir("unit-wake-");
  mkfifo(wakeFifoPath(dir.path));
  using fifo = openWakeFifo(dir.path)!;
  assert.ok(fifo, "the FIFO is opened");
  const buffer = new Uint8Array(16);
  assert.equal(wakeProxy(dir.path), true);
  assert.equal(await fifo.read(buffer), 1);
  assert.equal(stopRequestIn(buffer.subarray(0, 1)), undefined, "a plain wake-up is no stop request");
  assert.equal(startRequestIn(buffer.subarray(0, 1)), false, "nor a start request");
  markStartRequested(dir.path, null, true);
  assert.equal(await fifo.read(buffer), 1);
  assert.equal(startRequestIn(buffer.subarray(0, 1)), true, "start's byte");
  assert.equal(stopRequestIn(buffer.subarray(0, 1)), undefined);
  assert.ok(readContainerFiles(dir.path).startRequest);
});

Deno.test("requestStop with `wake` is one byte in the FIFO (TERM or INT) and no file; without a FIFO, the file", async () => {
  await using dir = await tempDir("unit-wake-");
  mkfifo(wakeFifoPath(dir.path));
  using fifo = openWakeFifo(dir.path)!;
  const buffer = new Uint8Array(16);
  requestStop(dir.path, "SIGTERM", true);
  requestStop(dir.path, "SIGINT", true);
  // Two writers, one byte each: read together or apart, neither is split.
  const bytes: number[] = [];
  while (bytes.length < 2) bytes.push(...buffer.subarray(0, (await fifo.read(buffer))!));
  assert.equal(stopRequestIn(new Uint8Array([bytes[0]])), "SIGTERM");
  assert.equal(stopRequestIn(new Uint8Array([bytes[1]])), "SIGINT");
  assert.equal(
    readContainerFiles(dir.path).stopRequest,
    undefined,
    "no file: only the proxy reads the request",
  );
  await using bare = await tempDir("unit-wake-");
  requestStop(bare.path, "SIGINT", true);
  assert.equal(
    readContainerFiles(bare.path).stopRequest?.signal,
    "SIGINT",
    "no FIFO: the request is the file",
  );
});

Deno.test("markStopRequested: the request on record as a file, renamed into place; a missing directory an error", async () => {
  await using dir = await tempDir("unit-wake-");
  markStopRequested(dir.path, "SIGINT");
  assert.equal(readContainerFiles(dir.path).stopRequest?.signal, "SIGINT");
  assert.equal((await Deno.stat(join(dir.path, "stop-requested"))).mode! & 0o777, 0o600);
  // A kill that died after its request: the next one's request replaces it, and no temp file is left.
  markStopRequested(dir.path, "SIGTERM");
  assert.equal(readContainerFiles(dir.path).stopRequest?.signal, "SIGTERM");
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["stop-requested"]);
  const gone = join(dir.path, "gone");
  assert.throws(() => markStopRequested(gone, "SIGTERM"), (err: Error) => err.message.includes(gone));
});

Deno.test("openWakeFifo: a `wake` that is no FIFO and cannot be opened for writing is an error, not a missing FIFO", async () => {
  await using dir = await tempDir("unit-wake-");
  await Deno.mkdir(wakeFifoPath(dir.path));
  assert.throws(() => openWakeFifo(dir.path), (err: unknown) => !(err instanceof Deno.errors.NotFound));
});

Deno.test("wakeProxy returns at once with no reader on the FIFO, and false without a FIFO", async () => {
  await using dir = await tempDir("unit-wake-");
  assert.equal(wakeProxy(dir.path), false);
  assert.equal(openWakeFifo(dir.path), undefined);
  assert.equal(openWakeFifo(join(dir.path, "gone")), undefined);
  assert.equal(readContainerFiles(dir.path).wakeFifo, false);
  mkfifo(wakeFifoPath(dir.path));
  assert.equal(readContainerFiles(dir.path).wakeFifo, true);
  // In a child process: an open that waits for a reader would hang this one.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { wakeProxy } from ${JSON.stringify(import.meta.resolve("../lib/store/container_store.ts"))};` +
      `Deno.exit(wakeProxy(${JSON.stringify(dir.path)}) ? 0 : 3);`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const output = await within(child.output(), DEADLINE_MS);
  if (output === TIMED_OUT) {
    child.kill("SIGKILL");
    await child.status;
    assert.fail("wakeProxy waited for a reader");
  }
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
});

/** A container directory for a pod sandbox proxy (no processor) whose polls are far apart. */
async function sandboxDir(path: string): Promise<void> {
  // One poll a minute: the look that backs up the FIFO comes every ten, far beyond any wait here.
  const timings = { ...DEFAULT_TIMINGS, pollIntervalMs: 60_000 };
  const record = { id: "fw1", creator: self, processor: null, firmware: null, proxy: null, timings };
  await Deno.writeTextFile(join(path, "state.json"), JSON.stringify(record));
}

/** Runs a pod sandbox proxy with a wake-up FIFO in `path` (see sandboxDir); gives its run once ready. */
async function readySandboxProxy(path: string): Promise<{ run: Promise<number> }> {
  await sandboxDir(path);
  mkfifo(wakeFifoPath(path));
  const run = runProxy(path, self, () => {});
  await waitFor(() => readProxyReady(path) !== undefined, { timeoutMs: DEADLINE_MS, what: "ready" });
  return { run };
}

for (const fifo of [true, false]) {
  const how = fifo
    ? "with a wake-up FIFO, the proxy reads it and watches nothing"
    : "without one, it watches";
  Deno.test(`runProxy: ${how}; either way a stop request ends it`, async () => {
    await using dir = await tempDir("unit-wake-proxy-");
    await sandboxDir(dir.path);
    if (fifo) mkfifo(wakeFifoPath(dir.path));
    const before = await inotifyInstances();
    const lines: string[] = [];
    const run = runProxy(dir.path, self, (line) => lines.push(line));
    await waitFor(() => readProxyReady(dir.path) !== undefined, { timeoutMs: DEADLINE_MS, what: "ready" });
    // The directory watch is set up right after the ready report, in the same turn.
    assert.equal(await inotifyInstances(), before + (fifo ? 0 : 1));
    // Without the FIFO's byte (the watch's event in the other case) nothing looks before a minute has passed.
    requestStop(dir.path, "SIGINT", fifo);
    const code = await within(run, DEADLINE_MS);
    assert.notEqual(code, TIMED_OUT, "the proxy did not see the stop request");
    assert.equal(code, EXIT.stoppedOnRequest);
    assert.ok(lines.some((line) => line.includes("SIGINT")), lines.join("\n"));
    // The FIFO is closed on the way out, its pending read ended (Deno's test sanitizer also fails a test
    // that leaves an operation pending).
    assert.equal(await openDescriptors(wakeFifoPath(dir.path)), 0);
  });
}

Deno.test("runProxy calls onReady right after its ready report; tellReady writes one byte for a live creator only", async () => {
  await using dir = await tempDir("unit-wake-proxy-");
  await sandboxDir(dir.path);
  mkfifo(wakeFifoPath(dir.path));
  let reportedFirst: boolean | undefined;
  const run = runProxy(dir.path, self, () => {}, undefined, () => {
    reportedFirst = readProxyReady(dir.path)?.pid === Deno.pid;
  });
  await waitFor(() => reportedFirst !== undefined, { timeoutMs: DEADLINE_MS, what: "onReady" });
  assert.equal(reportedFirst, true, "onReady came before the ready report");
  requestStop(dir.path, "SIGTERM", true);
  assert.equal(await within(run, DEADLINE_MS), EXIT.stoppedOnRequest);

  // A FIFO stands for create's pipe (both are FIFOs to open(2)); held open here, so its bytes stay.
  const pipe = join(dir.path, "ready");
  mkfifo(pipe);
  using held = Deno.openSync(pipe, { read: true, write: true });
  tellReady(pipe, { pid: self.pid, startTime: `${self.startTime}1` }); // another process with this pid
  tellReady(pipe, self);
  const buffer = new Uint8Array(8);
  assert.equal(held.readSync(buffer), 1, "one byte: none for the creator that is gone");
  tellReady(join(dir.path, "missing"), self); // no pipe: nothing thrown
});

Deno.test("runProxy with a wake-up FIFO: start's byte boots at once, and what else is on record is looked at after", async () => {
  await using dir = await tempDir("unit-wake-proxy-");
  const { run } = await readySandboxProxy(dir.path);
  // A stop request as a file (no byte: it wakes nothing), then start's request and byte.
  requestStop(dir.path, "SIGTERM", false);
  markStartRequested(dir.path, null, true);
  // Polls a minute apart: only the look that follows the boot can find the stop request in time.
  assert.equal(await within(run, DEADLINE_MS), EXIT.stoppedOnRequest);
  assert.equal(readContainerFiles(dir.path).bootReport?.ok, true, "booted first");
});

Deno.test("runProxy with a wake-up FIFO: the start signal's request wakes it through the FIFO too", async () => {
  await using dir = await tempDir("unit-wake-proxy-");
  const { run } = await readySandboxProxy(dir.path);
  // The proxy's listener turns the signal into the start request; with nothing watching the directory, only
  // the byte it writes to its FIFO makes it look before a minute has passed.
  Deno.kill(Deno.pid, START_SIGNAL);
  await waitFor(() => readContainerFiles(dir.path).bootReport?.ok === true, {
    timeoutMs: DEADLINE_MS,
    what: "the boot report",
  });
  requestStop(dir.path, "SIGTERM", true);
  assert.equal(await within(run, DEADLINE_MS), EXIT.stoppedOnRequest);
});
