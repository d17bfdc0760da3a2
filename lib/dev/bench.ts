/**
 * The benchmark: drives the real CLI (one subprocess per command, argv arrays, output to files) against a
 * simulated processor that boots instantly, side by side with Deno's own floor measured in the same run, and
 * prints a table (and writes JSON) of medians, p95s and ratios to the floor. The CLI runs in its bundled form
 * (`deno run -A --no-config remoteproc-runtime.js`, built from the sources at the start of each run, see
 * lib/dev/bundle.ts), the nearest this machine can build to the compiled release file; each command is also
 * timed from the sources (`deno run -A main.ts`), in the same rounds.
 *
 * Usage: `deno run -A lib/dev/bench.ts [--quick] [--json FILE] [--lab-dir DIR]` (default FILE:
 * bench-results/latest.json).
 *
 * Where the files go (see {@link Storage}): the state directories, the simulated sysfs trees and the bundles
 * in a temp directory under DIR, by default /dev/shm when it is a tmpfs (as /run, the runtime's default state
 * root, and /sys are on a board), else the system temp directory; the firmware copies in the system temp
 * directory, on disk as /lib/firmware is.
 *
 * The simulator runs in its own process (this file re-executed with `--simulator`): its reaction loop
 * then never delays this process's timestamps, and its CPU use is never charged to what is measured here.
 * That process's thread waits in poll(2) on inotify and answers each write itself (see
 * lib/dev/bench_simulator.ts), nearer to a kernel, which answers inside the write, than the simulator's own
 * loop that tests use. Its arguments are the host tree, the firmware directory and the processors' names.
 * It takes commands on stdin: "crash NAME" (answers "ok" once the state file reads crashed) and
 * "offline-at NAME" (answers when NAME last went offline on a stop, see SimProcess.offlineAt).
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_TIMINGS } from "../config/settings.ts";
import { Simulator } from "../simulator/simulator.ts";
import { delay, sleepSync, TIMED_OUT, waitFor, waitForSync, within } from "../util/wait.ts";
import { buildBundledForm, BUNDLE_MAIN } from "./bundle.ts";
import { serveBlocking } from "./bench_simulator.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const ROOT = dirname(MAIN);
const SELF = fileURLToPath(import.meta.url);
/** The default poll interval of the proxy; crash detection is measured at it. */
const PROXY_POLL_MS = DEFAULT_TIMINGS.pollIntervalMs;
const CLK_TCK = 100;
/**
 * The idle proxy's CPU floor: a Deno process that waits as the proxy does (Atomics.waitAsync, a signal
 * listener keeping the event loop alive) and reads the processor's state file by its path at every wake,
 * and does nothing else. Arguments: the state file, the interval, and a file it creates once it is looping,
 * so that its own start-up is not counted.
 */
const WAKE_SCRIPT = `const [path, ms, ready] = [Deno.args[0], Number(Deno.args[1]), Deno.args[2]];
const sleeper = new Int32Array(new SharedArrayBuffer(4));
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
Deno.readTextFileSync(path);
Deno.writeTextFileSync(ready, "");
while (true) {
  await Atomics.waitAsync(sleeper, 0, 0, ms).value;
  Deno.readTextFileSync(path);
}
`;

/** Sizes of one run. */
interface Plan {
  quick: boolean;
  /** Rounds of floor + create/start/state/kill/delete. */
  commandRounds: number;
  crashRounds: number;
  idleWindowMs: number;
  /** Lifecycles in a row on one processor. */
  serialLifecycles: number;
  /** Lifecycles spread over 8 processors in parallel. */
  parallelLifecycles: number;
  processors: number;
}

const FULL: Plan = {
  quick: false,
  commandRounds: 30,
  crashRounds: 20,
  idleWindowMs: 10_000,
  serialLifecycles: 50,
  parallelLifecycles: 50,
  processors: 8,
};
const QUICK: Plan = {
  quick: true,
  commandRounds: 5,
  crashRounds: 3,
  idleWindowMs: 1_000,
  serialLifecycles: 5,
  parallelLifecycles: 8,
  processors: 8,
};

/** One row of the result table. */
export interface BenchRow {
  /** Stable key, e.g. "cmd.state". */
  key: string;
  label: string;
  unit: "ms" | "MiB" | "%" | "/s";
  n: number;
  median: number;
  p95: number;
  /** median divided by the matching floor (time or memory); null where no floor applies. */
  ratio: number | null;
  /** The goal, in words, e.g. "<= 1.25x"; empty when none. */
  goal: string;
  /** Whether the goal is met; null when there is none. */
  met: boolean | null;
  /** Median CPU time (user+sys) of the measured process, for timed commands run one at a time. */
  cpuMs?: number;
}

/** The JSON document written by the benchmark. */
export interface BenchReport {
  date: string;
  quick: boolean;
  storage: Storage;
  deno: string;
  v8: string;
  cpus: number;
  loadAverage: number[];
  durationMs: number;
  rows: BenchRow[];
}

/**
 * Where a run kept its files, and on which file systems (from /proc/self/mounts). Writes cost what the file
 * system makes them cost: on this machine's ext4, an open with O_TRUNC of a simulated attribute took about
 * 0.4 ms, which neither sysfs nor the tmpfs of /run costs.
 */
export interface Storage {
  /** The state directories, simulated sysfs trees, bundles and the CLI's bundled form. */
  lab: string;
  labFileSystem: string;
  /** The firmware copies (the simulated kernel's custom firmware path). */
  firmware: string;
  firmwareFileSystem: string;
}

/** Every row key the benchmark produces, in table order. */
export const ROW_KEYS = [
  "floor.run",
  "floor.rss",
  "floor.private",
  "floor.wake",
  "cmd.create",
  "cmd.start",
  "cmd.state",
  "cmd.kill",
  "cmd.delete",
  "src.create",
  "src.start",
  "src.state",
  "src.kill",
  "src.delete",
  "stop.latency",
  "stop.exit",
  "crash.exit",
  "crash.state",
  "sim.answer",
  "idle.cpu",
  "idle.rss",
  "idle.private",
  "idle.dirty",
  "life.serial",
  "life.serial.rate",
  "life.parallel",
  "life.parallel.rate",
] as const;

/**
 * Runs the benchmark from command-line arguments and returns the exit code.
 *
 * @example
 * ```ts
 * Deno.exitCode = await main(["--quick", "--json", "/tmp/bench.json"]);
 * ```
 * @throws file system and subprocess errors; every process and temp dir it made is cleaned up first.
 */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "--simulator") return await serveSimulator(args.slice(1));
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: "boolean" },
      json: { type: "string" },
      "lab-dir": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log("usage: deno run -A lib/dev/bench.ts [--quick] [--json FILE] [--lab-dir DIR]");
    return 0;
  }
  const plan = values.quick ? QUICK : FULL;
  const jsonPath = values.json ?? join(ROOT, "bench-results/latest.json");
  const began = performance.now();
  await using lab = await Lab.open(values["lab-dir"] ?? await tmpfsDir());
  const rows = await runAll(lab, plan);
  const report: BenchReport = {
    date: new Date().toISOString(),
    quick: plan.quick,
    storage: await lab.storage(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    cpus: navigator.hardwareConcurrency,
    loadAverage: Deno.loadavg(),
    durationMs: Math.round(performance.now() - began),
    rows,
  };
  console.log(formatTable(report));
  await Deno.mkdir(dirname(jsonPath), { recursive: true });
  await Deno.writeTextFile(jsonPath, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nwrote ${jsonPath}`);
  return 0;
}

/** Percentile (nearest rank) of a list of numbers. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50 && sorted.length % 2 === 0) {
    return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(values: number[]): number {
  return percentile(values, 50);
}

/** A timed subprocess run: wall time and the CPU time its whole (waited) process tree used. */
interface Timed {
  code: number;
  ms: number;
  cpuMs: number;
  stdout: string;
  stderr: string;
}

/** How the CLI runs: its bundled form (lib/dev/bundle.ts) or main.ts from the sources. */
type Form = "bundle" | "source";

/** The tmpfs the benchmark keeps its state and simulated trees on by default (see {@link Storage}). */
const SHM = "/dev/shm";

/** {@link SHM} when it is a tmpfs this process can write to, else undefined (the system temp directory). */
async function tmpfsDir(): Promise<string | undefined> {
  if (mountFileSystem(await readOr("/proc/self/mounts"), SHM) !== "tmpfs") return undefined;
  try {
    await Deno.remove(await Deno.makeTempDir({ prefix: "rproc-bench-probe-", dir: SHM }));
    return SHM;
  } catch {
    return undefined;
  }
}

/**
 * The type of the file system the absolute, symlink-free `path` is on: that of the longest mount point in
 * `mounts` (the text of /proc/self/mounts) that contains it; "unknown" when none does.
 *
 * @example
 * ```ts
 * mountFileSystem("/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n", "/dev/shm/x"); // "tmpfs"
 * ```
 */
export function mountFileSystem(mounts: string, path: string): string {
  let best = { point: "", type: "unknown" };
  for (const line of mounts.split("\n")) {
    const [, escaped, type] = line.split(" ");
    if (type === undefined) continue;
    // The kernel writes a space, tab, newline or backslash in a mount point as an octal escape.
    const point = escaped.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
    const contains = point === "/" || path === point || path.startsWith(`${point}/`);
    // The later of two mounts on one point is the one on top.
    if (contains && point.length >= best.point.length) best = { point, type };
  }
  return best.type;
}

/** The temp tree, the simulators and every process the benchmark starts; disposing removes them all. */
class Lab implements AsyncDisposable {
  readonly dir: string;
  /** Where the simulated kernels look for firmware, one directory per simulator (see {@link Storage}). */
  readonly firmwareDir: string;
  readonly floorScript: string;
  readonly idleScript: string;
  readonly wakeScript: string;
  /** The bundled form's main file, built from the sources when the lab opens. */
  readonly bundleMain: string;
  readonly #pids = new Set<number>();
  readonly #sims: SimProcess[] = [];
  #outs = 0;

  private constructor(dir: string, firmwareDir: string) {
    this.dir = dir;
    this.firmwareDir = firmwareDir;
    this.floorScript = join(dir, "empty.ts");
    this.idleScript = join(dir, "idle.ts");
    this.wakeScript = join(dir, "wake.ts");
    this.bundleMain = join(dir, "js", BUNDLE_MAIN);
  }

  /** Opens a lab in a new temp directory under `parent` (default: the system temp directory). */
  static async open(parent?: string): Promise<Lab> {
    const firmwareDir = await Deno.makeTempDir({ prefix: "rproc-bench-firmware-" });
    let dir: string;
    try {
      dir = await Deno.makeTempDir({ prefix: "rproc-bench-", dir: parent });
    } catch (err) {
      await Deno.remove(firmwareDir);
      throw err;
    }
    const lab = new Lab(dir, firmwareDir);
    try {
      await Deno.writeTextFile(lab.floorScript, "");
      // Keeps the event loop alive and does nothing else: what an idle Deno process costs.
      await Deno.writeTextFile(lab.idleScript, "setInterval(() => {}, 1 << 30);\n");
      await Deno.writeTextFile(lab.wakeScript, WAKE_SCRIPT);
      await Deno.mkdir(join(lab.dir, "out"));
      await buildBundledForm({ project: ROOT, outDir: join(lab.dir, "js") });
    } catch (err) {
      await lab[Symbol.asyncDispose]();
      throw err;
    }
    return lab;
  }

  /** Starts a simulator process with processors dsp0..dsp{count-1} (recovery disabled) in a fresh host tree. */
  async simulator(name: string, count: number): Promise<SimProcess> {
    const host = join(this.dir, name);
    await Deno.mkdir(host);
    const names = Array.from({ length: count }, (_, i) => `dsp${i}`);
    const sim = await SimProcess.spawn(host, join(this.firmwareDir, name), names);
    this.#sims.push(sim);
    return sim;
  }

  /** Writes a bundle for processor `processor`; returns its directory. */
  async bundle(name: string, processor: string): Promise<string> {
    const bundle = join(this.dir, name);
    await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
    await Deno.copyFile(join(ROOT, "testdata/firmware/hello.elf"), join(bundle, "rootfs/hello.elf"));
    const config = JSON.parse(await Deno.readTextFile(join(ROOT, "testdata/config.json")));
    config.process.args = ["hello.elf"];
    config.annotations["remoteproc.name"] = processor;
    await Deno.writeTextFile(join(bundle, "config.json"), JSON.stringify(config, null, 2));
    return bundle;
  }

  /**
   * Runs `deno ARGS` with stdout and stderr in files (a proxy started by create inherits them; a pipe would
   * stay open while it lives), through the same tiny shell redirect for the floor and for the CLI.
   */
  async run(args: string[]): Promise<Timed> {
    const n = this.#outs++;
    const out = join(this.dir, "out", `${n}.out`);
    const err = join(this.dir, "out", `${n}.err`);
    const cpuBefore = childrenCpuMs();
    const began = performance.now();
    const child = new Deno.Command("/bin/sh", {
      args: [
        "-c",
        'out=$1; err=$2; shift 2; exec "$@" >"$out" 2>"$err"',
        "sh",
        out,
        err,
        Deno.execPath(),
        ...args,
      ],
      cwd: this.dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#pids.add(child.pid);
    const { code } = await child.status;
    const ms = performance.now() - began;
    this.#pids.delete(child.pid);
    const cpuMs = childrenCpuMs() - cpuBefore;
    const [stdout, stderr] = await Promise.all([readOr(out), readOr(err)]);
    await Promise.all([Deno.remove(out).catch(() => {}), Deno.remove(err).catch(() => {})]);
    return { code, ms, cpuMs, stdout, stderr };
  }

  /** The floor: `deno run -A` of an empty script, timed like every command. */
  floor(): Promise<Timed> {
    return this.run(["run", "-A", this.floorScript]);
  }

  /**
   * Runs the CLI, in its bundled form or from the sources, with `--root` and `--host-root`; throws with its
   * stderr when it fails.
   */
  async cli(root: string, host: string, args: string[], form: Form = "bundle"): Promise<Timed> {
    const cli = form === "bundle" ? ["--no-config", this.bundleMain] : [MAIN];
    const result = await this.run(["run", "-A", ...cli, "--root", root, "--host-root", host, ...args]);
    if (result.code !== 0) {
      throw new Error(`remoteproc-runtime ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
    }
    return result;
  }

  /** Starts an idle Deno process (for its memory). */
  spawnIdle(): Deno.ChildProcess {
    return this.spawnScript([this.idleScript]);
  }

  /**
   * Starts a Deno process that wakes every `ms` to read `path`, the way an idle proxy does (for its CPU), and
   * returns once it is looping.
   */
  async spawnWake(path: string, ms: number): Promise<Deno.ChildProcess> {
    const ready = join(this.dir, "wake.ready");
    const child = this.spawnScript([this.wakeScript, path, String(ms), ready]);
    await waitFor(() => Deno.stat(ready).then(() => true, () => false), {
      timeoutMs: 10_000,
      intervalMs: 1,
      what: "the wake floor's script to start",
    });
    return child;
  }

  /** Runs `deno run -A ARGS` in the background, its output discarded; its pid is killed at the end. */
  spawnScript(args: string[]): Deno.ChildProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...args],
      cwd: this.dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#pids.add(child.pid);
    return child;
  }

  /** Remembers a pid (a proxy) to kill at the end if it is still there. */
  track(pid: number): void {
    this.#pids.add(pid);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const pid of await proxyPidsUnder(this.dir)) this.#pids.add(pid);
    for (const pid of this.#pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const sim of this.#sims) await sim.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    await Deno.remove(this.firmwareDir, { recursive: true }).catch(() => {});
  }

  /** Where this lab keeps its files (see {@link Storage}). */
  async storage(): Promise<Storage> {
    const mounts = await readOr("/proc/self/mounts");
    const lab = await Deno.realPath(this.dir);
    const firmware = await Deno.realPath(this.firmwareDir);
    return {
      lab,
      labFileSystem: mountFileSystem(mounts, lab),
      firmware,
      firmwareFileSystem: mountFileSystem(mounts, firmware),
    };
  }
}

/** The pids in every proxy.json under the state roots of `dir` (its direct subdirectories named state*). */
async function proxyPidsUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const root of await listDir(dir)) {
    if (!root.startsWith("state")) continue;
    for (const id of await listDir(join(dir, root))) {
      try {
        pids.push(JSON.parse(await Deno.readTextFile(join(dir, root, id, "proxy.json"))).pid);
      } catch {
        // not a container, or no proxy
      }
    }
  }
  return pids;
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch {
    // missing
  }
  return names;
}

async function readOr(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

/** CPU time (user+sys, ms) of this process's reaped children: fields cutime and cstime of /proc/self/stat. */
function childrenCpuMs(): number {
  const fields = statFields(Deno.readTextFileSync("/proc/self/stat"));
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK;
}

/** The fields of a /proc/PID/stat line after the command name; index 0 is the state (field 3). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
}

/** True while `pid` exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    const state = statFields(Deno.readTextFileSync(`/proc/${pid}/stat`))[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Waits, polling every millisecond, until `pid` has exited; returns the time it was first seen gone, in
 * milliseconds since the epoch (see {@link epochNow}).
 */
async function waitGone(pid: number, timeoutMs: number): Promise<number> {
  await waitFor(() => !running(pid), { timeoutMs, intervalMs: 1, what: `process ${pid} to exit` });
  return epochNow();
}

/**
 * Now, in milliseconds since the epoch with performance.now()'s precision: a clock every process on the
 * machine shares (the simulator's timestamps are on it too).
 */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** prctl(2) option: orphans of this process's descendants become its children. */
const PR_SET_CHILD_SUBREAPER = 36;

/**
 * Takes the end of a proxy from wait4(2) rather than by polling /proc, which would take CPU from the very
 * processes being timed: while it adopts, this process is a child subreaper (prctl(2)), so a proxy whose
 * create has exited becomes its child. Without glibc (Deno's FFI) it polls.
 */
class Reaper implements Disposable {
  #libc: Deno.DynamicLibrary<typeof LIBC> | undefined;
  #waiting = 0;

  private constructor(libc: Deno.DynamicLibrary<typeof LIBC> | undefined) {
    this.#libc = libc;
  }

  static open(): Reaper {
    try {
      return new Reaper(Deno.dlopen("libc.so.6", LIBC));
    } catch {
      return new Reaper(undefined);
    }
  }

  /** Starts (true) or stops (false) adopting; falls back to polling if the kernel refuses. */
  adopt(on: boolean): void {
    if (this.#libc && this.#libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, on ? 1n : 0n, 0n, 0n, 0n) !== 0) {
      this.#close();
    }
  }

  /** Waits until `pid`, adopted, has ended and returns when, in milliseconds since the epoch. */
  async ended(pid: number, timeoutMs = 30_000): Promise<number> {
    if (this.#libc) {
      this.#waiting++;
      const reaped = this.#libc.symbols.wait4(pid, null, 0, null).finally(() => this.#waiting--);
      const outcome = await within(reaped, timeoutMs);
      if (outcome === TIMED_OUT) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
      if (outcome === pid) return epochNow();
    }
    // Not this process's child after all (or no libc): poll.
    return await waitGone(pid, timeoutMs);
  }

  [Symbol.dispose](): void {
    this.adopt(false);
    // A wait4 still running (a proxy that did not end, killed when the lab closes) keeps the library open.
    if (this.#waiting === 0) this.#close();
  }

  #close(): void {
    this.#libc?.close();
    this.#libc = undefined;
  }
}

const LIBC = {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  wait4: { parameters: ["i32", "pointer", "i32", "pointer"], result: "i32", nonblocking: true },
} as const;

/** The system calls of a thread blocked in poll(2) through glibc: poll or ppoll (aarch64 has only ppoll). */
const POLL_SYSCALLS: readonly number[] = Deno.build.arch === "x86_64" ? [7, 271] : [73];

/** Whether process `pid`'s main thread is blocked in poll(2) now (/proc/PID/syscall), as a proxy waits. */
export async function blockedInPoll(pid: number): Promise<boolean> {
  const syscall = await Deno.readTextFile(`/proc/${pid}/syscall`).catch(() => "");
  return POLL_SYSCALLS.includes(Number(syscall.split(" ")[0]));
}

/** CPU time (ns) each thread of a process has used so far, by thread id: /proc/PID/task/TID/schedstat. */
async function threadCpuNs(pid: number): Promise<Map<string, number>> {
  const threads = new Map<string, number>();
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      threads.set(
        task.name,
        Number((await Deno.readTextFile(`/proc/${pid}/task/${task.name}/schedstat`)).split(" ")[0]),
      );
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

/**
 * CPU time (ns) a process used between two {@link threadCpuNs} readings, thread by thread. Not the change of
 * the sums: a thread that ends in between (Deno's blocking threads end after 10 s unused, in the idle window)
 * would take its whole CPU time out of the second sum, from before the window too.
 *
 * @example
 * ```ts
 * cpuUsedNs(new Map([["1", 5], ["2", 9]]), new Map([["1", 8], ["3", 2]])); // 5: 3 by thread 1, 2 by thread 3
 * ```
 */
export function cpuUsedNs(before: Map<string, number>, after: Map<string, number>): number {
  let used = 0;
  for (const [thread, ns] of after) used += ns - (before.get(thread) ?? 0);
  return used;
}

/**
 * RSS, private memory (Private_Clean + Private_Dirty) and Private_Dirty alone of `pid`, in KiB, from
 * smaps_rollup. Private_Clean is mostly pages of the deno binary that no other process maps at that moment,
 * so it depends on what else runs; Private_Dirty (heap, stacks) is what the process alone costs.
 */
async function memoryKiB(pid: number): Promise<{ rss: number; private: number; dirty: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return {
    rss: field("Rss"),
    private: field("Private_Clean") + field("Private_Dirty"),
    dirty: field("Private_Dirty"),
  };
}

/** A simulator running in its own process (this file with --simulator), driven through stdin. */
class SimProcess {
  readonly host: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(host: string, child: Deno.ChildProcess) {
    this.host = host;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = readLines(child.stdout);
  }

  static async spawn(host: string, firmwareDir: string, names: string[]): Promise<SimProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SELF, "--simulator", host, firmwareDir, ...names],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const sim = new SimProcess(host, child);
    await sim.#expect("ready");
    return sim;
  }

  stateFile(index: number): string {
    return join(this.host, `sys/class/remoteproc/remoteproc${index}/state`);
  }

  /** Crashes processor `name` and returns once the state file reads crashed. */
  async crash(name: string): Promise<void> {
    await this.#send(`crash ${name}`);
    await this.#expect("ok");
  }

  /**
   * When processor `name` last went offline, in milliseconds since the epoch (performance.timeOrigin plus
   * performance.now(), a clock every process on the machine shares); throws if that was not after `after`.
   */
  async offlineAt(name: string, after: number): Promise<number> {
    await this.#send(`offline-at ${name}`);
    const answer = await this.#answer();
    const at = Number(answer);
    if (!(at > after)) throw new Error(`simulator: ${name} has not gone offline since ${after} (${answer})`);
    return at;
  }

  async #send(command: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(`${command}\n`));
  }

  /** The simulator's next line; undefined once it has closed its output. */
  async #answer(): Promise<string | undefined> {
    return (await this.#lines.next()).value;
  }

  async #expect(word: string): Promise<void> {
    const answer = await this.#answer();
    if (answer !== word) throw new Error(`simulator said ${JSON.stringify(answer)}, not ${word}`);
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#child.stdout.cancel().catch(() => {});
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
}

/**
 * The --simulator mode: a simulator of processors NAMES (recovery off) under DIR, whose kernel looks for
 * firmware in FIRMWARE_DIR (its custom firmware path), commands on stdin.
 */
async function serveSimulator(args: string[]): Promise<number> {
  const [dir, firmwareDir, ...names] = args;
  /** When each processor last went offline on a write of "stop" (see SimProcess.offlineAt). */
  const offlineAt = new Map<string, number>();
  const sim = await Simulator.start({
    dir,
    customFirmwarePath: firmwareDir,
    pollMs: 1,
    loop: false,
    processors: names.map((name) => ({ name, recovery: false })),
    // Told just before the new state is written, within microseconds of it.
    log: (line) => {
      const [name, reaction] = line.split(": ");
      if (reaction === "stop -> offline") offlineAt.set(name, epochNow());
    },
  });
  const encoder = new TextEncoder();
  const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
  say("ready");
  await serveBlocking(sim, names.map((name) => sim.processorDir(name)), async (line) => {
    const [command, name] = line.split(" ");
    if (command === "crash") {
      await sim.crash(name);
      say("ok");
    } else if (command === "offline-at") {
      say(String(offlineAt.get(name) ?? "none"));
    } else {
      throw new Error(`unknown simulator command ${line}`);
    }
  });
  await sim.close();
  return 0;
}

/**
 * How long the simulator takes to answer a write of processor `index`'s state file, which a kernel answers
 * inside the write itself: `rounds` times each, "start" until it reads running and "stop" until it reads
 * offline, looking every 0.02 ms (this process alone works meanwhile). Every `start` and `kill` of the
 * benchmark waits once for such an answer, so this is time the commands' rows hold that a board's would not.
 */
function simulatorAnswers(sim: SimProcess, firmwareDir: string, index: number, rounds: number): number[] {
  const dir = dirname(sim.stateFile(index));
  const firmware = "answer.elf";
  Deno.writeTextFileSync(join(firmwareDir, firmware), "simulated firmware\n");
  Deno.writeTextFileSync(join(dir, "firmware"), firmware);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [write, want] of [["start", "running"], ["stop", "offline"]]) {
      // A pause first, as a command's write comes after its own start-up, not right after the last answer.
      sleepSync(5);
      const began = performance.now();
      Deno.writeTextFileSync(join(dir, "state"), write);
      // An interval below the pacing's first pause: a look every 0.02 ms throughout.
      waitForSync(() => Deno.readTextFileSync(join(dir, "state")).trim() === want, {
        timeoutMs: 5_000,
        intervalMs: 0.02,
        what: `the simulator to answer ${write} with ${want}`,
      });
      times.push(performance.now() - began);
    }
  }
  return times;
}

type CommandName = "create" | "start" | "state" | "kill" | "delete";

/** Each command's goal: its median at most this many times the floor (create starts two processes). */
const COMMAND_GOALS: Record<CommandName, number> = {
  create: 2.3,
  start: 1.25,
  state: 1.25,
  kill: 1.25,
  delete: 1.25,
};

function commandSamples(): Samples["commands"]["bundle"] {
  return {
    create: { ms: [], cpu: [] },
    start: { ms: [], cpu: [] },
    state: { ms: [], cpu: [] },
    kill: { ms: [], cpu: [] },
    delete: { ms: [], cpu: [] },
  };
}

/** What one benchmark run measured, before it becomes rows. */
export interface Samples {
  floor: number[];
  floorCpu: number[];
  commands: Record<Form, Record<CommandName, { ms: number[]; cpu: number[] }>>;
  stopLatency: number[];
  /** From kill invoked until kill has returned and the proxy has ended: what an engine waits for. */
  stopExit: number[];
  crashExit: number[];
  crashState: number[];
  /** The simulator's own answer to a write of its state file (see simulatorAnswers). */
  simAnswer: number[];
  idleCpuPercent: number[];
  idleRss: number[];
  idlePrivate: number[];
  idleDirty: number[];
  floorDirty: number[];
  floorRss: number[];
  floorPrivate: number[];
  /** CPU of a Deno process waking as often as the proxy, in the proxy's window (% of a core). */
  floorWakeCpu: number[];
  serial: number[];
  serialTotalMs: number;
  parallel: number[];
  parallelTotalMs: number;
}

async function runAll(lab: Lab, plan: Plan): Promise<BenchRow[]> {
  const s: Samples = {
    floor: [],
    floorCpu: [],
    commands: { bundle: commandSamples(), source: commandSamples() },
    stopLatency: [],
    stopExit: [],
    crashExit: [],
    crashState: [],
    simAnswer: [],
    idleCpuPercent: [],
    idleRss: [],
    idlePrivate: [],
    idleDirty: [],
    floorDirty: [],
    floorRss: [],
    floorPrivate: [],
    floorWakeCpu: [],
    serial: [],
    serialTotalMs: 0,
    parallel: [],
    parallelTotalMs: 0,
  };
  // dsp0 for the bundled form, dsp1 for the sources: each form has a processor, a state root and an OCI
  // bundle.
  const sim = await lab.simulator("host1", 2);
  const root = join(lab.dir, "state1");
  const bundle = await lab.bundle("bundle1", "dsp0");
  const cli = (args: string[]) => lab.cli(root, sim.host, args);
  const sourceRoot = join(lab.dir, "state2");
  const forms: Record<Form, { cli: (args: string[]) => Promise<Timed>; bundle: string; root: string }> = {
    bundle: { cli, bundle, root },
    source: {
      cli: (args) => lab.cli(sourceRoot, sim.host, args, "source"),
      bundle: await lab.bundle("bundle2", "dsp1"),
      root: sourceRoot,
    },
  };

  // Warm-up: fills Deno's module and code caches so the first round is not an outlier.
  await lab.floor();
  for (const form of Object.values(forms)) await lifecycle(form.cli, form.bundle, "warm");

  log(`commands: ${plan.commandRounds} rounds, both forms`);
  // Each proxy these rounds and the crash rounds start becomes this process's child once its create has
  // exited, and its end is taken from wait4.
  using reaper = Reaper.open();
  reaper.adopt(true);
  for (let round = 0; round < plan.commandRounds; round++) {
    const id = `c${round}`;
    const steps = (b: string): [CommandName, string[]][] => [
      ["create", ["create", "--bundle", b, id]],
      ["start", ["start", id]],
      ["state", ["state", id]],
      ["kill", ["kill", id, "TERM"]],
      ["delete", ["delete", id]],
    ];
    // The forms take turns at going first.
    const order: Form[] = round % 2 === 0 ? ["bundle", "source"] : ["source", "bundle"];
    for (let step = 0; step < 5; step++) {
      // One floor run next to each command, so noise on the machine hits both alike.
      const floor = await lab.floor();
      s.floor.push(floor.ms);
      s.floorCpu.push(floor.cpuMs);
      for (const form of order) {
        const [name, args] = steps(forms[form].bundle)[step];
        let result: Timed;
        if (name === "kill") {
          const proxy = await proxyPid(forms[form].root, id);
          lab.track(proxy);
          const began = epochNow();
          result = await forms[form].cli(args);
          // The container's end, for an engine; and nothing of the proxy's is left to slow the next step.
          const ended = await reaper.ended(proxy);
          if (form === "bundle") {
            // When the processor went offline is the simulator's to tell: polling its state file from here
            // would take CPU from the kill being timed (about 4 ms of it on two cores).
            s.stopLatency.push((await sim.offlineAt("dsp0", began)) - began);
            s.stopExit.push(ended - began);
          }
        } else {
          result = await forms[form].cli(args);
        }
        if (name === "state" && JSON.parse(result.stdout).status !== "running") {
          throw new Error(`state after start reads ${result.stdout} (${form})`);
        }
        s.commands[form][name].ms.push(result.ms);
        s.commands[form][name].cpu.push(result.cpuMs);
      }
    }
  }

  log(`crash detection: ${plan.crashRounds} rounds`);
  for (let round = 0; round < plan.crashRounds; round++) {
    const id = `crash${round}`;
    await cli(["create", "--bundle", bundle, id]);
    await cli(["start", id]);
    const proxy = await proxyPid(root, id);
    lab.track(proxy);
    // A random phase in the proxy's poll cycle, so the samples cover the whole cycle, not one point of it.
    await delay(Math.random() * PROXY_POLL_MS);
    const began = epochNow();
    await sim.crash("dsp0");
    const gone = reaper.ended(proxy, 10_000);
    let stateAt = 0;
    while (stateAt === 0) {
      const state = await cli(["state", id]);
      if (JSON.parse(state.stdout).status === "stopped") stateAt = epochNow();
    }
    s.crashExit.push((await gone) - began);
    s.crashState.push(stateAt - began);
    await cli(["delete", id]);
  }
  reaper.adopt(false);

  log(`simulator answers: ${plan.crashRounds} rounds`);
  s.simAnswer = simulatorAnswers(sim, join(lab.firmwareDir, "host1"), 1, plan.crashRounds);

  log(`idle proxy: ${plan.idleWindowMs} ms window`);
  {
    await cli(["create", "--bundle", bundle, "idle"]);
    await cli(["start", "idle"]);
    const proxy = await proxyPid(root, "idle");
    lab.track(proxy);
    // The window opens once the proxy waits as it then does all day, blocked in poll(2): a second after its
    // boot it opens libc (LIBC_AFTER_MS in lib/proxy/driver.ts), one-time work that is not idling.
    await waitFor(() => blockedInPoll(proxy), {
      timeoutMs: 5_000,
      intervalMs: 10,
      what: "the idle proxy to block in poll(2)",
    }).catch(() => log("the idle proxy did not block in poll(2) within 5 s: measured as it is"));
    const idle = lab.spawnIdle();
    // The proxy's CPU floor: waking as often as the proxy and reading the same attribute, nothing else.
    const wake = await lab.spawnWake(sim.stateFile(0), PROXY_POLL_MS);
    // All get the same window to settle before their memory is read at its end.
    const cpuBefore = await Promise.all([threadCpuNs(proxy), threadCpuNs(wake.pid)]);
    const began = performance.now();
    await delay(plan.idleWindowMs);
    const cpuAfter = await Promise.all([threadCpuNs(proxy), threadCpuNs(wake.pid)]);
    const elapsed = performance.now() - began;
    const percent = (i: number) => (cpuUsedNs(cpuBefore[i], cpuAfter[i]) / 1e6 / elapsed) * 100;
    s.idleCpuPercent.push(percent(0));
    s.floorWakeCpu.push(percent(1));
    const [proxyMem, idleMem] = await Promise.all([memoryKiB(proxy), memoryKiB(idle.pid)]);
    s.idleRss.push(proxyMem.rss / 1024);
    s.idlePrivate.push(proxyMem.private / 1024);
    s.floorRss.push(idleMem.rss / 1024);
    s.floorPrivate.push(idleMem.private / 1024);
    s.idleDirty.push(proxyMem.dirty / 1024);
    s.floorDirty.push(idleMem.dirty / 1024);
    for (const child of [idle, wake]) {
      child.kill("SIGKILL");
      await child.status;
    }
    await cli(["kill", "idle"]);
    await cli(["delete", "idle"]);
  }

  log(`throughput: ${plan.serialLifecycles} lifecycles in a row`);
  {
    const began = performance.now();
    for (let i = 0; i < plan.serialLifecycles; i++) s.serial.push(await lifecycle(cli, bundle, `s${i}`));
    s.serialTotalMs = performance.now() - began;
  }

  log(`throughput: ${plan.parallelLifecycles} lifecycles on ${plan.processors} processors in parallel`);
  {
    const sim8 = await lab.simulator("host8", plan.processors);
    const root8 = join(lab.dir, "state8");
    const bundles = await Promise.all(
      Array.from({ length: plan.processors }, (_, i) => lab.bundle(`bundle8-${i}`, `dsp${i}`)),
    );
    const cli8 = (args: string[]) => lab.cli(root8, sim8.host, args);
    const began = performance.now();
    await Promise.all(bundles.map(async (b, worker) => {
      for (let i = worker; i < plan.parallelLifecycles; i += plan.processors) {
        s.parallel.push(await lifecycle(cli8, b, `p${i}`));
      }
    }));
    s.parallelTotalMs = performance.now() - began;
  }
  return toRows(s);
}

/** One full lifecycle (create, start, state, kill, delete); returns its wall time in ms. */
async function lifecycle(
  cli: (args: string[]) => Promise<Timed>,
  bundle: string,
  id: string,
): Promise<number> {
  const began = performance.now();
  await cli(["create", "--bundle", bundle, id]);
  await cli(["start", id]);
  await cli(["state", id]);
  await cli(["kill", id]);
  await cli(["delete", id]);
  return performance.now() - began;
}

async function proxyPid(root: string, id: string): Promise<number> {
  return JSON.parse(await Deno.readTextFile(join(root, id, "proxy.json"))).pid;
}

function log(line: string): void {
  console.error(`bench: ${line}`);
}

/**
 * Turns what a run measured into the table's rows, with ratios to the floors and the goals' verdicts.
 *
 * @example
 * ```ts
 * const rows = toRows(samples);
 * ```
 */
export function toRows(s: Samples): BenchRow[] {
  const floor = median(s.floor);
  const floorPrivate = median(s.floorPrivate);
  const floorRss = median(s.floorRss);
  const floorWake = median(s.floorWakeCpu);
  const row = (
    key: (typeof ROW_KEYS)[number],
    label: string,
    unit: BenchRow["unit"],
    values: number[],
    options: { base?: number; goal?: string; max?: number; on?: "median" | "p95"; cpu?: number[] } = {},
  ): BenchRow => {
    const med = median(values);
    const p95 = percentile(values, 95);
    const ratio = options.base === undefined ? null : med / options.base;
    let met: boolean | null = null;
    if (options.max !== undefined) {
      // A goal is on the ratio to the floor where there is one, unless it names the median or the p95.
      const measured = options.on === "p95"
        ? p95
        : options.on === "median" || options.base === undefined
        ? med
        : ratio!;
      met = measured <= options.max;
    }
    const r: BenchRow = {
      key,
      label,
      unit,
      n: values.length,
      median: med,
      p95,
      ratio,
      goal: options.goal ?? "",
      met,
    };
    if (options.cpu) r.cpuMs = median(options.cpu);
    return r;
  };
  const cmd = (name: CommandName, max: number, form: Form = "bundle") =>
    row(
      `${form === "bundle" ? "cmd" : "src"}.${name}`,
      form === "bundle" ? name : `${name} (from sources)`,
      "ms",
      s.commands[form][name].ms,
      {
        base: floor,
        goal: `<= ${max}x`,
        max,
        cpu: s.commands[form][name].cpu,
      },
    );
  const rate = (count: number, totalMs: number) => [(count / totalMs) * 1000];
  return [
    row("floor.run", "floor: deno run (empty script)", "ms", s.floor, { base: floor, cpu: s.floorCpu }),
    row("floor.rss", "floor: idle deno RSS", "MiB", s.floorRss, { base: floorRss }),
    row("floor.private", "floor: idle deno private", "MiB", s.floorPrivate, { base: floorPrivate }),
    row("floor.wake", `floor: deno waking every ${PROXY_POLL_MS} ms (CPU)`, "%", s.floorWakeCpu, {
      base: floorWake,
    }),
    ...(["bundle", "source"] as const).flatMap((form) =>
      Object.entries(COMMAND_GOALS).map(([name, max]) => cmd(name as CommandName, max, form))
    ),
    row("stop.latency", "stop: kill invoked -> offline", "ms", s.stopLatency, { base: floor }),
    row("stop.exit", "stop: kill invoked -> proxy exited", "ms", s.stopExit, { base: floor }),
    row("crash.exit", "crash -> proxy exit", "ms", s.crashExit, {
      goal: "p95 <= 150 ms",
      max: 150,
      on: "p95",
    }),
    row("crash.state", "crash -> state reads stopped", "ms", s.crashState, { base: floor }),
    row("sim.answer", "simulator: state written -> answered", "ms", s.simAnswer),
    row("idle.cpu", "idle proxy CPU (% of a core)", "%", s.idleCpuPercent, {
      base: floorWake,
      goal: "<= 0.5%",
      max: 0.5,
      on: "median",
    }),
    row("idle.rss", "idle proxy RSS", "MiB", s.idleRss, { base: floorRss }),
    row("idle.private", "idle proxy private", "MiB", s.idlePrivate, {
      base: floorPrivate,
      goal: "<= 1.15x",
      max: 1.15,
    }),
    row("idle.dirty", "  of which Private_Dirty", "MiB", s.idleDirty, { base: median(s.floorDirty) }),
    row("life.serial", "lifecycle, 1 processor in a row", "ms", s.serial, { base: floor }),
    row("life.serial.rate", "  lifecycles per second", "/s", rate(s.serial.length, s.serialTotalMs)),
    row("life.parallel", "lifecycle, 8 processors in parallel", "ms", s.parallel, { base: floor }),
    row("life.parallel.rate", "  lifecycles per second", "/s", rate(s.parallel.length, s.parallelTotalMs)),
  ];
}

/**
 * Formats a report as a Markdown table.
 *
 * @example
 * ```ts
 * console.log(formatTable(report));
 * ```
 */
export function formatTable(report: BenchReport): string {
  const num = (v: number, unit: BenchRow["unit"]) =>
    Number.isFinite(v) ? (unit === "%" || unit === "/s" ? v.toFixed(2) : v.toFixed(1)) : "-";
  const header = ["what", "n", "median", "p95", "x floor", "cpu ms", "goal", "met"];
  const lines = report.rows.map((r) => [
    r.label,
    String(r.n),
    `${num(r.median, r.unit)} ${r.unit}`,
    `${num(r.p95, r.unit)} ${r.unit}`,
    r.ratio === null ? "" : `${r.ratio.toFixed(2)}x`,
    r.cpuMs === undefined ? "" : r.cpuMs.toFixed(0),
    r.goal,
    r.met === null ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    `deno ${report.deno}, v8 ${report.v8}, ${report.cpus} CPUs, load ${
      report.loadAverage.map((l) => l.toFixed(2)).join(" ")
    }${report.quick ? ", quick mode" : ""}, ${(report.durationMs / 1000).toFixed(0)} s`,
    "commands: `deno run -A --no-config remoteproc-runtime.js` (bundled form); from sources: `deno run -A main.ts`",
    `files: state, simulated sysfs and bundles on ${report.storage.labFileSystem} (${report.storage.lab}); ` +
    `firmware copies on ${report.storage.firmwareFileSystem} (${report.storage.firmware})`,
    "",
    fmt(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...lines.map(fmt),
  ].join("\n");
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
