import assert from "node:assert/strict";
import * as nodePath from "node:path";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "../lib/util/path.ts";
import { seededRandom } from "./helpers.ts";

const SEGMENTS = [
  "",
  ".",
  "..",
  "...",
  "a",
  "bc",
  ".a",
  "a.",
  "..a",
  "a..",
  " ",
  "a b",
  "é",
  "日本",
  "🙂",
  "-",
];
const HAND_PICKED = [
  "",
  ".",
  "..",
  "/",
  "//",
  "///",
  "//a//b/",
  "a/../../b",
  "/a/../../b",
  "a/",
  "a//",
  "/a/",
  "./a",
  "../a",
  "a/./b/.",
  "a/b/..",
  "a/b/../",
  "/..",
  "/../",
  "./",
  "../",
  "//a",
  "///a",
  "/a//b",
  "a/b/c/d/e",
  "/x/y/../../..",
  "...",
  "/.../..",
  "日本/語/../ファイル",
  "/🙂/./x",
];

function _generatedPaths(count: number, seed: number): string[] {
  const next = seededRandom(seed);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  const paths: string[] = [];
  for (let n = 0; n < count; n++) {
    const parts: string[] = [];
    const length = Math.floor(next() * 6);
    for (let i = 0; i < length; i++) parts.push(pick(SEGMENTS));
    let path = parts.join(pick(["/", "/", "/", "//"]));
    path = pick(["", "", "/", "//", "///"]) + path + pick(["", "", "/", "//"]);
    paths.push(path);
  }
  return paths;
}

const INPUTS = [...HAND_PICKED, ..._generatedPaths(5000, 42)];

function _check(what: string, ours: (...args: string[]) => unknown, node: (...args: string[]) => unknown) {
  return (...args: string[]) => {
    assert.equal(ours(...args), node(...args), `${what}(${args.map((a) => JSON.stringify(a)).join(", ")})`);
  };
}

Deno.test("isAbsolute, normalize, dirname and basename agree with node:path on every input", () => {
  const checks = [
    _check("isAbsolute", isAbsolute, nodePath.posix.isAbsolute),
    _check("normalize", normalize, nodePath.posix.normalize),
    _check("dirname", dirname, nodePath.posix.dirname),
    _check("basename", basename, (p) => nodePath.posix.basename(p)),
  ];
  for (const input of INPUTS) for (const check of checks) check(input);
});

Deno.test("join agrees with node:path for zero to four parts", () => {
  const check = _check("join", join, nodePath.posix.join);
  check();
  const next = seededRandom(7);
  for (let n = 0; n < 5000; n++) {
    const count = Math.floor(next() * 5);
    const parts = Array.from({ length: count }, () => INPUTS[Math.floor(next() * INPUTS.length)]);
    check(...parts);
  }
  for (const a of HAND_PICKED) for (const b of HAND_PICKED) check(a, b);
});

Deno.test("resolve agrees with node:path for relative and absolute mixes, from the current directory", () => {
  const check = _check("resolve", resolve, nodePath.posix.resolve);
  check();
  const next = seededRandom(11);
  for (let n = 0; n < 5000; n++) {
    const count = Math.floor(next() * 5);
    const parts = Array.from({ length: count }, () => INPUTS[Math.floor(next() * INPUTS.length)]);
    check(...parts);
  }
  for (const a of HAND_PICKED) {
    check(a);
    for (const b of HAND_PICKED) check(a, b);
  }
});

Deno.test("resolve reads the current directory only when no part is absolute", () => {
  assert.equal(resolve("/srv", "bundle", "../fw/"), "/srv/fw");
  assert.equal(resolve("bundle", "/abs", "x"), "/abs/x");
  assert.equal(resolve("x"), join(Deno.cwd(), "x"));
  assert.equal(resolve(""), Deno.cwd());
});

Deno.test("the examples in the JSDoc hold", () => {
  assert.equal(join("/run/rt", "fw1", "state.json"), "/run/rt/fw1/state.json");
  assert.equal(join("a", "../b/"), "b/");
  assert.equal(normalize("/a//b/../c/"), "/a/c/");
  assert.equal(normalize("a/../../b"), "../b");
  assert.equal(dirname("/run/rt/fw1/state.json"), "/run/rt/fw1");
  assert.equal(dirname("name"), ".");
  assert.equal(basename("/lib/firmware/blink.elf"), "blink.elf");
  assert.equal(basename("/a/b/"), "b");
});
