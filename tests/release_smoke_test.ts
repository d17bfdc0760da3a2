import assert from "node:assert/strict";
import { join } from "node:path";
import { releaseSmoke, SmokeFailure } from "../lib/dev/release_smoke.ts";
import { MAIN } from "./helpers.ts";

/** A stand-in for the compiled file (which cannot be built here): a script that runs `deno run main.ts`. */
async function standIn(dir: string, body: string): Promise<string> {
  const path = join(dir, "remoteproc-runtime");
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

Deno.test("the release smoke test passes on a working runtime and fails on a broken one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rproc-smoke-test-" });
  try {
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const good = await standIn(dir, `exec ${quote(Deno.execPath())} run -A ${quote(MAIN)} "$@"`);
    const lines: string[] = [];
    const startupMs = await releaseSmoke({ file: good, startupRuns: 1, log: (l) => lines.push(l) });
    assert.ok(Number.isFinite(startupMs) && startupMs > 0, `start-up time ${startupMs}`);
    assert.ok(lines.some((l) => /^ok start/.test(l)), lines.join("\n"));
    const broken = await standIn(dir, "exit 0");
    await assert.rejects(releaseSmoke({ file: broken, startupRuns: 0, log: () => {} }), SmokeFailure);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
