/**
 * spawnDetached, both ways (posix_spawn through FFI, and Deno.Command): the line sent arrives, the child has
 * its own session and none of the parent's extra descriptors, its exit code is collected, and kill leaves no
 * process (not even a zombie) behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnDetached, type SpawnOptions } from "../lib/process/spawn.ts";
import { parseProxyLine, proxyLine, readyPath } from "../lib/proxy/line.ts";
import { waitFor } from "../lib/util/wait.ts";

const WAYS: { via: "posix_spawn" | "Deno.Command"; options: SpawnOptions }[] = [
  { via: "posix_spawn", options: {} },
  { via: "Deno.Command", options: { ffi: false } },
];

/** Field 6 of /proc/PID/stat: the session id. */
async function sessionOf(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("spawnDetached: on this glibc (2.34 or later) the default way is posix_spawn", async () => {
  const child = spawnDetached("/bin/sh", ["-c", "exit 0"]);
  assert.equal(child.via, "posix_spawn");
  await child.kill();
});

for (const { via, options } of WAYS) {
  Deno.test(`spawnDetached (${via}): the line arrives, the child leads its own session, its exit code is collected`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "unit-spawn-" });
    try {
      const out = join(dir, "line");
      const child = spawnDetached(
        "/bin/sh",
        ["-c", 'read -r line; printf %s "$line" > "$0"; exit 7', out],
        options,
      );
      assert.equal(child.via, via);
      assert.equal(await sessionOf(child.pid), child.pid);
      // No signal blocked, SIGPIPE not ignored (Deno ignores it; a child must not inherit that).
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      assert.equal(BigInt("0x" + /^SigBlk:\s*([0-9a-f]+)$/m.exec(status)![1]), 0n);
      assert.equal(BigInt("0x" + /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)![1]) & (1n << 12n), 0n);
      await child.send("/run/remoteproc-runtime/fw 1");
      const code = await waitFor(async () => await child.exitCode(), { timeoutMs: 10_000, what: "the exit" });
      assert.equal(code, 7);
      assert.equal(await Deno.readTextFile(out), "/run/remoteproc-runtime/fw 1");
      // Collected: no zombie is left in /proc.
      assert.equal(await exists(`/proc/${child.pid}`), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`spawnDetached (${via}): the child gets this process's environment, as it is at the spawn`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "unit-spawn-" });
    const name = `RPROC_SPAWN_TEST_${via === "posix_spawn" ? "FFI" : "COMMAND"}`;
    const value = "a value with spaces=and an equals sign";
    try {
      const out = join(dir, "env");
      // Set after this process started: the child must see the environment of now, not of the start.
      Deno.env.set(name, value);
      const child = spawnDetached(
        "/bin/sh",
        ["-c", `read -r line; printf '%s\\n%s\\n%s' "$PATH" "$HOME" "$${name}" > "$0"`, out],
        options,
      );
      await child.send("go");
      assert.equal(
        await waitFor(async () => await child.exitCode(), { timeoutMs: 10_000, what: "the exit" }),
        0,
      );
      assert.deepEqual((await Deno.readTextFile(out)).split("\n"), [
        Deno.env.get("PATH") ?? "",
        Deno.env.get("HOME") ?? "",
        value,
      ]);
    } finally {
      Deno.env.delete(name);
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`spawnDetached (${via}): released without a line, the child reads the end of its input`, async () => {
    const child = spawnDetached("/bin/sh", ["-c", "if read -r line; then exit 1; else exit 3; fi"], options);
    child.release();
    assert.equal(
      await waitFor(async () => await child.exitCode(), { timeoutMs: 10_000, what: "the exit" }),
      3,
    );
    // Released: kill does nothing (the code stays the child's own).
    await child.kill();
    assert.equal(await child.exitCode(), 3);
  });

  Deno.test(`spawnDetached (${via}): kill ends a waiting child and leaves no process, not even a zombie`, async () => {
    const child = spawnDetached("/bin/sh", ["-c", "read -r line; exit 0"], options);
    assert.equal(await exists(`/proc/${child.pid}`), true);
    await child.kill();
    assert.equal(await exists(`/proc/${child.pid}`), false);
    assert.equal(await child.exitCode(), 128 + 9);
    await child.kill(); // twice is harmless
  });

  Deno.test(`spawnDetached (${via}): descriptors the parent inherited (an engine's fd 3 and 7) are not passed on`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "unit-spawn-" });
    try {
      const marker = join(dir, "engine-socket-stand-in");
      const out = join(dir, "fds");
      await Deno.writeTextFile(marker, "held by the engine");
      // The parent is a Deno process started with fds 3 and 7 open and not close-on-exec, as containerd does.
      const parent = `const { spawnDetached } = await import(${
        JSON.stringify(import.meta.resolve("../lib/process/spawn.ts"))
      });
        const child = spawnDetached("/bin/sh", ["-c", 'read -r line; for fd in 3 4 5 6 7 8 9; do [ -e /proc/self/fd/$fd ] && printf "%s " $fd; done > "$0"; exit 0', ${
        JSON.stringify(out)
      }], ${JSON.stringify(options)});
        await child.send("go");
        while ((await child.exitCode()) === undefined) await new Promise((r) => setTimeout(r, 5));`;
      const run = await new Deno.Command("/bin/sh", {
        args: ["-c", 'exec 3<"$0" 7<"$0"; exec "$@"', marker, Deno.execPath(), "eval", parent],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      assert.equal(await Deno.readTextFile(out), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("spawnDetached (posix_spawn): waitReady wakes on the child's byte to /proc/PID/fd/readyFd, once", async () => {
  // The child writes to the path it is sent, opened for reading and writing as the proxy does (tellReady).
  const child = spawnDetached("/bin/sh", ["-c", 'read -r path; printf x 1<>"$path"; read -r more']);
  try {
    assert.equal(typeof child.readyFd, "number");
    assert.equal(child.waitReady(20), false, "no byte yet: the wait runs out");
    await child.send(`/proc/${Deno.pid}/fd/${child.readyFd}`);
    let told = false;
    const deadline = performance.now() + 10_000;
    while (!told && performance.now() < deadline) told = child.waitReady(100);
    assert.ok(told, "the child's byte did not end the wait");
    assert.equal(child.waitReady(1), false, "told once; later calls only wait");
  } finally {
    await child.kill();
  }
});

Deno.test("spawnDetached (Deno.Command): no readiness pipe; waitReady only waits", async () => {
  const child = spawnDetached("/bin/sh", ["-c", "read -r line"], { ffi: false });
  try {
    assert.equal(child.readyFd, undefined);
    assert.equal(child.waitReady(1), false);
  } finally {
    await child.kill();
  }
});

Deno.test("spawnDetached: a program that cannot run is an error (posix_spawn) or exits 127 (the shell)", async () => {
  assert.throws(() => spawnDetached("/nonexistent/program", []), /posix_spawn failed with errno 2/);
  const child = spawnDetached("/nonexistent/program", [], { ffi: false });
  assert.equal(
    await waitFor(async () => await child.exitCode(), { timeoutMs: 10_000, what: "the exit" }),
    127,
  );
});

Deno.test("proxyLine and parseProxyLine: the creator, the readiness descriptor and the directory round-trip", () => {
  for (const dir of ["/run/remoteproc-runtime/fw1", "/tmp/a b/c:d", "/"]) {
    const creator = { pid: 4242, startTime: "81234" };
    assert.deepEqual(parseProxyLine(proxyLine(creator, dir)), { creator, dir });
    assert.deepEqual(parseProxyLine(proxyLine(creator, dir, 7)), { creator, dir, readyFd: 7 });
  }
  const assignment = parseProxyLine("4242:81234:7 /run/remoteproc-runtime/fw1")!;
  assert.equal(readyPath(assignment), "/proc/4242/fd/7");
  assert.equal(readyPath(parseProxyLine("4242:81234 /run/remoteproc-runtime/fw1")!), undefined);
  for (const bad of ["1:1: /d", "1:1:x /d", "1:1:-3 /d", "1:1:2:3 /d", "1::2 /d"]) {
    assert.equal(parseProxyLine(bad), undefined, bad);
  }
  for (
    const bad of ["", "4242:81234", "4242:81234 relative/dir", "0:1 /d", "x:1 /d", "4242 /d", "4242:1  /d"]
  ) {
    assert.equal(parseProxyLine(bad), undefined, bad);
  }
  // What the regular expression it replaced refused too: a pid with a leading zero or a sign, an empty start
  // time, and any line break inside the directory.
  for (
    const bad of ["01:1 /d", "+1:1 /d", "1: /d", "1:1 /a\nb", "1:1 /a\rb", "1:1 /a\u2028b", "1:1 /a\u2029"]
  ) {
    assert.equal(parseProxyLine(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("the proxy mode: no line is a quiet exit 0; a bad line or argument is one line on stderr and 1", async () => {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const run = async (args: string[], input: string) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "proxy", ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
  };
  assert.deepEqual(await run(["--", "create", "fw1"], ""), { code: 0, out: "", err: "" });
  assert.deepEqual(await run([], "4242:81234 /d"), { code: 0, out: "", err: "" }); // no newline: cut short
  for (const [args, input] of [[["--"], "garbage\n"], [["stray"], ""]] as const) {
    const r = await run([...args], input);
    assert.equal(r.code, 1);
    assert.match(r.err, /^proxy: .*; the proxy is started by create, not by hand\n$/);
  }
});

Deno.test("makeFifo: the posix_spawn way makes a FIFO (mode 0600) through its libc; Deno.Command's way cannot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "unit-spawn-fifo-" });
  try {
    const [withLibc, withCommand] = WAYS.map(({ options }) =>
      spawnDetached("/bin/sh", ["-c", "read -r line"], options)
    );
    try {
      const fifo = join(dir, "wake");
      assert.equal(withLibc.makeFifo(fifo), true);
      const made = await Deno.lstat(fifo);
      assert.ok(made.isFifo, "a FIFO");
      assert.equal(made.mode! & 0o077, 0, "no access for group or others");
      // A path that exists is an error of mkfifo: false, and the FIFO is left as it was.
      assert.equal(withLibc.makeFifo(fifo), false);
      assert.equal(withCommand.makeFifo(join(dir, "other")), false);
      assert.equal(await exists(join(dir, "other")), false);
    } finally {
      await withLibc.kill();
      await withCommand.kill();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
