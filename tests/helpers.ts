import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FIRMWARE_LEDGER, STORED_NAME_PATTERN } from "../lib/store/firmware_store.ts";
import { Simulator, type SimulatorOptions } from "../lib/simulator/simulator.ts";
import { waitFor } from "../lib/util/wait.ts";
import { runToFiles } from "../lib/dev/run_to_files.ts";
import { readExitReport } from "../lib/store/container_store.ts";
import { orUndefined } from "../lib/errors.ts";

/** Path of the project's main.ts. */
export const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
/** The project's testdata directory. */
export const TESTDATA = join(dirname(MAIN), "testdata");

/**
 * The arguments of `deno` that run the CLI from the sources with state root `root` and host root `host`, then
 * `args`: for tests that start the CLI themselves (its descriptors, or its environment, are the point).
 */
export function cliArgv(where: { root: string; host: string }, args: string[]): string[] {
  return ["run", "-A", MAIN, "--root", where.root, "--host-root", where.host, ...args];
}

/**
 * A fresh temp directory whose name starts with `prefix`, removed with everything in it when disposed.
 *
 * @example
 * ```ts
 * await using dir = await tempDir("unit-x-");
 * Deno.writeTextFileSync(join(dir.path, "f"), "");
 * ```
 */
export async function tempDir(prefix: string): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** What one CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI as a subprocess (argv array). Its stdout and stderr go to files, not pipes: a proxy
 * spawned by create inherits them, and a pipe would stay open as long as the proxy lives.
 */
export async function runCliProcess(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; outDir: string; deno?: string[] },
): Promise<CliResult> {
  return await runToFiles(Deno.execPath(), [...(options.deno ?? ["run", "-A", MAIN]), ...args], options);
}

/** A simulated board: a host tree with processors, a state root, a scratch dir, and the CLI bound to them. */
export interface Fixture extends AsyncDisposable {
  dir: string;
  host: string;
  root: string;
  sim: Simulator;
  /** Runs the CLI with --root and --host-root of this fixture. */
  cli(
    args: string[],
    options?: { cwd?: string; globals?: string[]; env?: Record<string, string> },
  ): Promise<CliResult>;
  /** Writes a bundle holding testdata's firmware; returns its directory. */
  bundle(options?: BundleOptions): Promise<string>;
  /** Pids of every proxy that reported ready under this fixture's root. */
  proxyPids(): Promise<number[]>;
}

/** Changes to testdata/config.json for one bundle. */
export interface BundleOptions {
  name?: string;
  processor?: string | null;
  args?: string[];
  /** Replaces the whole config.json with this text. */
  configText?: string;
  mutate?: (config: Record<string, unknown>) => void;
  /** Name of the firmware file inside the rootfs. */
  firmwareName?: string;
}

/**
 * Builds a disposable fixture in a fresh temp directory with a running simulator. `deno` is how the CLI is
 * run (default `run -A main.ts`; the bundled form's test gives its own).
 *
 * @example
 * ```ts
 * await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
 * ```
 */
export async function makeFixture(
  options: Omit<SimulatorOptions, "dir">,
  { deno }: { deno?: string[] } = {},
): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "rproc-test-" });
  const host = join(dir, "host");
  const root = join(dir, "state");
  await Deno.mkdir(host);
  const sim = await Simulator.start({ ...options, dir: host });
  let bundles = 0;
  const fixture: Fixture = {
    dir,
    host,
    root,
    sim,
    cli: (args, o = {}) =>
      runCliProcess(["--root", root, "--host-root", host, ...(o.globals ?? []), ...args], {
        cwd: o.cwd,
        env: o.env,
        outDir: dir,
        deno,
      }),
    async bundle(b = {}) {
      const bundle = join(dir, b.name ?? `bundle-${bundles++}`);
      const fwName = b.firmwareName ?? "hello.elf";
      await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
      await Deno.copyFile(join(TESTDATA, "firmware/hello.elf"), join(bundle, "rootfs", fwName));
      if (b.configText !== undefined) {
        await Deno.writeTextFile(join(bundle, "config.json"), b.configText);
        return bundle;
      }
      const config = JSON.parse(await Deno.readTextFile(join(TESTDATA, "config.json")));
      config.process.args = b.args ?? [fwName];
      if (b.processor === null) delete config.annotations["remoteproc.name"];
      else config.annotations["remoteproc.name"] = b.processor ?? "dsp0";
      b.mutate?.(config);
      await Deno.writeTextFile(join(bundle, "config.json"), JSON.stringify(config, null, 2));
      return bundle;
    },
    async proxyPids() {
      const pids: number[] = [];
      try {
        for await (const e of Deno.readDir(root)) {
          try {
            pids.push(JSON.parse(await Deno.readTextFile(join(root, e.name, "proxy.json"))).pid);
          } catch {
            // not a container, or no proxy yet
          }
        }
      } catch {
        // no state root yet
      }
      return pids;
    },
    async [Symbol.asyncDispose]() {
      for (const pid of await fixture.proxyPids()) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await sim.close().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  return fixture;
}

/**
 * True while a process with this pid exists and is not a zombie.
 */
export async function pidRunning(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone (or a zombie). */
export async function waitForExit(pid: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => !(await pidRunning(pid)), { timeoutMs, what: `process ${pid} to exit` });
}

/**
 * What each open descriptor of process `pid` (or "self") points at, from /proc/PID/fd: a path, or a kernel
 * object such as "anon_inode:inotify" or "socket:[123]". A descriptor closed while it is read gives "".
 */
export async function descriptorTargets(pid: number | "self"): Promise<string[]> {
  const targets: string[] = [];
  for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
    targets.push(await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => ""));
  }
  return targets;
}

/** Makes a FIFO (named pipe) at `path`, mode 0600, with the mkfifo program. */
export function mkfifo(path: string): void {
  const result = new Deno.Command("mkfifo", { args: ["-m", "600", path] }).outputSync();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
}

/** Lists a directory's entry names, or [] when it does not exist. */
export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch {
    // missing
  }
  return names.sort();
}

/** Stored firmware copies (and hidden temp files) in the fixture's firmware directory. */
export async function storedCopies(f: Fixture): Promise<string[]> {
  return (await listDir(f.sim.firmwareDir())).filter((n) =>
    n !== FIRMWARE_LEDGER && (STORED_NAME_PATTERN.test(n) || n.startsWith("."))
  );
}

/**
 * What follows "--" in the command line of proxy `pid` (`... proxy -- ARGS`): the command line of the create
 * that started it. Undefined when `pid` is not a proxy (or is gone).
 */
export async function proxyCreateArgs(pid: number): Promise<string[] | undefined> {
  const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).split("\0");
  const at = args.indexOf("proxy");
  if (at < 0 || args[at + 1] !== "--") return undefined;
  return args.slice(at + 2, -1);
}

/** Live proxies started by a create under this fixture's state root (its --root). */
export async function proxiesUnder(f: Fixture): Promise<number[]> {
  const found: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const args = await proxyCreateArgs(Number(e.name));
    if (!args || !(args.includes(f.root) || args.includes(`--root=${f.root}`))) continue;
    if (await pidRunning(Number(e.name))) found.push(Number(e.name));
  }
  return found;
}

/**
 * Asserts that nothing is left behind under a fixture: no container directory, claim, firmware ledger entry,
 * stored firmware copy or temp file, and no proxy process.
 */
export async function assertNothingLeft(f: Fixture, message = ""): Promise<void> {
  const at = message ? ` (${message})` : "";
  assert.deepEqual((await listDir(f.root)).filter((n) => !n.startsWith(".")), [], `container dirs${at}`);
  assert.deepEqual(await listDir(join(f.root, ".claims")), [], `claims${at}`);
  assert.deepEqual(await listDir(ledgerDir(f)), [], `firmware ledger${at}`);
  assert.deepEqual(await storedCopies(f), [], `stored copies${at}`);
  assert.deepEqual(await proxiesUnder(f), [], `proxies${at}`);
}

/** The environment of this process plus `extra`, for a CLI run (runCliProcess replaces the environment). */
export function envWith(extra: Record<string, string>): Record<string, string> {
  return { ...Deno.env.toObject(), ...extra };
}

/**
 * A small deterministic random number generator (mulberry32) for generated test inputs, so a failure
 * reproduces from its seed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The firmware ledger directory of a fixture (inside its firmware directory). */
export function ledgerDir(f: Fixture): string {
  return join(f.sim.firmwareDir(), FIRMWARE_LEDGER);
}

/** The files in a simulator's firmware directory, without the runtime's ledger directory. */
export async function firmwareFiles(sim: Simulator): Promise<string[]> {
  return (await listDir(sim.firmwareDir())).filter((n) => n !== FIRMWARE_LEDGER);
}

/** The exit code the container's proxy reported, waiting (with a deadline) until it has exited. */
export async function proxyExitCode(f: Fixture, id: string): Promise<number> {
  const report = await waitFor(() => orUndefined(() => readExitReport(join(f.root, id))), {
    timeoutMs: 10_000,
    what: "the proxy's exit report",
  });
  return report.code;
}
