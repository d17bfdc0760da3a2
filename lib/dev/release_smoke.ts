/**
 * Smoke test of a built executable: runs it through `--version`, create, start, state, kill and delete against
 * a simulated processor, then measures its start-up time. Exits 1 at the first step that goes wrong.
 *
 * Usage: `deno run -A lib/dev/release_smoke.ts [--startup-runs N] FILE`
 *
 * The last line is machine-readable for the release notes: `startup_ms=<median of N runs of FILE --version>`.
 * @module
 */
import { join, resolve } from "node:path";
import { runToFiles } from "./run_to_files.ts";
import { parseArgs } from "node:util";
import { type ProcessIdentity, processStartTime, signalIfAlive } from "../process/proc.ts";
import { Simulator } from "../simulator/simulator.ts";

/** What one run of the executable produced. */
export interface SmokeRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of {@link releaseSmoke}. */
export interface ReleaseSmokeOptions {
  /** The executable to test (a compiled file, or any wrapper that runs main.ts). */
  file: string;
  /** How many `--version` runs the start-up time is the median of (0 skips the measurement). */
  startupRuns: number;
  /** Receives one line per step. */
  log: (line: string) => void;
}

/** A step of the smoke test went wrong. */
export class SmokeFailure extends Error {
  constructor(step: string, detail: string) {
    super(`${step}: ${detail}`);
    this.name = "SmokeFailure";
  }
}

const CONTAINER = "smoke";
const PROCESSOR = "dsp0";
const FIRMWARE = new TextEncoder().encode("\x7fELF\x01\x01\x01\0release-smoke-firmware\n");

/**
 * Runs the smoke test in a fresh temp directory, removed afterwards; returns the median start-up time in ms
 * (NaN when not measured). A proxy left behind by a failed step is killed.
 *
 * @example
 * ```ts
 * const ms = await releaseSmoke({ file: "dist/remoteproc-runtime-x86_64-linux", startupRuns: 10, log: console.log });
 * ```
 * @throws {SmokeFailure} naming the step, with the executable's exit code and stderr.
 */
export async function releaseSmoke(options: ReleaseSmokeOptions): Promise<number> {
  const file = resolve(options.file);
  const dir = await Deno.makeTempDir({ prefix: "rproc-smoke-" });
  const host = join(dir, "host");
  const root = join(dir, "state");
  const bundle = join(dir, "bundle");
  const pidFile = join(dir, "smoke.pid");
  const run = (args: string[]): Promise<SmokeRun> => _runFile(file, args, dir);
  const cli = (args: string[]) => run(["--root", root, "--host-root", host, ...args]);
  const step = async (name: string, args: string[], check?: (r: SmokeRun) => string | undefined) => {
    const r = await cli(args);
    if (r.code !== 0) throw new SmokeFailure(name, `exit code ${r.code}, stderr: ${r.stderr.trim()}`);
    const problem = check?.(r);
    if (problem !== undefined) throw new SmokeFailure(name, problem);
    options.log(`ok ${name} (${r.ms.toFixed(0)} ms)`);
    return r;
  };
  const expectStatus = (want: string) => (r: SmokeRun) => {
    const status = _parseStatus(r.stdout);
    return status === want ? undefined : `status is ${JSON.stringify(status)}, expected "${want}"`;
  };

  await Deno.mkdir(host);
  const sim = await Simulator.start({ dir: host, processors: [{ name: PROCESSOR }] });
  let proxy: ProcessIdentity | undefined;
  try {
    const version = await run(["--version"]);
    if (
      version.code !== 0 || !/version \d+\.\d+\.\d+/.test(version.stdout) || !/deno: \d/.test(version.stdout)
    ) {
      throw new SmokeFailure("--version", `exit code ${version.code}, stdout: ${version.stdout.trim()}`);
    }
    options.log(`ok --version: ${version.stdout.trim().split("\n").join("; ")}`);

    await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
    await Deno.writeFile(join(bundle, "rootfs", "smoke.elf"), FIRMWARE);
    await Deno.writeTextFile(
      join(bundle, "config.json"),
      JSON.stringify({
        ociVersion: "1.0.2",
        process: { terminal: false, args: ["smoke.elf"], cwd: "/" },
        root: { path: "rootfs", readonly: true },
        annotations: { "remoteproc.name": PROCESSOR },
      }),
    );

    await step("create", ["create", "--bundle", bundle, "--pid-file", pidFile, CONTAINER], () => {
      const text = Deno.readTextFileSync(pidFile).trim();
      return /^[1-9]\d*$/.test(text) ? undefined : `pid file holds ${JSON.stringify(text)}`;
    });
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    const startTime = await processStartTime(pid);
    if (startTime === undefined) throw new SmokeFailure("create", `the proxy (pid ${pid}) is not running`);
    proxy = { pid, startTime };
    await step("state after create", ["state", CONTAINER], expectStatus("created"));
    await step("start", ["start", CONTAINER]);
    await sim.waitForState(PROCESSOR, "running", 10_000);
    await step("state after start", ["state", CONTAINER], expectStatus("running"));
    await step("kill", ["kill", CONTAINER, "TERM"]);
    const after = await sim.state(PROCESSOR);
    if (after !== "offline") {
      throw new SmokeFailure("kill", `the processor reads "${after}", expected "offline"`);
    }
    await step("state after kill", ["state", CONTAINER], expectStatus("stopped"));
    await step("delete", ["delete", CONTAINER]);
    const gone = await cli(["state", CONTAINER]);
    if (gone.code === 0 || !gone.stderr.includes("does not exist")) {
      throw new SmokeFailure("state after delete", `exit code ${gone.code}, stderr: ${gone.stderr.trim()}`);
    }
    const writes = sim.writes(PROCESSOR);
    if (!writes.includes("state=start") || !writes.includes("state=stop")) {
      throw new SmokeFailure("sysfs", `the processor saw ${JSON.stringify(writes)}`);
    }
    options.log(`ok sysfs writes: ${writes.join(", ")}`);

    const times: number[] = [];
    for (let i = 0; i < options.startupRuns; i++) {
      const r = await run(["--version"]);
      if (r.code !== 0) throw new SmokeFailure("startup", `--version exited ${r.code}`);
      times.push(r.ms);
    }
    return _median(times);
  } finally {
    // Only the very process create started: never a pid reused since.
    await signalIfAlive(proxy, "SIGKILL");
    await sim.close().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `file` with its output in files, not pipes: a proxy started by create inherits them and lives on. */
async function _runFile(file: string, args: string[], outDir: string): Promise<SmokeRun> {
  const started = performance.now();
  const r = await runToFiles(file, args, { outDir });
  return { ...r, ms: performance.now() - started };
}

function _parseStatus(stdout: string): string | undefined {
  try {
    const status = JSON.parse(stdout).status;
    return typeof status === "string" ? status : undefined;
  } catch {
    return undefined;
  }
}

function _median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function _main(argv: string[]): Promise<number> {
  let file: string;
  let startupRuns: number;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { "startup-runs": { type: "string", default: "10" } },
    });
    if (positionals.length !== 1) throw new Error("give exactly one FILE: the executable to test");
    file = positionals[0];
    startupRuns = Number(values["startup-runs"]);
    if (!Number.isInteger(startupRuns) || startupRuns < 0) {
      throw new Error("--startup-runs must be a whole number");
    }
  } catch (err) {
    console.error(`release_smoke: ${err instanceof Error ? err.message : String(err)}`);
    console.error("usage: release_smoke.ts [--startup-runs N] FILE");
    return 2;
  }
  try {
    const ms = await releaseSmoke({ file, startupRuns, log: (line) => console.log(line) });
    console.log(`startup_ms=${Number.isNaN(ms) ? "unmeasured" : ms.toFixed(0)}`);
    return 0;
  } catch (err) {
    console.error(`release_smoke: FAILED ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exitCode = await _main(Deno.args);
