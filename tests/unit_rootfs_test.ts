import assert from "node:assert/strict";
import { join } from "node:path";
import { RuntimeError } from "../lib/errors.ts";
import { resolveInRootfs } from "../lib/oci/rootfs.ts";

interface TempTree extends AsyncDisposable {
  /** The temp directory holding everything. */
  dir: string;
  /** The rootfs (real path) inside it. */
  rootfs: string;
}

/** A temp dir with `rootfs/` holding `files` (path -> content); other entries are added by the test. */
async function makeTree(files: Record<string, string> = {}): Promise<TempTree> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "unit-rootfs-" }));
  const rootfs = join(dir, "rootfs");
  await Deno.mkdir(rootfs);
  for (const [path, content] of Object.entries(files)) {
    const host = join(rootfs, path);
    await Deno.mkdir(join(host, ".."), { recursive: true });
    await Deno.writeTextFile(host, content);
  }
  return {
    dir,
    rootfs,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function assertRefused(
  rootfs: string,
  path: string,
  cwd: string,
  ...patterns: RegExp[]
): Promise<RuntimeError> {
  let caught: unknown;
  let resolved: unknown;
  try {
    resolved = await resolveInRootfs(rootfs, path, cwd);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RuntimeError, `${path} should not resolve, got ${JSON.stringify(resolved)}`);
  assert.ok(!caught.message.includes("\n"), caught.message);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

async function contentOf(hostPath: string): Promise<string> {
  return await Deno.readTextFile(hostPath);
}

Deno.test("resolveInRootfs finds a plain file and reports its inner and host paths", async () => {
  await using t = await makeTree({ "hello.elf": "FW" });
  const r = await resolveInRootfs(t.rootfs, "hello.elf");
  assert.equal(r.hostPath, join(t.rootfs, "hello.elf"));
  assert.equal(r.innerPath, "/hello.elf");
  assert.equal(await contentOf(r.hostPath), "FW");
  const st = await Deno.stat(r.hostPath);
  assert.equal(r.ino, st.ino);
  assert.equal(r.dev, st.dev);
});

Deno.test("resolveInRootfs: a leading / is the rootfs root, whatever the cwd", async () => {
  await using t = await makeTree({ "lib/firmware/fw.elf": "ROOT", "opt/lib/firmware/fw.elf": "OPT" });
  const r = await resolveInRootfs(t.rootfs, "/lib/firmware/fw.elf", "/opt");
  assert.equal(r.innerPath, "/lib/firmware/fw.elf");
  assert.equal(await contentOf(r.hostPath), "ROOT");
});

Deno.test("resolveInRootfs: a relative path is taken from process.cwd", async () => {
  await using t = await makeTree({ "fw.elf": "TOP", "opt/fw.elf": "OPT" });
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "fw.elf", "/opt")).hostPath), "OPT");
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "fw.elf", "/opt/")).hostPath), "OPT");
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "./fw.elf", "/opt")).hostPath), "OPT");
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "fw.elf", "/")).hostPath), "TOP");
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "fw.elf")).hostPath), "TOP");
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "../fw.elf", "/opt")).hostPath), "TOP");
});

Deno.test("resolveInRootfs: .. stops at the rootfs root and never reads the host", async () => {
  await using t = await makeTree({ "hello.elf": "FW", "deep/er/x": "" });
  // Plant a file just outside the rootfs: climbing out must never reach it.
  await Deno.writeTextFile(join(t.dir, "outside.elf"), "HOST");
  for (const path of ["../outside.elf", "../../outside.elf", "/../outside.elf", "a/../../outside.elf"]) {
    await assertRefused(t.rootfs, path, "/", /does not exist in the rootfs/);
  }
  // Host files such as /etc/passwd are looked for inside the rootfs, where they do not exist.
  const err = await assertRefused(t.rootfs, "../../../../../../etc/passwd", "/", /looked for \/etc\b/);
  assert.equal(err.code, "invalid-config");
  // .. above the root lands on the root, so a file in the rootfs is still found.
  const r = await resolveInRootfs(t.rootfs, "../../../../hello.elf", "/deep/er");
  assert.equal(r.innerPath, "/hello.elf");
  assert.equal(await contentOf(r.hostPath), "FW");
});

Deno.test("resolveInRootfs: ../../etc/passwd resolves to the rootfs's own /etc/passwd when it has one", async () => {
  await using t = await makeTree({ "etc/passwd": "IMAGE-PASSWD" });
  const r = await resolveInRootfs(t.rootfs, "../../etc/passwd", "/");
  assert.equal(r.innerPath, "/etc/passwd");
  assert.equal(r.hostPath, join(t.rootfs, "etc/passwd"));
  assert.equal(await contentOf(r.hostPath), "IMAGE-PASSWD");
});

Deno.test("resolveInRootfs: an absolute symlink to /etc/passwd is followed inside the rootfs", async () => {
  await using t = await makeTree();
  await Deno.symlink("/etc/passwd", join(t.rootfs, "fw.elf"));
  await assertRefused(t.rootfs, "fw.elf", "/", /does not exist in the rootfs/, /looked for \/etc/);
  // Once the rootfs has its own /etc/passwd, the link resolves to THAT file.
  await Deno.mkdir(join(t.rootfs, "etc"));
  await Deno.writeTextFile(join(t.rootfs, "etc/passwd"), "IMAGE-PASSWD");
  const r = await resolveInRootfs(t.rootfs, "fw.elf");
  assert.equal(r.innerPath, "/etc/passwd");
  assert.equal(r.hostPath, join(t.rootfs, "etc/passwd"));
  assert.equal(await contentOf(r.hostPath), "IMAGE-PASSWD");
});

Deno.test("resolveInRootfs: a relative symlink climbing out with ../../.. stays inside", async () => {
  await using t = await makeTree({ "lib/firmware/real.elf": "REAL" });
  await Deno.writeTextFile(join(t.dir, "outside.elf"), "HOST");
  await Deno.symlink("../../../../outside.elf", join(t.rootfs, "lib/firmware/fw.elf"));
  await assertRefused(t.rootfs, "/lib/firmware/fw.elf", "/", /does not exist in the rootfs/);
  // A relative link that climbs too far but names a file in the rootfs finds that file.
  await Deno.symlink("../../../../../lib/firmware/real.elf", join(t.rootfs, "lib/firmware/up.elf"));
  const r = await resolveInRootfs(t.rootfs, "/lib/firmware/up.elf");
  assert.equal(r.innerPath, "/lib/firmware/real.elf");
  assert.equal(await contentOf(r.hostPath), "REAL");
});

Deno.test("resolveInRootfs: a relative symlink is taken from the link's own directory", async () => {
  await using t = await makeTree({ "lib/firmware/v2/fw.elf": "V2", "v2/fw.elf": "WRONG" });
  await Deno.symlink("v2/fw.elf", join(t.rootfs, "lib/firmware/current.elf"));
  const r = await resolveInRootfs(t.rootfs, "/lib/firmware/current.elf");
  assert.equal(r.innerPath, "/lib/firmware/v2/fw.elf");
  assert.equal(await contentOf(r.hostPath), "V2");
});

Deno.test("resolveInRootfs follows a chain of symlinks, including symlinked directories", async () => {
  await using t = await makeTree({ "opt/vendor/fw-1.2.elf": "CHAIN" });
  await Deno.symlink("/opt/vendor", join(t.rootfs, "fwdir")); // absolute link to a directory
  await Deno.symlink("fwdir/fw-1.2.elf", join(t.rootfs, "step2")); // relative, through the dir link
  await Deno.symlink("/step2", join(t.rootfs, "step1"));
  await Deno.symlink("step1", join(t.rootfs, "fw.elf"));
  const r = await resolveInRootfs(t.rootfs, "fw.elf");
  assert.equal(r.innerPath, "/opt/vendor/fw-1.2.elf");
  assert.equal(r.hostPath, join(t.rootfs, "opt/vendor/fw-1.2.elf"));
  assert.equal(await contentOf(r.hostPath), "CHAIN");
  // A directory symlink in the middle of the asked path is followed inside the rootfs, too.
  const mid = await resolveInRootfs(t.rootfs, "/fwdir/fw-1.2.elf");
  assert.equal(mid.innerPath, "/opt/vendor/fw-1.2.elf");
});

Deno.test("resolveInRootfs: a directory symlink to the host's / does not leave the rootfs", async () => {
  await using t = await makeTree({ "etc/hostname": "IMAGE" });
  await Deno.symlink("/", join(t.rootfs, "host"));
  await Deno.symlink("../../..", join(t.rootfs, "up"));
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "/host/etc/hostname")).hostPath), "IMAGE");
  assert.equal(await contentOf((await resolveInRootfs(t.rootfs, "/up/etc/hostname")).hostPath), "IMAGE");
  await assertRefused(t.rootfs, "/host/etc/passwd", "/", /does not exist in the rootfs/);
});

Deno.test("resolveInRootfs: .. after a symlinked directory climbs from the link's target", async () => {
  await using t = await makeTree({ "a/b/x.elf": "AB", "a/x.elf": "A", "x.elf": "TOP" });
  await Deno.symlink("/a/b", join(t.rootfs, "link"));
  // link/.. is /a (the target's parent), not / (the link's parent), as on Linux.
  const r = await resolveInRootfs(t.rootfs, "/link/../x.elf");
  assert.equal(r.innerPath, "/a/x.elf");
  assert.equal(await contentOf(r.hostPath), "A");
});

Deno.test("resolveInRootfs: a symlink loop is an error about symbolic links", async () => {
  await using t = await makeTree();
  await Deno.symlink("b.elf", join(t.rootfs, "a.elf"));
  await Deno.symlink("/a.elf", join(t.rootfs, "b.elf"));
  await Deno.symlink("self.elf", join(t.rootfs, "self.elf"));
  for (const path of ["a.elf", "b.elf", "self.elf"]) {
    const err = await assertRefused(t.rootfs, path, "/", /too many levels of symbolic links/);
    assert.equal(err.code, "invalid-config");
    assert.ok(err.message.includes(path), err.message);
  }
});

Deno.test("resolveInRootfs: a dangling symlink or missing file does not exist", async () => {
  await using t = await makeTree({ "fw.elf": "x" });
  await Deno.symlink("/nowhere.elf", join(t.rootfs, "dangling.elf"));
  const err = await assertRefused(t.rootfs, "dangling.elf", "/", /does not exist in the rootfs/);
  assert.equal(err.code, "invalid-config");
  assert.match(err.message, /process\.args\[0\]/);
  await assertRefused(t.rootfs, "missing.elf", "/", /firmware missing\.elf does not exist/);
  await assertRefused(t.rootfs, "/no/such/dir/fw.elf", "/", /looked for \/no\b/);
});

Deno.test("resolveInRootfs: a file used as a directory is refused", async () => {
  await using t = await makeTree({ "fw.elf": "x" });
  await assertRefused(t.rootfs, "fw.elf/inner.elf", "/", /\/fw\.elf is not a directory/);
});

Deno.test("resolveInRootfs refuses a directory, saying so", async () => {
  await using t = await makeTree({ "lib/firmware/fw.elf": "x" });
  for (const path of ["/lib/firmware", "/", ".", "lib/..", "/lib/firmware/"]) {
    const err = await assertRefused(t.rootfs, path, "/", /which is a directory/, /must name a regular file/);
    assert.equal(err.code, "invalid-config");
  }
  await Deno.symlink("/lib", join(t.rootfs, "dirlink"));
  await assertRefused(t.rootfs, "dirlink", "/", /resolves to \/lib in the rootfs, which is a directory/);
});

Deno.test("resolveInRootfs refuses a FIFO as not a regular file", async () => {
  await using t = await makeTree();
  const fifo = join(t.rootfs, "fw.fifo");
  const { code } = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(code, 0, "mkfifo failed");
  await assertRefused(
    t.rootfs,
    "fw.fifo",
    "/",
    /resolves to \/fw\.fifo in the rootfs, which is not a regular file/,
  );
  // Through a symlink too.
  await Deno.symlink("fw.fifo", join(t.rootfs, "fw.elf"));
  await assertRefused(t.rootfs, "fw.elf", "/", /which is not a regular file/);
});

Deno.test("resolveInRootfs refuses a unix socket as not a regular file", async () => {
  await using t = await makeTree();
  const path = join(t.rootfs, "fw.sock");
  using _listener = Deno.listen({ transport: "unix", path });
  await assertRefused(t.rootfs, "fw.sock", "/", /which is not a regular file/);
});

Deno.test("resolveInRootfs: a missing rootfs is not-found and names root.path", async () => {
  await using t = await makeTree();
  const missing = join(t.dir, "no-rootfs");
  const err = await assertRefused(missing, "fw.elf", "/", /does not exist/, /root\.path/);
  assert.equal(err.code, "not-found");
  assert.ok(err.message.includes(missing), err.message);
});

Deno.test("resolveInRootfs: a rootfs that is a file is refused", async () => {
  await using t = await makeTree();
  const file = join(t.dir, "rootfs.img");
  await Deno.writeTextFile(file, "not a dir");
  const err = await assertRefused(file, "fw.elf", "/", /is not a directory/, /root\.path/);
  assert.equal(err.code, "invalid-config");
  assert.ok(err.message.includes(file), err.message);
});

Deno.test("resolveInRootfs: a rootfs that is itself a symlink to a directory works", async () => {
  await using t = await makeTree({ "hello.elf": "FW" });
  const link = join(t.dir, "rootfs-link");
  await Deno.symlink(t.rootfs, link);
  const r = await resolveInRootfs(link, "hello.elf");
  assert.equal(r.innerPath, "/hello.elf");
  assert.equal(await contentOf(r.hostPath), "FW");
  // Links inside it still resolve against the real rootfs.
  await Deno.symlink("/hello.elf", join(t.rootfs, "abs.elf"));
  assert.equal(await contentOf((await resolveInRootfs(link, "abs.elf")).hostPath), "FW");
});
