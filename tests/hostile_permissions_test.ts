/**
 * Guarantee 3: permissions. Read-only sysfs attributes, an unwritable state root or firmware directory, and a
 * non-root user with or without access to the sysfs files: each gives one clear line naming the path and the
 * permission needed, and nothing half-done remains. The non-root cases run the real CLI as `nobody` (root
 * bypasses file modes, so chmod alone proves nothing as root).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../lib/util/wait.ts";
import { FIRMWARE_LEDGER } from "../lib/store/firmware_store.ts";
import { runToFiles } from "../lib/dev/run_to_files.ts";
import {
  assertNothingLeft,
  cliArgv,
  type CliResult,
  listDir,
  MAIN,
  makeFixture,
  pidRunning,
  waitForExit,
} from "./helpers.ts";

Deno.test("read-only sysfs attributes: start fails naming the path and read-only; delete cleans up", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0", readOnly: true }] });
  const c = await f.cli(["create", "--bundle", await f.bundle(), "fw1"]);
  assert.equal(c.code, 0, c.stderr);
  const r = await f.cli(["start", "fw1"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  const dir = f.sim.processorDir("dsp0");
  assert.match(
    r.stderr,
    new RegExp(
      `^cannot start container fw1: cannot write ${dir}/firmware: the attribute is read-only \\(mode 444\\)`,
    ),
  );
  const s = await f.cli(["state", "fw1"]);
  assert.equal(JSON.parse(s.stdout).status, "stopped");
  assert.deepEqual(f.sim.writes("dsp0"), [], "nothing was written to the processor");
  assert.equal(await f.sim.state("dsp0"), "offline");
  const d = await f.cli(["delete", "fw1"]);
  assert.equal(d.code, 0, d.stderr);
  await assertNothingLeft(f);
});

const NOBODY = 65534;
const SETPRIV = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"];

async function canRunAsNobody(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  try {
    return (await new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .output())
      .success;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A temp board whose host tree (sysfs, firmware directory) belongs to nobody, with its simulator run as nobody. */
interface NobodyBoard extends AsyncDisposable {
  work: string;
  host: string;
  bundle: string;
  sysfs: string;
  firmwareDir: string;
  /** Runs the CLI as nobody with `--host-root` of this board and `--root root`. */
  cli(root: string, args: string[]): Promise<CliResult>;
  state(): Promise<string>;
}

async function nobodyBoard(): Promise<NobodyBoard> {
  const work = await Deno.makeTempDir({ prefix: "rproc-nobody-" });
  await Deno.chmod(work, 0o755);
  // nobody cannot read root's Deno cache: give it its own copy.
  const info = JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
    ),
  );
  const denoDir = join(work, "deno-dir");
  await run("cp", ["-a", info.denoDir, denoDir]);
  const host = join(work, "host");
  const out = join(work, "out");
  for (const d of [host, out]) await Deno.mkdir(d);
  await run("chown", ["-R", `${NOBODY}:${NOBODY}`, denoDir, host, out]);
  const bundle = join(work, "bundle");
  await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
  const config = JSON.parse(await Deno.readTextFile(join(MAIN, "../testdata/config.json")));
  await Deno.writeTextFile(join(bundle, "config.json"), JSON.stringify(config));
  await Deno.copyFile(join(MAIN, "../testdata/firmware/hello.elf"), join(bundle, "rootfs/hello.elf"));
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DENO_DIR: denoDir, HOME: work, NO_COLOR: "1" };
  const sim = new Deno.Command(SETPRIV[0], {
    args: [
      ...SETPRIV.slice(1),
      Deno.execPath(),
      "run",
      "-A",
      join(MAIN, "../lib/simulator/cli.ts"),
      "--dir",
      host,
      "--processor",
      "dsp0",
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const sysfs = join(host, "sys/class/remoteproc/remoteproc0");
  await waitFor(() => Deno.readTextFile(join(sysfs, "state")).then((s) => s === "offline\n", () => false), {
    timeoutMs: 20_000,
    what: "the simulator run as nobody",
  });
  return {
    work,
    host,
    bundle,
    sysfs,
    firmwareDir: join(host, "lib/firmware"),
    cli(root, args) {
      return runToFiles(
        SETPRIV[0],
        [
          ...SETPRIV.slice(1),
          Deno.execPath(),
          ...cliArgv({ root, host }, args),
        ],
        { outDir: out, env, clearEnv: true, cwd: work },
      );
    },
    async state() {
      return (await Deno.readTextFile(join(sysfs, "state"))).trim();
    },
    async [Symbol.asyncDispose]() {
      // Proxies of this board (their pids are in the proxy.json files) and the simulator, by pid.
      for (const root of await listDir(work)) {
        for (const id of await listDir(join(work, root))) {
          const text = await Deno.readTextFile(join(work, root, id, "proxy.json")).catch(() => "");
          if (text) {
            try {
              Deno.kill(JSON.parse(text).pid, "SIGKILL");
            } catch {
              // gone
            }
          }
        }
      }
      sim.kill("SIGTERM");
      await sim.status;
      await Deno.remove(work, { recursive: true });
    },
  };
}

async function nobodyOwnedDir(path: string): Promise<string> {
  await Deno.mkdir(path);
  await Deno.chown(path, NOBODY, NOBODY);
  return path;
}

function oneLine(r: CliResult): string {
  assert.equal(r.code, 1, `should fail: ${r.stdout}`);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  return r.stderr.trim();
}

async function assertBoardClean(board: NobodyBoard, root: string): Promise<void> {
  assert.deepEqual((await listDir(root)).filter((n) => !n.startsWith(".")), []);
  assert.deepEqual(await listDir(join(root, ".claims")), []);
  assert.deepEqual(await listDir(join(board.firmwareDir, FIRMWARE_LEDGER)), []);
  assert.deepEqual((await listDir(board.firmwareDir)).filter((n) => n !== FIRMWARE_LEDGER), []);
  assert.equal(await board.state(), "offline");
}

Deno.test({
  name: "as a non-root user: granted sysfs works end to end; unwritable state root, firmware directory or " +
    "sysfs files are named with the permission needed, and nothing is left",
  ignore: !(await canRunAsNobody()),
  async fn(t) {
    await using board = await nobodyBoard();
    const root = await nobodyOwnedDir(join(board.work, "state"));

    await t.step("sysfs files granted to the user: create, start, kill, delete all work", async () => {
      for (const args of [["create", "--bundle", board.bundle, "fw1"], ["start", "fw1"]]) {
        const r = await board.cli(root, args);
        assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      }
      assert.equal(await board.state(), "running");
      const s = JSON.parse((await board.cli(root, ["state", "fw1"])).stdout);
      assert.equal(s.status, "running");
      const proxy = s.pid as number;
      assert.equal((await board.cli(root, ["kill", "fw1", "TERM"])).code, 0);
      assert.equal(await board.state(), "offline");
      await waitForExit(proxy);
      const d = await board.cli(root, ["delete", "fw1"]);
      assert.equal(d.code, 0, d.stderr);
      await assertBoardClean(board, root);
    });

    await t.step("an unwritable state root is named, with the permission needed", async () => {
      const rootOwned = join(board.work, "root-owned-state");
      await Deno.mkdir(rootOwned, { mode: 0o755 });
      const line = oneLine(await board.cli(rootOwned, ["create", "--bundle", board.bundle, "fw2"]));
      assert.match(
        line,
        new RegExp(
          `^cannot create ${rootOwned}/fw2: permission denied; run as root or grant this user write access to it; ` +
            "the state root must be writable",
        ),
      );
      assert.deepEqual(await listDir(rootOwned), []);
      const missing = join(rootOwned, "sub");
      assert.match(
        oneLine(await board.cli(missing, ["create", "--bundle", board.bundle, "fw2"])),
        new RegExp(
          `^cannot create state directory ${missing}: permission denied; run as root or grant this user write access`,
        ),
      );
      await assertBoardClean(board, rootOwned);
    });

    await t.step("an unwritable firmware directory is named, and create leaves nothing", async () => {
      await Deno.chown(board.firmwareDir, 0, 0);
      try {
        const line = oneLine(await board.cli(root, ["create", "--bundle", board.bundle, "fw3"]));
        assert.match(
          line,
          new RegExp(
            `^cannot write firmware into ${board.firmwareDir}: permission denied; run as root or grant this user write access to it`,
          ),
        );
        await assertBoardClean(board, root);
      } finally {
        await Deno.chown(board.firmwareDir, NOBODY, NOBODY);
      }
    });

    await t.step(
      "sysfs files not granted: start names the attribute and the permission; delete cleans",
      async () => {
        for (const attr of ["state", "firmware", "recovery"]) await Deno.chown(join(board.sysfs, attr), 0, 0);
        const c = await board.cli(root, ["create", "--bundle", board.bundle, "fw4"]);
        assert.equal(c.code, 0, c.stderr);
        const line = oneLine(await board.cli(root, ["start", "fw4"]));
        assert.match(
          line,
          new RegExp(
            `^cannot start container fw4: cannot write ${board.sysfs}/firmware: permission denied; ` +
              "run as root or grant this user write access to it",
          ),
        );
        const s = JSON.parse((await board.cli(root, ["state", "fw4"])).stdout);
        assert.equal(s.status, "stopped");
        assert.equal(await pidRunning(s.pid), false);
        const d = await board.cli(root, ["delete", "fw4"]);
        assert.equal(d.code, 0, d.stderr);
        await assertBoardClean(board, root);
      },
    );
  },
});
