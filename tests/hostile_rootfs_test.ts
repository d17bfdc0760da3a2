/**
 * Guarantee 1: nothing escapes the rootfs. Whatever an image holds where the firmware should be, the runtime
 * never copies a host file into the firmware directory: a marker file with unique content sits on the host
 * next to the bundle, and no file the runtime writes may ever hold that content.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertNothingLeft, type Fixture, makeFixture, storedCopies } from "./helpers.ts";

interface Scene {
  f: Fixture;
  bundle: string;
  rootfs: string;
  /** Absolute host path of the marker file. */
  marker: string;
  markerText: string;
}

/** A fixture with a bundle whose rootfs has no hello.elf yet, and a host marker file outside it. */
async function scene(f: Fixture): Promise<Scene> {
  const bundle = await f.bundle();
  const rootfs = join(bundle, "rootfs");
  await Deno.remove(join(rootfs, "hello.elf"));
  const secretDir = join(f.dir, "host-secret");
  await Deno.mkdir(secretDir, { recursive: true });
  const marker = join(secretDir, "marker.elf");
  const markerText = `HOST-SECRET-${crypto.randomUUID()}`;
  await Deno.writeTextFile(marker, markerText);
  return { f, bundle, rootfs, marker, markerText };
}

/** Every regular file under `dir`, recursively (symlinks not followed). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) out.push(...await filesUnder(path));
      else if (e.isFile) out.push(path);
    }
  } catch {
    // missing
  }
  return out;
}

/** No file the runtime may write (host tree incl. firmware directory, state root) holds the marker. */
async function assertMarkerNotCopied(s: Scene): Promise<void> {
  for (const path of [...await filesUnder(s.f.host), ...await filesUnder(s.f.root)]) {
    const text = await Deno.readTextFile(path).catch(() => "");
    assert.ok(!text.includes(s.markerText), `host file content leaked into ${path}`);
  }
}

async function refused(s: Scene, pattern: RegExp, args = ["hello.elf"]): Promise<void> {
  if (args[0] !== "hello.elf") {
    const config = JSON.parse(await Deno.readTextFile(join(s.bundle, "config.json")));
    config.process.args = args;
    await Deno.writeTextFile(join(s.bundle, "config.json"), JSON.stringify(config));
  }
  const r = await s.f.cli(["create", "--bundle", s.bundle, "fw1"]);
  assert.equal(r.code, 1, `create must fail; stdout ${r.stdout}`);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  await assertMarkerNotCopied(s);
  await assertNothingLeft(s.f);
  assert.deepEqual(s.f.sim.writes("dsp0"), []);
}

async function accepted(s: Scene, expected: string): Promise<void> {
  const r = await s.f.cli(["create", "--bundle", s.bundle, "fw1"]);
  assert.equal(r.code, 0, r.stderr);
  const copies = await storedCopies(s.f);
  assert.equal(copies.length, 1);
  assert.equal(await Deno.readTextFile(join(s.f.sim.firmwareDir(), copies[0])), expected);
  await assertMarkerNotCopied(s);
  assert.equal((await s.f.cli(["delete", "--force", "fw1"])).code, 0);
  await assertNothingLeft(s.f);
}

const NOT_IN_ROOTFS = /^firmware \S+ does not exist in the rootfs/;

Deno.test("rootfs: an absolute symlink to a host file is resolved inside the rootfs and refused", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  await Deno.symlink(s.marker, join(s.rootfs, "hello.elf"));
  await refused(s, NOT_IN_ROOTFS);
});

Deno.test("rootfs: an absolute symlink reaches the rootfs's own copy of that path, never the host's", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  await Deno.symlink(s.marker, join(s.rootfs, "hello.elf"));
  const inside = join(s.rootfs, s.marker);
  await Deno.mkdir(join(inside, ".."), { recursive: true });
  await Deno.writeTextFile(inside, "IMAGE-FIRMWARE");
  await accepted(s, "IMAGE-FIRMWARE");
});

Deno.test("rootfs: a relative symlink climbing out with .. stops at the rootfs root", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  // rootfs is <dir>/bundle-0/rootfs; ../../host-secret/marker.elf would be the marker on the host.
  await Deno.symlink("../../host-secret/marker.elf", join(s.rootfs, "hello.elf"));
  await refused(s, NOT_IN_ROOTFS);
  await Deno.mkdir(join(s.rootfs, "host-secret"));
  await Deno.writeTextFile(join(s.rootfs, "host-secret/marker.elf"), "IMAGE-FIRMWARE");
  await accepted(s, "IMAGE-FIRMWARE");
});

Deno.test("rootfs: deep .. chains in a symlink stop at the rootfs root", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  await Deno.symlink("../".repeat(40) + s.marker.slice(1), join(s.rootfs, "hello.elf"));
  await refused(s, NOT_IN_ROOTFS);
});

Deno.test("rootfs: a chain of symlinks ending outside is refused", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  await Deno.mkdir(join(s.rootfs, "lib"));
  await Deno.symlink("lib/a", join(s.rootfs, "hello.elf"));
  await Deno.symlink("../b", join(s.rootfs, "lib/a"));
  await Deno.symlink("/c", join(s.rootfs, "b"));
  await Deno.symlink("../..//" + s.marker, join(s.rootfs, "c"));
  await refused(s, NOT_IN_ROOTFS);
});

Deno.test("rootfs: a symlinked directory pointing at the host is followed inside the rootfs", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  await Deno.symlink(join(s.marker, ".."), join(s.rootfs, "lib"));
  await refused(s, NOT_IN_ROOTFS, ["/lib/marker.elf"]);
});

Deno.test("rootfs: symlink loops are refused, not followed for ever", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  await Deno.symlink("hello.elf", join(s.rootfs, "hello.elf"));
  await refused(s, /too many levels of symbolic links/);
  await Deno.remove(join(s.rootfs, "hello.elf"));
  await Deno.symlink("a", join(s.rootfs, "hello.elf"));
  await Deno.symlink("b", join(s.rootfs, "a"));
  await Deno.symlink("/hello.elf", join(s.rootfs, "b"));
  await refused(s, /too many levels of symbolic links/);
});

Deno.test("rootfs: .. in process.args cannot leave the rootfs", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  for (
    const arg of ["../../host-secret/marker.elf", "/../../host-secret/marker.elf", s.marker, `/..${s.marker}`]
  ) {
    await refused(s, NOT_IN_ROOTFS, [arg]);
  }
  const config = JSON.parse(await Deno.readTextFile(join(s.bundle, "config.json")));
  config.process.args = ["../../host-secret/marker.elf"];
  config.process.cwd = "/../..";
  await Deno.writeTextFile(join(s.bundle, "config.json"), JSON.stringify(config));
  const r = await f.cli(["create", "--bundle", s.bundle, "fw1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, NOT_IN_ROOTFS);
  await assertMarkerNotCopied(s);
  await assertNothingLeft(f);
});

Deno.test("rootfs: a directory, fifo, socket or device where the firmware should be is refused", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  const fw = join(s.rootfs, "hello.elf");

  await Deno.mkdir(fw);
  await refused(s, /resolves to \/hello\.elf in the rootfs, which is a directory/);
  await Deno.remove(fw);

  // A fifo: opening it for reading would block for ever.
  assert.equal((await new Deno.Command("mkfifo", { args: [fw] }).output()).code, 0);
  await refused(s, /which is not a regular file/);
  await Deno.remove(fw);

  const listener = Deno.listen({ transport: "unix", path: fw });
  try {
    assert.ok((await Deno.lstat(fw)).isSocket);
    await refused(s, /which is not a regular file/);
  } finally {
    listener.close();
  }
  await Deno.remove(fw).catch(() => {});

  // /dev/zero's numbers: reading it would never end; /dev/sda-like block device numbers too.
  for (const [type, major, minor] of [["c", "1", "5"], ["b", "7", "0"]]) {
    const made = await new Deno.Command("mknod", { args: [fw, type, major, minor] }).output();
    assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
    await refused(s, /which is not a regular file/);
    await Deno.remove(fw);
  }

  // A symlink to a device on the host is resolved inside the rootfs.
  await Deno.symlink("/dev/zero", fw);
  await refused(s, NOT_IN_ROOTFS);
});

Deno.test("rootfs: a rootfs that is itself a symlink is followed once, then never left", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const s = await scene(f);
  // The engine's rootfs is a symlink to the real directory (as mounts and snapshotters do).
  const real = join(f.dir, "real-rootfs");
  await Deno.rename(s.rootfs, real);
  await Deno.symlink(real, s.rootfs);
  await Deno.writeTextFile(join(real, "hello.elf"), "IMAGE-FIRMWARE");
  await accepted(s, "IMAGE-FIRMWARE");
  // Inside it, an absolute symlink still resolves inside the (real) rootfs.
  await Deno.remove(join(real, "hello.elf"));
  await Deno.symlink(s.marker, join(real, "hello.elf"));
  await refused(s, NOT_IN_ROOTFS);
  // A dangling rootfs symlink and a looping one are refused with one line.
  await Deno.remove(s.rootfs);
  await Deno.symlink(join(f.dir, "nowhere"), s.rootfs);
  await refused(s, /cannot open rootfs \S+: it does not exist/);
  await Deno.remove(s.rootfs);
  await Deno.symlink(s.rootfs, s.rootfs);
  await refused(s, /cannot open rootfs \S+/);
  // A rootfs symlink to a regular host file is not a directory.
  await Deno.remove(s.rootfs);
  await Deno.symlink(s.marker, s.rootfs);
  await refused(s, /rootfs \S+ is not a directory/);
});
