// containerd's runc shim drives the real CLI through a generated wrapper, against a simulated board, with an
// isolated containerd daemon in a temp dir (see ../shared/reference/engines.md for what the shim sends).
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProcessorSpec } from "../lib/simulator/simulator.ts";
import {
  type CommandResult,
  eventually,
  globalLeftovers,
  missingEngine,
  mustRun,
  runCommand,
  writeOciImageTar,
  writeRuntimeWrapper,
} from "./engine_helpers.ts";
import { firmwareFiles, type Fixture, listDir, makeFixture, pidRunning, waitForExit } from "./helpers.ts";

const skip = missingEngine(["containerd", "ctr", "containerd-shim-runc-v2"]);
const IMAGE = "localhost/remoteproc-hello:test";
const NAMESPACE = "default";

/** An isolated containerd daemon in a temp dir. */
interface Daemon {
  dir: string;
  address: string;
  runcRoot: string;
  pid: number;
  ctr(args: string[], outDir: string): Promise<CommandResult>;
  mustCtr(args: string[], outDir: string): Promise<string>;
  stop(): Promise<void>;
}

async function startDaemon(): Promise<Daemon> {
  const dir = await Deno.makeTempDir({ prefix: "rproc-containerd-" });
  const address = join(dir, "containerd.sock");
  await Deno.writeTextFile(
    join(dir, "config.toml"),
    [
      "version = 2",
      `root = "${join(dir, "root")}"`,
      `state = "${join(dir, "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${address}"`,
      "[ttrpc]",
      `  address = "${address}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, "opt")}"`,
      "",
    ].join("\n"),
  );
  const log = join(dir, "containerd.log");
  // setsid execs containerd in place (a spawned child is no group leader), so the pid is containerd's.
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'log=$1; shift; exec setsid "$@" >"$log" 2>&1 </dev/null',
      "sh",
      log,
      "containerd",
      "--config",
      join(dir, "config.toml"),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const ctr = (args: string[], outDir: string) =>
    runCommand("ctr", ["--address", address, ...args], { outDir });
  const daemon: Daemon = {
    dir,
    address,
    runcRoot: join(dir, "runc"),
    pid: child.pid,
    ctr,
    mustCtr: (args, outDir) => mustRun("ctr", ["--address", address, ...args], { outDir }),
    async stop() {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const deadline = setTimeout(() => {
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }, 10_000);
      await child.status;
      clearTimeout(deadline);
    },
  };
  try {
    await eventually(
      async () => {
        if (exited) throw new Error(`containerd exited: ${await Deno.readTextFile(log).catch(() => "")}`);
        return (await ctr(["version"], dir)).code === 0;
      },
      "containerd to answer on its socket",
      20_000,
    );
  } catch (err) {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  return daemon;
}

/** The task's STATUS column in `ctr task ls` (e.g. RUNNING, STOPPED), or undefined when it is not listed. */
async function taskStatus(d: Daemon, id: string, outDir: string): Promise<string | undefined> {
  const out = await d.mustCtr(["task", "ls"], outDir);
  for (const line of out.split("\n").slice(1)) {
    const [task, , status] = line.trim().split(/\s+/);
    if (task === id) return status;
  }
  return undefined;
}

/** The proxy's pid, as the runtime recorded it under containerd's --root. */
async function proxyPid(d: Daemon, id: string): Promise<number> {
  const text = await Deno.readTextFile(join(d.runcRoot, NAMESPACE, id, "proxy.json"));
  return JSON.parse(text).pid;
}

async function parentPid(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^PPid:\s+(\d+)/m.exec(status)![1]);
}

Deno.test({
  name: "containerd (ctr, runc shim v2) runs firmware containers through the runtime",
  ignore: skip !== undefined,
  async fn(t) {
    const leftovers = globalLeftovers(["/run/containerd", "/var/lib/containerd"]);
    const d = await startDaemon();
    const ids: string[] = [];
    try {
      await d.mustCtr(["images", "import", await writeOciImageTar(d.dir, IMAGE)], d.dir);

      /** A fresh simulated board and wrapper; every task and container is removed before the board goes. */
      const board = async (
        processors: ProcessorSpec[],
        fn: (f: Fixture, run: (id: string, processor?: string) => Promise<CommandResult>) => Promise<void>,
      ) => {
        await using f = await makeFixture({ processors });
        const runtime = await writeRuntimeWrapper({ dir: f.dir, hostRoot: f.host, root: f.root });
        const mine: string[] = [];
        const run = (id: string, processor = "dsp0") => {
          ids.push(id);
          mine.push(id);
          return d.ctr([
            "run",
            "-d",
            "--runc-binary",
            runtime,
            "--runc-root",
            d.runcRoot,
            "--annotation",
            `remoteproc.name=${processor}`,
            IMAGE,
            id,
          ], f.dir);
        };
        try {
          await fn(f, run);
        } finally {
          for (const id of mine) {
            await d.ctr(["task", "delete", "-f", id], f.dir);
            await d.ctr(["containers", "delete", id], f.dir);
          }
        }
      };
      const state = (f: Fixture) => f.sim.state("dsp0");
      const mustRunOk = (r: CommandResult) => assert.equal(r.code, 0, `ctr run: ${r.stdout}\n${r.stderr}`);

      await t.step(
        "run -d boots; task ps shows the proxy; task kill stops; task delete cleans up",
        async () => {
          await board([{ name: "dsp0" }], async (f, run) => {
            const before = await firmwareFiles(f.sim);
            mustRunOk(await run("fw-term"));
            await eventually(async () => (await state(f)) === "running", "dsp0 running after ctr run -d");
            assert.equal(await taskStatus(d, "fw-term", f.dir), "RUNNING");
            assert.equal((await firmwareFiles(f.sim)).length, before.length + 1, "one firmware copy");

            const pid = await proxyPid(d, "fw-term");
            assert.ok(await pidRunning(pid));
            const ps = await d.mustCtr(["task", "ps", "fw-term"], f.dir);
            assert.match(ps, new RegExp(`\\b${pid}\\b`), `ctr task ps shows the proxy pid ${pid}: ${ps}`);

            await d.mustCtr(["task", "kill", "fw-term"], f.dir);
            await eventually(async () => (await state(f)) === "offline", "dsp0 offline after task kill");
            await eventually(
              async () => (await taskStatus(d, "fw-term", f.dir)) === "STOPPED",
              "the task to be STOPPED",
            );
            await d.mustCtr(["task", "delete", "fw-term"], f.dir);
            assert.equal(await taskStatus(d, "fw-term", f.dir), undefined);
            assert.deepEqual(await firmwareFiles(f.sim), before, "no firmware copy left behind");
            assert.deepEqual(
              await listDir(join(d.runcRoot, NAMESPACE)).then((n) => n.filter((e) => e === "fw-term")),
              [],
            );
          });
        },
      );

      await t.step("task kill -s SIGKILL leaves the processor offline", async () => {
        await board([{ name: "dsp0" }], async (f, run) => {
          mustRunOk(await run("fw-kill"));
          await eventually(async () => (await state(f)) === "running", "dsp0 running");
          const pid = await proxyPid(d, "fw-kill");
          await d.mustCtr(["task", "kill", "-s", "SIGKILL", "fw-kill"], f.dir);
          await eventually(async () => (await state(f)) === "offline", "dsp0 offline after SIGKILL");
          await waitForExit(pid);
          await eventually(
            async () => (await taskStatus(d, "fw-kill", f.dir)) === "STOPPED",
            "the task to be STOPPED",
          );
          await d.mustCtr(["task", "delete", "fw-kill"], f.dir);
          assert.deepEqual(await firmwareFiles(f.sim), []);
        });
      });

      await t.step("task delete -f of a running task stops the processor and cleans up", async () => {
        await board([{ name: "dsp0" }], async (f, run) => {
          mustRunOk(await run("fw-force"));
          await eventually(async () => (await state(f)) === "running", "dsp0 running");
          const pid = await proxyPid(d, "fw-force");
          await d.mustCtr(["task", "delete", "-f", "fw-force"], f.dir);
          assert.equal(await state(f), "offline");
          assert.equal(await pidRunning(pid), false);
          assert.deepEqual(await firmwareFiles(f.sim), []);
          await eventually(
            async () => !(await listDir(join(d.runcRoot, NAMESPACE))).includes("fw-force"),
            "the state directory to be removed",
          );
        });
      });

      await t.step("a failing create shows ctr's user the runtime's message", async () => {
        await board([{ name: "dsp0" }, { name: "dsp1" }], async (f, run) => {
          const r = await run("fw-nope", "nope");
          assert.notEqual(r.code, 0);
          assert.match(
            r.stderr,
            /remote processor nope does not exist; available remote processors: dsp0, dsp1/,
          );
          assert.deepEqual(f.sim.writes("dsp0"), []);
          assert.deepEqual(await firmwareFiles(f.sim), []);
          assert.equal(await taskStatus(d, "fw-nope", f.dir), undefined);
        });
      });

      await t.step("a shim killed with SIGKILL is cleaned up and the processor left offline", async () => {
        await board([{ name: "dsp0" }], async (f, run) => {
          mustRunOk(await run("fw-shim"));
          await eventually(async () => (await state(f)) === "running", "dsp0 running");
          const pid = await proxyPid(d, "fw-shim");
          const shim = await parentPid(pid);
          const comm = (await Deno.readTextFile(`/proc/${shim}/comm`)).trim();
          assert.match(comm, /^containerd-shim/, `the proxy's parent is the shim, not ${comm}`);
          Deno.kill(shim, "SIGKILL");
          await eventually(async () => (await state(f)) === "offline", "dsp0 offline after the shim died");
          await waitForExit(pid);
          await eventually(
            async () => !(await listDir(join(d.runcRoot, NAMESPACE))).includes("fw-shim"),
            "containerd's delete --force to remove the state directory",
          );
          assert.deepEqual(await firmwareFiles(f.sim), []);
        });
      });
    } finally {
      for (const id of ids) {
        await d.ctr(["task", "delete", "-f", id], d.dir).catch(() => {});
        await d.ctr(["containers", "delete", id], d.dir).catch(() => {});
      }
      await d.stop();
      await Deno.remove(d.dir, { recursive: true }).catch(() => {});
      await leftovers.cleanup();
    }
  },
});
