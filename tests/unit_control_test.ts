import assert from "node:assert/strict";
import { bootObstacle } from "../lib/remoteproc/control.ts";
import { attributeReader, checkWritable } from "../lib/remoteproc/sysfs.ts";
import { descriptorIo } from "../lib/process/fifo_wait.ts";
import { readCommandLine } from "../lib/cli/globals.ts";
import { Simulator } from "../lib/simulator/simulator.ts";

Deno.test("bootObstacle: none for an offline processor; its state, a read-only attribute or a missing one otherwise", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rproc-test-control-" });
  try {
    await using sim = await Simulator.start({
      dir,
      processors: [{ name: "dsp0" }, { name: "m4", state: "running" }, { name: "ro", readOnly: true }],
    });
    assert.equal(bootObstacle(sim.processorDir("dsp0")), undefined);
    assert.equal(bootObstacle(sim.processorDir("m4")), "it is running, not offline");
    assert.match(
      bootObstacle(sim.processorDir("ro")) ?? "",
      /firmware: the attribute is read-only \(mode 444\)/,
    );
    assert.throws(() => checkWritable(sim.processorDir("ro"), "state"), /read-only/);
    assert.equal(checkWritable(sim.processorDir("dsp0"), "state"), `${sim.processorDir("dsp0")}/state`);
    assert.match(bootObstacle(`${dir}/nowhere`) ?? "", /cannot read .*nowhere\/state: it does not exist/);
    // It only reads: nothing was written to any processor.
    for (const name of ["dsp0", "m4", "ro"]) assert.deepEqual(sim.writes(name), [], name);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCommandLine: the command is the first argument after the global flags, undefined on none or a bad global flag", () => {
  const commandOf = (argv: string[]) => readCommandLine(argv)?.command;
  assert.equal(commandOf(["--root", "/tmp/r", "state", "fw1"]), "state");
  assert.equal(commandOf(["--root=/tmp/r", "--debug", "create", "--bundle", "b", "x"]), "create");
  // A flag's value that happens to be a command name is not the command.
  assert.equal(commandOf(["--log", "kill", "delete", "fw1"]), "delete");
  assert.equal(commandOf(["--", "start", "fw1"]), "start");
  assert.equal(commandOf(["--root"]), undefined);
  assert.equal(commandOf(["--nope", "state", "x"]), undefined);
  assert.equal(commandOf([]), undefined);
});

for (const via of ["Deno", "libc"] as const) {
  Deno.test(`attributeReader (${via}): one descriptor for every read, fresh values after an in-place write, a replacement or a removal`, async () => {
    const io = via === "libc" ? descriptorIo() : undefined;
    if (via === "libc") assert.ok(io, "libc with statx is there");
    const dir = await Deno.makeTempDir({ prefix: "rproc-test-attr-" });
    const path = `${dir}/state`;
    const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;
    try {
      await Deno.writeTextFile(path, "running\n");
      const before = openFds();
      {
        using state = attributeReader(dir, "state", io);
        assert.equal(state.read(), "running");
        assert.equal(state.read(), "running");
        assert.equal(openFds(), before + 1);
        // Rewritten in place, as the kernel's show() answers anew on each read from offset 0: as long as the
        // value before it (each read's bytes are compared with the last's), longer, shorter, empty, and back.
        await Deno.writeTextFile(path, "crashed\n");
        assert.equal(state.read(), "crashed");
        for (const value of ["running", "suspended", "offline", "", "crashed"]) {
          await Deno.writeTextFile(path, value === "" ? "" : `${value}\n`);
          assert.equal(state.read(), value);
          assert.equal(state.read(), value);
        }
        for (let i = 0; i < 5; i++) state.read();
        assert.equal(openFds(), before + 1, "the reads share one descriptor");
        // Replaced under its path, as a fake tree's atomic rewrite does.
        await Deno.writeTextFile(`${dir}/new`, "offline\n");
        await Deno.rename(`${dir}/new`, path);
        assert.equal(state.read(), "offline");
        assert.equal(openFds(), before + 1, "the replaced file's descriptor is closed");
        // Gone: an error naming the path; back: read again.
        await Deno.remove(path);
        assert.throws(() => state.read(), new RegExp(`cannot read ${path}: it does not exist`));
        assert.equal(openFds(), before);
        const long = "x".repeat(5000);
        await Deno.writeTextFile(path, long + "\n");
        assert.equal(state.read(), long);
        // Longer than a page, a character's two bytes on both sides of the page's end.
        const split = "x".repeat(4095) + "é" + "y".repeat(4097);
        await Deno.writeTextFile(path, split + "\n");
        assert.equal(state.read(), split);
      }
      assert.equal(openFds(), before, "disposing closes the descriptor");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
