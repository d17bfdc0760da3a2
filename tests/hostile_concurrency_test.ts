/**
 * Guarantee 7: concurrency. Racing creates for one processor, parallel lifecycles on many processors, and
 * kill/delete/state racing on one container never leave anything half-made or corrupt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertNothingLeft,
  type CliResult,
  type Fixture,
  ledgerDir,
  listDir,
  makeFixture,
  proxiesUnder,
  storedCopies,
} from "./helpers.ts";

async function ok(f: Fixture, args: string[]): Promise<string> {
  const r = await f.cli(args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stderr, "");
  return r.stdout;
}

function oneLine(r: CliResult): string {
  assert.equal(r.stdout, "");
  assert.ok(r.stderr.endsWith("\n"));
  const lines = r.stderr.slice(0, -1).split("\n");
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  return lines[0];
}

Deno.test("20 simultaneous creates for one processor: exactly one wins, the rest fail cleanly", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  // 15 distinct ids and 5 racing for the same id.
  const ids = [...Array.from({ length: 15 }, (_, i) => `c${i}`), ...Array(5).fill("dup")];
  const results = await Promise.all(ids.map((id) => f.cli(["create", "--bundle", bundle, id])));
  const winners = results.flatMap((r, i) => r.code === 0 ? [ids[i]] : []);
  assert.equal(winners.length, 1, `exactly one create succeeds: ${results.map((r) => r.stderr).join("")}`);
  const winner = winners[0];
  for (const [i, r] of results.entries()) {
    if (r.code === 0) continue;
    assert.equal(r.code, 1);
    const line = oneLine(r);
    const holder = /already in use by container (\S+);/.exec(line);
    if (holder) assert.equal(holder[1], winner, `the holder named is the winner: ${line}`);
    else {
      assert.match(
        line,
        ids[i] === winner
          ? /container with given ID already exists: /
          : /being claimed by another container|already exists/,
      );
    }
  }
  // Nothing half-made: one container, one claim, one copy, one ledger entry, one proxy.
  assert.deepEqual((await listDir(f.root)).filter((n) => !n.startsWith(".")), [winner]);
  assert.deepEqual(await listDir(join(f.root, ".claims")), ["dsp0"]);
  assert.equal(await Deno.readTextFile(join(f.root, ".claims", "dsp0")), winner);
  assert.equal((await storedCopies(f)).length, 1);
  assert.equal((await listDir(ledgerDir(f))).length, 1);
  assert.equal((await proxiesUnder(f)).length, 1);
  assert.equal(JSON.parse(await ok(f, ["state", winner])).status, "created");
  assert.deepEqual(f.sim.writes("dsp0"), []);
  await ok(f, ["start", winner]);
  assert.equal(await f.sim.state("dsp0"), "running");
  await ok(f, ["delete", "--force", winner]);
  await assertNothingLeft(f);
});

Deno.test("full lifecycles on 8 processors in parallel all succeed", async () => {
  const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
  await using f = await makeFixture({ processors: names.map((name) => ({ name })) });
  const bundles = await Promise.all(names.map((p) => f.bundle({ processor: p, name: `b-${p}` })));
  await Promise.all(names.map(async (p, i) => {
    const id = `fw-${p}`;
    await ok(f, ["create", "--bundle", bundles[i], id]);
    assert.equal(JSON.parse(await ok(f, ["state", id])).status, "created");
    await ok(f, ["start", id]);
    assert.equal(await f.sim.state(p), "running");
    assert.equal(JSON.parse(await ok(f, ["state", id])).status, "running");
    await ok(f, ["kill", id, i % 2 === 0 ? "TERM" : "KILL"]);
    assert.equal(await f.sim.state(p), "offline");
    assert.equal(JSON.parse(await ok(f, ["state", id])).status, "stopped");
    await ok(f, ["delete", id]);
  }));
  for (const p of names) assert.equal(await f.sim.state(p), "offline");
  await assertNothingLeft(f);
});

Deno.test("kill, delete and state racing on one container never corrupt it or leave a proxy", async () => {
  await using f = await makeFixture({ processors: [{ name: "dsp0" }] });
  const bundle = await f.bundle();
  for (let round = 0; round < 4; round++) {
    const id = `race${round}`;
    await ok(f, ["create", "--bundle", bundle, id]);
    if (round % 2 === 0) await ok(f, ["start", id]);
    // Read the state file in-process all along: it is always whole JSON (atomic writes).
    let done = false;
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const text = await Deno.readTextFile(join(f.root, id, "state.json")).catch(() => undefined);
        if (text !== undefined) {
          JSON.parse(text);
          reads++;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const commands = [
      ["kill", id, "TERM"],
      ["state", id],
      ["delete", "--force", id],
      ["kill", id, "KILL"],
      ["state", id],
      ["delete", "--force", id],
      ["state", id],
      ["kill", id, "INT"],
    ];
    const results = await Promise.all(commands.map((args) => f.cli(args)));
    done = true;
    await reader;
    assert.ok(reads > 0, "the reader saw the state file at least once");
    for (const [i, r] of results.entries()) {
      const [command] = commands[i];
      const what = `${commands[i].join(" ")} (round ${round}): ${r.stderr}`;
      if (command === "delete") {
        assert.equal(r.code, 0, what);
      } else if (command === "state") {
        if (r.code === 0) {
          const s = JSON.parse(r.stdout);
          assert.ok(["created", "running", "stopped"].includes(s.status), what);
        } else assert.match(oneLine(r), /does not exist/, what);
      } else if (r.code !== 0) {
        assert.match(oneLine(r), /container not running|does not exist/, what);
      }
    }
    assert.equal(await f.sim.state("dsp0"), "offline");
    await assertNothingLeft(f, `round ${round}`);
  }
});
