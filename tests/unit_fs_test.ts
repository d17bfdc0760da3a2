import assert from "node:assert/strict";
import { join } from "node:path";
import { pidListed } from "../lib/process/proc.ts";
import { pathExists, pathListed, writeAllSync } from "../lib/util/fs.ts";

Deno.test("pathListed and pathExists agree on files, directories, missing names and missing directories", async () => {
  const dir = await Deno.makeTempDir({ prefix: "unit-fs-" });
  try {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", "file"), "x");
    await Deno.symlink(join(dir, "nowhere"), join(dir, "dangling"));
    const cases: [string, boolean][] = [
      ["/", true],
      [dir, true],
      [join(dir, "sub"), true],
      [join(dir, "sub", "file"), true],
      [join(dir, "dangling"), true],
      [join(dir, "sub", "missing"), false],
      [join(dir, "missing", "file"), false],
      [join(dir, "sub", "file", "below-a-file"), true], // not listable: left to the read that follows
    ];
    for (const [path, listed] of cases) assert.equal(pathListed(path), listed, path);
    // Starting the walk at a directory on the way gives the same answers below it.
    for (const [path, listed] of cases.slice(2)) {
      assert.equal(pathListed(path, dir), listed, `${path} from ${dir}`);
    }
    assert.equal(pathListed(join(dir, "sub", "file"), dir + "/"), true);
    assert.throws(() => pathListed("/etc/passwd", dir), /is not under/);
    for (const [path, listed] of cases.slice(0, -1)) assert.equal(pathExists(path), listed, path);
    assert.equal(pathExists(join(dir, "sub", "file", "below-a-file")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pidListed: this process is listed in /proc, a reaped child is not", async () => {
  assert.equal(pidListed(Deno.pid), true);
  const child = new Deno.Command("true").spawn();
  const pid = child.pid;
  await child.status;
  assert.equal(pidListed(pid), false);
});

Deno.test("writeAllSync keeps writing until every byte is taken, however little each call takes", () => {
  const taken: number[] = [];
  const stingy = {
    writeSync(bytes: Uint8Array) {
      const n = Math.min(3, bytes.length);
      taken.push(...bytes.subarray(0, n));
      return n;
    },
  };
  const bytes = new TextEncoder().encode("a line longer than three bytes\n");
  writeAllSync(stingy, bytes);
  assert.deepEqual(taken, [...bytes]);
});
