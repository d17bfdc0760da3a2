// podman drives the real CLI through a generated wrapper, against a simulated board, with all of podman's
// state in a temp dir (see ../shared/reference/engines.md for what podman sends a runtime).
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProcessorSpec } from "../lib/simulator/simulator.ts";
import { EXIT } from "../lib/proxy/machine.ts";
import {
  type CommandResult,
  eventually,
  globalLeftovers,
  missingEngine,
  mustRun,
  runCommand,
  writeRootfsTar,
  writeRuntimeWrapper,
} from "./engine_helpers.ts";
import { firmwareFiles, type Fixture, listDir, makeFixture } from "./helpers.ts";

const skip = missingEngine(["podman"]);
const IMAGE = "localhost/remoteproc-hello:test";
const RUN = ["--pull", "never", "--network", "none", "--annotation"];

/** One podman installation in a temp dir, bound to one board's runtime wrapper. */
interface Podman {
  (args: string[], options?: { timeoutMs?: number }): Promise<CommandResult>;
  must(args: string[]): Promise<string>;
}

function podmanFor(engineDir: string, runtime: string, outDir: string): Podman {
  const globals = [
    "--root",
    join(engineDir, "graph"),
    "--runroot",
    join(engineDir, "run"),
    "--tmpdir",
    join(engineDir, "tmp"),
    "--storage-driver",
    "vfs",
    "--runtime",
    runtime,
  ];
  const env = { CONTAINERS_CONF: join(engineDir, "containers.conf") };
  const podman = (args: string[], o: { timeoutMs?: number } = {}) =>
    runCommand("podman", [...globals, ...args], { env, outDir, timeoutMs: o.timeoutMs });
  podman.must = (args: string[]) => mustRun("podman", [...globals, ...args], { env, outDir });
  return podman;
}

async function inspect(podman: Podman, id: string, format: string): Promise<string> {
  return (await podman.must(["inspect", "--format", format, id])).trim();
}

Deno.test({
  name: "podman runs firmware containers through the runtime",
  ignore: skip !== undefined,
  async fn(t) {
    const leftovers = globalLeftovers([
      "/run/containers",
      "/var/lib/containers/cache",
      "/var/lib/containers",
    ]);
    const engineDir = await Deno.makeTempDir({ prefix: "rproc-podman-" });
    try {
      await Deno.writeTextFile(
        join(engineDir, "containers.conf"),
        `[engine]\nlock_type = "file"\n[network]\nnetwork_config_dir = "${join(engineDir, "networks")}"\n`,
      );
      // The image is imported once with the first board's wrapper; only --runtime differs per board.
      await (async () => {
        const tar = await writeRootfsTar(engineDir);
        const podman = podmanFor(engineDir, "/bin/false", engineDir);
        await podman.must(["import", "--change", 'ENTRYPOINT ["hello.elf"]', tar, IMAGE]);
      })();

      /** A fresh simulated board and wrapper; every container is removed before the board goes. */
      const board = async (
        processors: ProcessorSpec[],
        fn: (f: Fixture, podman: Podman) => Promise<void>,
      ) => {
        await using f = await makeFixture({ processors });
        const runtime = await writeRuntimeWrapper({ dir: f.dir, hostRoot: f.host, root: f.root });
        const podman = podmanFor(engineDir, runtime, f.dir);
        try {
          await fn(f, podman);
        } finally {
          await podman(["rm", "--all", "--force", "--time", "0"]);
        }
      };
      const state = (f: Fixture) => f.sim.state("dsp0");

      await t.step("run -d boots; stop, start and rm -f follow the processor", async () => {
        await board([{ name: "dsp0" }], async (f, podman) => {
          const before = await firmwareFiles(f.sim);
          const id = (await podman.must(["run", "-d", ...RUN, "remoteproc.name=dsp0", IMAGE])).trim();
          await eventually(async () => (await state(f)) === "running", "dsp0 running after run -d");
          assert.equal(await inspect(podman, id, "{{.State.Status}}"), "running");

          await podman.must(["stop", id]);
          await eventually(async () => (await state(f)) === "offline", "dsp0 offline after stop");
          assert.equal(await inspect(podman, id, "{{.State.Status}}"), "exited");
          assert.equal(await inspect(podman, id, "{{.State.ExitCode}}"), "0");
          const ps = await podman.must(["ps", "-a", "--filter", `id=${id}`, "--format", "{{.Status}}"]);
          assert.match(ps, /^Exited \(0\)/);

          await podman.must(["start", id]);
          await eventually(async () => (await state(f)) === "running", "dsp0 running after start");
          assert.equal(await inspect(podman, id, "{{.State.Status}}"), "running");

          await podman.must(["rm", "-f", id]);
          await eventually(async () => (await state(f)) === "offline", "dsp0 offline after rm -f");
          assert.deepEqual(await firmwareFiles(f.sim), before, "no firmware copy left behind");
          assert.deepEqual(await listDir(f.root).then((n) => n.filter((e) => e === id)), []);
          assert.equal((await podman(["inspect", id])).code, 125, "the container is gone");
        });
      });

      await t.step("kill -s KILL leaves the processor offline", async () => {
        await board([{ name: "dsp0" }], async (f, podman) => {
          const id = (await podman.must(["run", "-d", ...RUN, "remoteproc.name=dsp0", IMAGE])).trim();
          await eventually(async () => (await state(f)) === "running", "dsp0 running");
          await podman.must(["kill", "-s", "KILL", id]);
          await eventually(async () => (await state(f)) === "offline", "dsp0 offline after kill -s KILL");
          await eventually(
            async () => (await inspect(podman, id, "{{.State.Status}}")) === "exited",
            "podman to see the container exited",
          );
          assert.equal(await inspect(podman, id, "{{.State.ExitCode}}"), "137");
        });
      });

      await t.step("logs shows the proxy's lines", async () => {
        await board([{ name: "dsp0" }], async (f, podman) => {
          const id = (await podman.must(["run", "-d", ...RUN, "remoteproc.name=dsp0", IMAGE])).trim();
          await eventually(async () => (await state(f)) === "running", "dsp0 running");
          let logs = "";
          await eventually(async () => {
            logs = await podman.must(["logs", id]);
            return logs.includes("dsp0: running");
          }, "the proxy's 'running' line in podman logs");
          assert.match(logs, /dsp0: start requested: booting the firmware/);
        });
      });

      await t.step("an attached run returns the crash exit code", async () => {
        await board([{ name: "dsp0", crashOnBoot: true, recovery: false }], async (f, podman) => {
          const r = await podman(["run", ...RUN, "remoteproc.name=dsp0", IMAGE]);
          assert.equal(r.code, EXIT.crashed, `podman run: ${r.stdout}\n${r.stderr}`);
          assert.match(r.stdout + r.stderr, /crashed \(kernel recovery is disabled\)/);
          assert.notEqual(await state(f), "running");
        });
      });

      await t.step("an unknown processor shows the runtime's message", async () => {
        await board([{ name: "dsp0" }, { name: "dsp1" }], async (f, podman) => {
          const r = await podman(["run", "-d", ...RUN, "remoteproc.name=nope", IMAGE]);
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /OCI runtime error/);
          assert.match(
            r.stderr,
            /remote processor nope does not exist; available remote processors: dsp0, dsp1/,
          );
          assert.deepEqual(f.sim.writes("dsp0"), []);
          assert.deepEqual(f.sim.writes("dsp1"), []);
          assert.deepEqual(await firmwareFiles(f.sim), []);
        });
      });
    } finally {
      const podman = podmanFor(engineDir, "/bin/false", engineDir);
      await podman(["rm", "--all", "--force", "--time", "0"]).catch(() => {});
      await Deno.remove(engineDir, { recursive: true }).catch(() => {});
      await leftovers.cleanup();
    }
  },
});
