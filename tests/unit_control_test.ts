import assert from "node:assert/strict";
import { bootObstacle } from "../lib/remoteproc/control.ts";
import { checkWritable } from "../lib/remoteproc/sysfs.ts";
import { commandOf } from "../lib/cli/globals.ts";
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

Deno.test("commandOf: the first argument after the global flags, undefined on none or a bad global flag", () => {
  assert.equal(commandOf(["--root", "/tmp/r", "state", "fw1"]), "state");
  assert.equal(commandOf(["--root=/tmp/r", "--debug", "create", "--bundle", "b", "x"]), "create");
  // A flag's value that happens to be a command name is not the command.
  assert.equal(commandOf(["--log", "kill", "delete", "fw1"]), "delete");
  assert.equal(commandOf(["--", "start", "fw1"]), "start");
  assert.equal(commandOf(["--root"]), undefined);
  assert.equal(commandOf(["--nope", "state", "x"]), undefined);
  assert.equal(commandOf([]), undefined);
});
