import assert from "node:assert/strict";
import { join } from "node:path";
import { RuntimeError } from "../lib/errors.ts";
import { claimHolder, claimProcessor, releaseClaim } from "../lib/store/claims.ts";
import { containerDir, createContainerDir } from "../lib/store/container_store.ts";
import { STORED_NAME_PATTERN, storedFirmwareName } from "../lib/store/firmware_store.ts";
import { lockContainer } from "../lib/store/lock.ts";
import { writeFileAtomic } from "../lib/util/atomic.ts";

interface TempRoot extends AsyncDisposable {
  root: string;
}

async function tempRoot(): Promise<TempRoot> {
  const root = await Deno.makeTempDir({ prefix: "unit-store-" });
  return {
    root,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

function names0(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

function failure(action: () => unknown): RuntimeError {
  try {
    action();
  } catch (err) {
    assert.ok(err instanceof RuntimeError, `expected a RuntimeError, got ${err}`);
    return err;
  }
  assert.fail("expected the call to throw");
}

/**
 * Runs `count` separate Deno processes at once, each evaluating `code` (module URLs of lib/ available as
 * `LIB`), and returns their exit codes: real concurrency, since the store's operations are synchronous.
 */
async function racers(count: number, code: string, args: string[]): Promise<number[]> {
  const lib = new URL("../lib/", import.meta.url).href;
  const children = Array.from({ length: count }, (_, i) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", `const LIB = ${JSON.stringify(lib)};\n${code}`, String(i), ...args],
      stdout: "null",
      stderr: "piped",
    }).spawn());
  return await Promise.all(children.map(async (child) => (await child.output()).code));
}

// ---- stored firmware names ----

Deno.test("storedFirmwareName is <basename>-<ms timestamp>-<8 hex>", () => {
  assert.equal(
    storedFirmwareName("/rootfs/lib/firmware/hello.elf", 1764400000000, "ab12cd34"),
    "hello.elf-1764400000000-ab12cd34",
  );
});

Deno.test("storedFirmwareName matches STORED_NAME_PATTERN, which recovers the original name", () => {
  for (const source of ["/r/hello.elf", "/r/my-fw-1.2.elf", "/r/a-1764400000000-deadbeef", "fw"]) {
    const name = storedFirmwareName(source);
    const m = STORED_NAME_PATTERN.exec(name);
    assert.ok(m, `${name} matches`);
    assert.equal(m[1], source.split("/").at(-1));
    assert.ok(Math.abs(Number(m[2]) - Date.now()) < 60_000, "the timestamp is now, in ms");
    assert.match(m[3], /^[0-9a-f]{8}$/);
  }
});

Deno.test("storedFirmwareName gives distinct names to copies made in the same millisecond", () => {
  const now = Date.now();
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(storedFirmwareName("/r/fw.elf", now));
  assert.ok(seen.size >= 199, `only ${seen.size} distinct names out of 200`);
});

Deno.test("STORED_NAME_PATTERN does not match firmware names the user chose", () => {
  for (
    const name of [
      "hello.elf",
      "fw-1.elf",
      "fw-2024-01-01.elf",
      "fw-1764400000000",
      "fw-1764400000000-ABCDEF12",
      "fw-176440000000-ab12cd34",
      "fw-1764400000000-ab12cd3",
      "-1764400000000-ab12cd34",
    ]
  ) {
    assert.equal(STORED_NAME_PATTERN.test(name), false, name);
  }
});

// ---- atomic writes ----

Deno.test("writeFileAtomic writes the whole content, string or bytes, and leaves no temp file", async () => {
  await using t = await tempRoot();
  const path = join(t.root, "state.json");
  await writeFileAtomic(path, '{"a":1}\n');
  assert.equal(await Deno.readTextFile(path), '{"a":1}\n');
  const big = crypto.getRandomValues(new Uint8Array(65536));
  await writeFileAtomic(path, big);
  assert.deepEqual(await Deno.readFile(path), big);
  await writeFileAtomic(path, "");
  assert.equal(await Deno.readTextFile(path), "");
  writeFileAtomic(path, "not flushed", { durable: false });
  assert.equal(await Deno.readTextFile(path), "not flushed");
  assert.deepEqual(await names(t.root), ["state.json"]);
});

Deno.test("writeFileAtomic replaces an existing file instead of writing into it", async () => {
  await using t = await tempRoot();
  const path = join(t.root, "pid");
  await Deno.writeTextFile(path, "123456789");
  const before = (await Deno.stat(path)).ino;
  await writeFileAtomic(path, "42");
  assert.equal(await Deno.readTextFile(path), "42", "no tail of the old content is left");
  assert.notEqual((await Deno.stat(path)).ino, before, "a new file was renamed over the old one");
});

Deno.test("writeFileAtomic, not durable: whole content, a new file each time, the exact mode", async () => {
  await using t = await tempRoot();
  const path = join(t.root, "state.json");
  const big = crypto.getRandomValues(new Uint8Array(65536));
  writeFileAtomic(path, big, { durable: false });
  assert.deepEqual(await Deno.readFile(path), big);
  const before = (await Deno.stat(path)).ino;
  writeFileAtomic(path, "42", { durable: false, mode: 0o600 });
  assert.equal(await Deno.readTextFile(path), "42", "no tail of the old content is left");
  assert.notEqual((await Deno.stat(path)).ino, before, "a new file was renamed over the old one");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const umask = Deno.umask(0o077);
  try {
    writeFileAtomic(path, "x", { durable: false });
  } finally {
    Deno.umask(umask);
  }
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644, "the default mode, whatever the umask");
  assert.deepEqual(await names(t.root), ["state.json"]);
});

Deno.test("writeFileAtomic leaves alone a temp name another writer holds, durable or not", async () => {
  await using t = await tempRoot();
  const path = join(t.root, "state.json");
  const random = Math.random;
  Math.random = () => 0.5;
  try {
    const taken = join(t.root, `.state.json.tmp-${Deno.pid}-${(0.5).toString(36).slice(2, 10)}`);
    await Deno.writeTextFile(taken, "theirs");
    for (const durable of [true, false]) {
      assert.throws(() => writeFileAtomic(path, "mine", { durable }), Deno.errors.AlreadyExists);
      assert.equal(await Deno.readTextFile(taken), "theirs", `durable: ${durable}`);
    }
  } finally {
    Math.random = random;
  }
  assert.equal(await Deno.lstat(path).catch(() => undefined), undefined);
});

Deno.test("writeFileAtomic applies the requested mode", async () => {
  await using t = await tempRoot();
  const path = join(t.root, "secret");
  await writeFileAtomic(path, "x", { mode: 0o600 });
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const other = join(t.root, "public");
  await writeFileAtomic(other, "x");
  assert.equal((await Deno.stat(other)).mode! & 0o600, 0o600, "readable and writable by the owner");
  assert.equal((await Deno.stat(other)).mode! & 0o111, 0, "not executable");
});

Deno.test("writeFileAtomic into a missing directory fails and creates nothing", async () => {
  await using t = await tempRoot();
  assert.throws(() => writeFileAtomic(join(t.root, "nope", "f"), "x"), Deno.errors.NotFound);
  assert.deepEqual(await names(t.root), []);
});

Deno.test("writeFileAtomic: concurrent writers each leave a whole file, never a mix", async () => {
  await using t = await tempRoot();
  const path = join(t.root, "f");
  const contents = Array.from({ length: 10 }, (_, i) => String(i).repeat(10000));
  const codes = await racers(
    contents.length,
    `const { writeFileAtomic } = await import(LIB + "util/atomic.ts");
     writeFileAtomic(Deno.args[1], Deno.args[0].repeat(10000));`,
    [path],
  );
  assert.deepEqual(codes, contents.map(() => 0));
  assert.ok(contents.includes(await Deno.readTextFile(path)));
  assert.deepEqual(await names(t.root), ["f"]);
});

// ---- container directories ----

Deno.test("containerDir joins a valid id to the root", () => {
  assert.equal(containerDir("/run/rp", "fw1"), "/run/rp/fw1");
});

Deno.test("containerDir throws invalid-id for a bad id before any path is touched", async () => {
  await using t = await tempRoot();
  const root = join(t.root, "state"); // does not exist: a touched path would show up or fail differently
  for (const id of ["../escape", "..", ".", "", "a/b", "/abs", "a b"]) {
    assert.throws(
      () => containerDir(root, id),
      (e: unknown) => e instanceof RuntimeError && e.code === "invalid-id",
    );
    const err = failure(() => createContainerDir(root, id));
    assert.equal(err.code, "invalid-id", id);
  }
  assert.deepEqual(await names(t.root), [], "nothing was created, not even the root");
});

Deno.test("createContainerDir creates a private directory; a second create of the id already exists", async () => {
  await using t = await tempRoot();
  const dir = await createContainerDir(t.root, "fw1");
  assert.equal(dir, join(t.root, "fw1"));
  const st = await Deno.stat(dir);
  assert.ok(st.isDirectory);
  assert.equal(st.mode! & 0o077, 0, "no access for group or others");
  await Deno.writeTextFile(join(dir, "state.json"), "{}");
  const err = failure(() => createContainerDir(t.root, "fw1"));
  assert.equal(err.code, "exists");
  assert.match(err.message, /container with given ID already exists/);
  assert.ok(err.message.includes("fw1"), err.message);
  assert.equal(await Deno.readTextFile(join(dir, "state.json")), "{}", "the existing container is untouched");
});

Deno.test("createContainerDir: of several concurrent creates of one id exactly one wins", async () => {
  await using t = await tempRoot();
  // Exit code 0: created; 3: "exists"; anything else: an unexpected failure.
  const codes = await racers(
    8,
    `const { createContainerDir } = await import(LIB + "store/container_store.ts");
     try { createContainerDir(Deno.args[1], "race"); } catch (e) { Deno.exit(e.code === "exists" ? 3 : 1); }`,
    [t.root],
  );
  assert.equal(codes.filter((c) => c === 0).length, 1, `exit codes ${codes}`);
  assert.equal(codes.filter((c) => c === 3).length, 7, `exit codes ${codes}`);
  assert.deepEqual(await names(t.root), ["race"], "no temp directory left behind");
});

Deno.test("createContainerDir under a missing root fails naming the directory", async () => {
  await using t = await tempRoot();
  const root = join(t.root, "missing");
  const err = failure(() => createContainerDir(root, "fw1"));
  assert.equal(err.code, "not-found");
  assert.ok(err.message.includes(join(root, "fw1")), err.message);
});

// ---- processor claims ----

Deno.test("claimProcessor claims a free processor for a container", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "a");
  assert.equal(await claimHolder(t.root, "dsp0"), undefined);
  await claimProcessor(t.root, "dsp0", "a");
  assert.equal(await claimHolder(t.root, "dsp0"), "a");
  assert.deepEqual(await names(join(t.root, ".claims")), ["dsp0"], "no temp file is left behind");
});

Deno.test("claimProcessor refuses a second container, naming the holder", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "a");
  await createContainerDir(t.root, "b");
  await claimProcessor(t.root, "dsp0", "a");
  const err = failure(() => claimProcessor(t.root, "dsp0", "b"));
  assert.equal(err.code, "exists");
  assert.match(err.message, /remote processor dsp0 is already in use by container a/);
  assert.match(err.message, /delete --force a/);
  assert.equal(await claimHolder(t.root, "dsp0"), "a", "the holder keeps it");
  assert.deepEqual(await names(join(t.root, ".claims")), ["dsp0"]);
});

Deno.test("claimProcessor: the holder may claim again", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "a");
  await claimProcessor(t.root, "dsp0", "a");
  await claimProcessor(t.root, "dsp0", "a");
  assert.equal(await claimHolder(t.root, "dsp0"), "a");
});

Deno.test("claimProcessor: different processors are claimed independently", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "a");
  await createContainerDir(t.root, "b");
  await claimProcessor(t.root, "dsp0", "a");
  await claimProcessor(t.root, "dsp1", "b");
  await claimProcessor(t.root, "m4", "a");
  assert.equal(await claimHolder(t.root, "dsp0"), "a");
  assert.equal(await claimHolder(t.root, "dsp1"), "b");
  assert.equal(await claimHolder(t.root, "m4"), "a");
});

Deno.test("claimProcessor: processor names with / or .. stay inside the claims directory", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "a");
  await createContainerDir(t.root, "b");
  await claimProcessor(t.root, "soc/dsp0", "a");
  await claimProcessor(t.root, "../dsp0", "b");
  assert.equal(await claimHolder(t.root, "soc/dsp0"), "a");
  assert.equal(await claimHolder(t.root, "../dsp0"), "b");
  assert.equal(await claimHolder(t.root, "dsp0"), undefined, "not confused with a plain dsp0");
  assert.deepEqual(await names(t.root), [".claims", "a", "b"]);
});

Deno.test("claimProcessor takes over a stale claim whose container directory is gone", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "old");
  await createContainerDir(t.root, "new");
  await claimProcessor(t.root, "dsp0", "old");
  await Deno.remove(join(t.root, "old"), { recursive: true }); // its owner crashed mid-delete
  await claimProcessor(t.root, "dsp0", "new");
  assert.equal(await claimHolder(t.root, "dsp0"), "new");
});

Deno.test("claimProcessor: of several racing containers exactly one wins", async () => {
  await using t = await tempRoot();
  const ids = ["c0", "c1", "c2", "c3", "c4", "c5"];
  for (const id of ids) await createContainerDir(t.root, id);
  // Exit code 0: claimed; 3: "exists" naming the winner; anything else: an unexpected failure.
  const codes = await racers(
    ids.length,
    `const { claimProcessor, claimHolder } = await import(LIB + "store/claims.ts");
     try { claimProcessor(Deno.args[1], "dsp0", "c" + Deno.args[0]); } catch (e) {
       Deno.exit(e.code === "exists" && e.message.includes("container " + claimHolder(Deno.args[1], "dsp0")) ? 3 : 1);
     }`,
    [t.root],
  );
  const winners = ids.filter((_, i) => codes[i] === 0);
  assert.equal(winners.length, 1, `exit codes ${codes}`);
  assert.equal(codes.filter((c) => c === 3).length, ids.length - 1, `exit codes ${codes}`);
  assert.equal(await claimHolder(t.root, "dsp0"), winners[0]);
  assert.deepEqual(await names(join(t.root, ".claims")), ["dsp0"], "no temp file is left behind");
});

Deno.test("releaseClaim frees the processor for its holder only", async () => {
  await using t = await tempRoot();
  await createContainerDir(t.root, "a");
  await createContainerDir(t.root, "b");
  await claimProcessor(t.root, "dsp0", "a");
  await releaseClaim(t.root, "dsp0", "b"); // not the holder: nothing happens
  assert.equal(await claimHolder(t.root, "dsp0"), "a");
  assert.throws(() => claimProcessor(t.root, "dsp0", "b"), RuntimeError);
  await releaseClaim(t.root, "dsp0", "a");
  assert.equal(await claimHolder(t.root, "dsp0"), undefined);
  await claimProcessor(t.root, "dsp0", "b");
  assert.equal(await claimHolder(t.root, "dsp0"), "b");
});

Deno.test("releaseClaim of a processor nobody holds is not an error", async () => {
  await using t = await tempRoot();
  await releaseClaim(t.root, "dsp0", "a");
  await createContainerDir(t.root, "a");
  await claimProcessor(t.root, "dsp0", "a");
  await releaseClaim(t.root, "dsp0", "a");
  await releaseClaim(t.root, "dsp0", "a");
  assert.equal(await claimHolder(t.root, "dsp0"), undefined);
});

// ---- container lock ----

/** Whether another process could take the lock right now (flock -n on the same file). */
async function lockIsFree(dir: string): Promise<boolean> {
  const { code } = await new Deno.Command("flock", { args: ["-n", join(dir, "lock"), "true"] }).output();
  return code === 0;
}

Deno.test("lockContainer serialises holders: another process gets the lock only after it is disposed", async () => {
  await using t = await tempRoot();
  const dir = createContainerDir(t.root, "fw1");
  const marker = join(t.root, "second-acquired");
  const first = lockContainer(dir);
  // The second holder is another process (the lock blocks its caller): it writes the marker once it holds it.
  const lib = new URL("../lib/", import.meta.url).href;
  const second = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const { lockContainer } = await import(${JSON.stringify(lib)} + "store/lock.ts");
       using _lock = lockContainer(Deno.args[0]);
       Deno.writeTextFileSync(Deno.args[1], "");`,
      dir,
      marker,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Another process cannot take it either; running it gives the second waiter ample time to (wrongly) win.
  assert.equal(await lockIsFree(dir), false);
  assert.equal(await exists(marker), false, "the second holder is still waiting");
  first[Symbol.dispose]();
  const { code, stderr } = await second.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(await exists(marker), true, "the second holder got the lock once the first let go");
  assert.equal(await lockIsFree(dir), true, "its exit freed it");
});

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("lockContainer: `using` releases the lock at the end of the block", async () => {
  await using t = await tempRoot();
  const dir = await createContainerDir(t.root, "fw1");
  {
    using _lock = lockContainer(dir);
    assert.equal(await lockIsFree(dir), false);
  }
  assert.equal(await lockIsFree(dir), true);
});

Deno.test("lockContainer: disposing twice is harmless", async () => {
  await using t = await tempRoot();
  const dir = await createContainerDir(t.root, "fw1");
  const lock = lockContainer(dir);
  lock[Symbol.dispose]();
  lock[Symbol.dispose]();
  using _again = lockContainer(dir);
});

Deno.test("lockContainer on a directory that is gone fails with NotFound", async () => {
  await using t = await tempRoot();
  assert.throws(() => lockContainer(join(t.root, "gone")), Deno.errors.NotFound);
});

Deno.test("createContainerDir: the directory appears only once it is filled, and a failed fill leaves nothing", async () => {
  await using t = await tempRoot();
  const seen: boolean[] = [];
  createContainerDir(t.root, "fw1", (tmp) => {
    seen.push(names0(t.root).includes("fw1"));
    Deno.writeTextFileSync(join(tmp, "state.json"), "{}");
  });
  assert.deepEqual(seen, [false], "not visible while being filled");
  assert.equal(await Deno.readTextFile(join(t.root, "fw1", "state.json")), "{}");
  assert.throws(() =>
    createContainerDir(t.root, "fw2", () => {
      throw new Error("disk full");
    })
  );
  assert.deepEqual(await names(t.root), ["fw1"], "no temp directory and no fw2 left");
});
