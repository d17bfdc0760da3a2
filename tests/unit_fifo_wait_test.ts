import assert from "node:assert/strict";
import { join } from "node:path";
import { descriptorIo, INTERRUPTED, openFifoWaiter } from "../lib/process/fifo_wait.ts";
import { int } from "../lib/process/libc.ts";
import { mkfifo } from "./helpers.ts";

/** A temp directory holding a FIFO; the caller removes it. */
async function tempFifo(): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rproc-test-fifo-wait-" });
  const path = join(dir, "wake");
  mkfifo(path);
  return { dir, path };
}

Deno.test("openFifoWaiter: a wait ends with the bytes written, or with none when its time is up", async () => {
  const { dir, path } = await tempFifo();
  try {
    using waiter = openFifoWaiter(path);
    assert.ok(waiter, "libc and the FIFO are there");
    assert.deepEqual(waiter.wait(0), new Uint8Array(), "nothing written: nothing read");
    assert.deepEqual(waiter.wait(20), new Uint8Array(), "nothing within 20 ms either");
    using writer = await Deno.open(path, { read: true, write: true });
    await writer.write(new Uint8Array([0x54, 1]));
    // Written before the wait: it returns them at once, long before its minute.
    assert.deepEqual(waiter.wait(60_000), new Uint8Array([0x54, 1]));
    assert.deepEqual(waiter.wait(0), new Uint8Array(), "read once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFifoWaiter: no waiter for a path that is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rproc-test-fifo-wait-" });
  try {
    assert.equal(openFifoWaiter(join(dir, "wake")), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFifoWaiter: a signal to the waiting thread ends the wait as interrupted", async () => {
  const { dir, path } = await tempFifo();
  // Without a listener, SIGUSR2 would end the test process.
  const listener = () => {};
  Deno.addSignalListener("SIGUSR2", listener);
  // The thread running this test (under `deno test`, not the process's main thread) gets a signal sent to its
  // id first, as a proxy's main thread gets one sent to the proxy's pid.
  const libc = Deno.dlopen("libc.so.6", { gettid: { parameters: [], result: "i32" } });
  const tid = libc.symbols.gettid();
  libc.close();
  // Signals this thread every 50 ms until it is ended (by its pid, below): one of them comes during the wait.
  const sender = new Deno.Command("/bin/sh", {
    args: ["-c", `while kill -USR2 ${tid}; do sleep 0.05; done`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    using waiter = openFifoWaiter(path);
    assert.ok(waiter);
    assert.equal(waiter.wait(60_000), INTERRUPTED);
  } finally {
    sender.kill("SIGKILL");
    await sender.status;
    Deno.removeSignalListener("SIGUSR2", listener);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("int reads an int result's bytes, negative ones too", () => {
  assert.equal(int(new Uint8Array([7, 0, 0, 0])), 7);
  assert.equal(int(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), -1);
});

Deno.test("descriptorIo: a descriptor's link count as statx gives it, and pread from an offset", async () => {
  const io = descriptorIo();
  assert.ok(io, "libc with statx is there");
  const dir = await Deno.makeTempDir({ prefix: "rproc-test-fifo-wait-" });
  try {
    const path = join(dir, "state");
    await Deno.writeTextFile(path, "running\n");
    const fd = io.open(path);
    assert.ok(fd >= 0);
    try {
      assert.equal(io.links(fd), 1);
      await Deno.link(path, join(dir, "second"));
      assert.equal(io.links(fd), 2);
      const buffer = new Uint8Array(16);
      assert.equal(io.pread(fd, buffer, 3), 5);
      assert.equal(new TextDecoder().decode(buffer.subarray(0, 5)), "ning\n");
      await Deno.remove(path);
      await Deno.remove(join(dir, "second"));
      assert.equal(io.links(fd), 0, "removed: no links left");
    } finally {
      io.close(fd);
    }
    assert.ok(io.open(path) < 0, "a missing path");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
