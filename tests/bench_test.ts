import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BenchReport,
  cpuUsedNs,
  mountFileSystem,
  ROW_KEYS,
  type Samples,
  toRows,
} from "../lib/dev/bench.ts";
import { TIMED_OUT, waitFor, within } from "../lib/util/wait.ts";
import { tempDir } from "./helpers.ts";

const BENCH = fileURLToPath(new URL("../lib/dev/bench.ts", import.meta.url));

// Proves the benchmark runs end to end (quick mode); it asserts no timing, only a complete, well-formed result.
Deno.test("bench --quick: prints a table and writes JSON with every row, and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rproc-bench-test-" });
  try {
    const json = join(dir, "result.json");
    // The benchmark's temp trees go here, not in the shared temp directory (nor /dev/shm) another run may be
    // using: its firmware copies in TMPDIR, the rest under --lab-dir.
    const tmp = join(dir, "tmp");
    const labDir = join(dir, "lab");
    await Deno.mkdir(tmp);
    await Deno.mkdir(labDir);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BENCH, "--quick", "--json", json, "--lab-dir", labDir],
      env: { TMPDIR: tmp },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);

    const report: BenchReport = JSON.parse(await Deno.readTextFile(json));
    assert.equal(report.quick, true);
    const real = await Deno.realPath(dir);
    assert.ok(report.storage.lab.startsWith(join(real, "lab", "rproc-bench-")), report.storage.lab);
    assert.ok(
      report.storage.firmware.startsWith(join(real, "tmp", "rproc-bench-firmware-")),
      report.storage.firmware,
    );
    assert.notEqual(report.storage.labFileSystem, "unknown");
    assert.ok(
      stdout.includes(
        `files: state, simulated sysfs and bundles on ${report.storage.labFileSystem} (${report.storage.lab})`,
      ),
      stdout,
    );
    assert.deepEqual(report.rows.map((r) => r.key), [...ROW_KEYS]);
    for (const row of report.rows) {
      assert.ok(row.n >= 1, `${row.key} has no samples`);
      assert.ok(
        Number.isFinite(row.median) && Number.isFinite(row.p95),
        `${row.key}: ${JSON.stringify(row)}`,
      );
      assert.ok(row.median >= 0 || row.key === "idle.cpu", `${row.key} is negative`);
      assert.ok(row.p95 >= row.median, `${row.key}: p95 below median`);
      if (row.ratio !== null) assert.ok(Number.isFinite(row.ratio) && row.ratio > 0, `${row.key} ratio`);
      if (row.goal !== "") {
        assert.equal(row.met, verdict(row), `${row.key}: the verdict does not follow its goal`);
      }
      assert.ok(stdout.includes(`| ${row.label}`), `the table lacks ${row.label}`);
    }
    assert.match(stdout, /^\| what +\| n +\| median/m);
    // Every temp tree it made is gone (its processes were killed by pid before that).
    assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp), (e) => e.name), []);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(labDir), (e) => e.name), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench rows: ratios to the floors, and each verdict on what its goal names", () => {
  const timed = (ms: number) => ({ ms: [ms], cpu: [10] });
  const commands = {
    create: timed(220),
    start: timed(126),
    state: timed(110),
    kill: timed(124),
    delete: timed(90),
  };
  const samples: Samples = {
    floor: [100],
    floorCpu: [60],
    commands: { bundle: commands, source: commands },
    stopLatency: [90],
    stopExit: [95],
    crashExit: [100, 151],
    crashState: [120],
    simAnswer: [0.5],
    // Above the CPU floor (2x), yet under the goal's 0.5% of a core: met.
    idleCpuPercent: [0.4],
    floorWakeCpu: [0.2],
    idleRss: [40],
    idlePrivate: [12],
    idleDirty: [11],
    floorDirty: [10],
    floorRss: [36],
    floorPrivate: [10],
    serial: [500],
    serialTotalMs: 500,
    parallel: [3000],
    parallelTotalMs: 3000,
  };
  const rows = Object.fromEntries(toRows(samples).map((r) => [r.key, r]));
  assert.deepEqual(Object.keys(rows), [...ROW_KEYS]);
  assert.equal(rows["idle.cpu"].ratio, 2);
  assert.equal(rows["idle.cpu"].met, true);
  assert.equal(rows["floor.wake"].ratio, 1);
  assert.equal(rows["cmd.create"].met, true); // 2.2x of 2.3x
  assert.equal(rows["cmd.start"].met, false); // 1.26x of 1.25x
  assert.equal(rows["cmd.kill"].met, true);
  assert.equal(rows["crash.exit"].met, false); // p95 151 ms
  assert.equal(rows["idle.private"].met, false); // 1.2x of 1.15x
  for (const row of Object.values(rows)) if (row.goal !== "") assert.equal(row.met, verdict(row), row.key);
});

/** Whether a row meets its goal, read from the goal's words: "<= 1.25x" (the ratio), "<= 0.5%", "p95 <= 150 ms". */
function verdict(row: BenchReport["rows"][number]): boolean {
  const ratio = /^<= ([\d.]+)x$/.exec(row.goal);
  if (ratio) return row.ratio !== null && row.ratio <= Number(ratio[1]);
  const percent = /^<= ([\d.]+)%$/.exec(row.goal);
  if (percent) return row.median <= Number(percent[1]);
  const p95 = /^p95 <= ([\d.]+) ms$/.exec(row.goal);
  if (p95) return row.p95 <= Number(p95[1]);
  throw new Error(`${row.key}: a goal the test cannot read: ${row.goal}`);
}

Deno.test("cpuUsedNs: a thread that ends in the window takes none of its earlier CPU time with it", () => {
  // Thread 2 ended (its 9 ns were used before the window), thread 3 started: 3 + 2 were used in the window.
  const before = new Map([["1", 5], ["2", 9]]);
  const after = new Map([["1", 8], ["3", 2]]);
  assert.equal(cpuUsedNs(before, after), 5);
  assert.equal(cpuUsedNs(after, after), 0);
});

Deno.test("mountFileSystem: the longest mount point containing the path, the later of two on one point, escapes", () => {
  const mounts = [
    "/dev/vda / ext4 rw,relatime 0 0",
    "devtmpfs /dev devtmpfs rw 0 0",
    "tmpfs /dev/shm tmpfs rw 0 0",
    "tmpfs /mnt/my\\040disk tmpfs rw 0 0",
    "/dev/vdb /mnt/my\\040disk ext4 rw 0 0",
    "",
  ].join("\n");
  assert.equal(mountFileSystem(mounts, "/dev/shm/rproc-bench-x"), "tmpfs");
  assert.equal(mountFileSystem(mounts, "/dev/shm"), "tmpfs");
  assert.equal(mountFileSystem(mounts, "/dev/shmx"), "devtmpfs");
  assert.equal(mountFileSystem(mounts, "/tmp/x"), "ext4");
  assert.equal(mountFileSystem(mounts, "/mnt/my disk/x"), "ext4");
  assert.equal(mountFileSystem(mounts, "/mnt/my"), "ext4");
  assert.equal(mountFileSystem("", "/tmp"), "unknown");
});

Deno.test("bench --simulator: answers the writes to its processors' attributes, takes its commands on stdin, ends with stdin", async () => {
  await using tmp = await tempDir("rproc-bench-sim-");
  const host = join(tmp.path, "host");
  const firmware = join(tmp.path, "firmware");
  await Deno.mkdir(firmware);
  await Deno.writeTextFile(join(firmware, "fw.elf"), "\x7fELF");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, "--simulator", host, firmware, "dsp0", "dsp1"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const nextLine = () =>
    waitFor(async () => {
      const newline = out.indexOf("\n");
      if (newline >= 0) {
        const line = out.slice(0, newline);
        out = out.slice(newline + 1);
        return line;
      }
      const { value } = await lines.read();
      out += value ?? "";
      return undefined;
    }, { timeoutMs: 20_000, intervalMs: 1, what: "a line from the simulator" });
  const writer = child.stdin.getWriter();
  const send = (line: string) => writer.write(new TextEncoder().encode(`${line}\n`));
  const dir = (n: number) => join(host, `sys/class/remoteproc/remoteproc${n}`);
  const state = (n: number) => Deno.readTextFile(join(dir(n), "state")).then((s) => s.trim());
  try {
    assert.equal(await nextLine(), "ready");
    // Written in place, as the runtime writes sysfs; only the processor written to answers.
    await Deno.writeTextFile(join(dir(0), "firmware"), "fw.elf");
    await Deno.writeTextFile(join(dir(0), "state"), "start");
    await waitFor(async () => (await state(0)) === "running", { timeoutMs: 5000, what: "dsp0 running" });
    assert.equal(await state(1), "offline");
    // A file that is not an attribute is not answered; the simulator serves on (below).
    await Deno.writeTextFile(join(dir(1), "notes"), "start");
    await send("offline-at dsp0");
    assert.equal(await nextLine(), "none");
    const before = Date.now();
    await Deno.writeTextFile(join(dir(0), "state"), "stop");
    await waitFor(async () => (await state(0)) === "offline", { timeoutMs: 5000, what: "dsp0 offline" });
    await send("offline-at dsp0");
    assert.ok(Number(await nextLine()) >= before - 1);
    await Deno.writeTextFile(join(dir(1), "state"), "start");
    await waitFor(async () => (await state(1)) === "offline", { timeoutMs: 5000, what: "dsp1's refusal" });
    await send("crash dsp0");
    assert.equal(await nextLine(), "ok");
    assert.equal(await state(0), "crashed");
    await writer.close();
  } finally {
    // Ends on its own once stdin is closed; killed by its pid if it has not.
    const ended = await within(child.status, 10_000);
    if (ended === TIMED_OUT) Deno.kill(child.pid, "SIGKILL");
  }
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  await lines.cancel();
  assert.equal(stderr, "");
  assert.equal(status.code, 0);
});
