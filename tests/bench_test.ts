import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchReport, ROW_KEYS } from "../lib/dev/bench.ts";

const BENCH = fileURLToPath(new URL("../lib/dev/bench.ts", import.meta.url));

// Proves the benchmark runs end to end (quick mode); it asserts no timing, only a complete, well-formed result.
Deno.test("bench --quick: prints a table and writes JSON with every row, and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rproc-bench-test-" });
  try {
    const json = join(dir, "result.json");
    const before = await benchTempDirs();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BENCH, "--quick", "--json", json],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);

    const report: BenchReport = JSON.parse(await Deno.readTextFile(json));
    assert.equal(report.quick, true);
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
      if (row.goal !== "") assert.equal(typeof row.met, "boolean", `${row.key} has a goal but no verdict`);
      assert.ok(stdout.includes(`| ${row.label}`), `the table lacks ${row.label}`);
    }
    assert.match(stdout, /^\| what +\| n +\| median/m);
    // Every temp tree it made is gone (its processes were killed by pid before that).
    assert.deepEqual((await benchTempDirs()).filter((d) => !before.includes(d)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function benchTempDirs(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(Deno.env.get("TMPDIR") ?? "/tmp")) {
    if (e.name.startsWith("rproc-bench-") && !e.name.startsWith("rproc-bench-test-")) names.push(e.name);
  }
  return names;
}
