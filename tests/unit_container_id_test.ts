import assert from "node:assert/strict";
import { RuntimeError } from "../lib/errors.ts";
import { validateContainerId } from "../lib/oci/container_id.ts";

function assertInvalid(id: string, pattern: RegExp = /invalid container id/): RuntimeError {
  let caught: unknown;
  try {
    validateContainerId(id);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RuntimeError, `${JSON.stringify(id).slice(0, 60)} should be refused`);
  assert.equal(caught.code, "invalid-id");
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes("\n"), "the message is one line");
  return caught;
}

Deno.test("validateContainerId accepts ids made of letters, digits and _ + . -", () => {
  for (
    const id of [
      "a",
      "Z",
      "0",
      "fw1",
      "fw-1",
      "fw_1",
      "fw.1",
      "fw+1",
      "...",
      ".hidden",
      "a..b",
      "-leading-dash",
      "3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f",
    ]
  ) {
    validateContainerId(id);
  }
});

Deno.test("validateContainerId refuses the empty id, saying it is empty", () => {
  assertInvalid("", /empty/);
});

Deno.test("validateContainerId refuses . and .., which would name the state root or its parent", () => {
  assertInvalid(".");
  assertInvalid("..");
});

Deno.test("validateContainerId refuses anything that could reach outside the state root", () => {
  for (const id of ["a/b", "/abs", "../x", "x/..", "..\\x", "a/", "/"]) assertInvalid(id);
});

Deno.test("validateContainerId refuses spaces, control characters and NUL", () => {
  for (const id of ["a b", " a", "a ", "a\tb", "a\nb", "a\n", "a\0b", "\0", "a\rb"]) assertInvalid(id);
});

Deno.test("validateContainerId refuses non-ASCII letters and punctuation", () => {
  for (
    const id of [
      "caf\u00e9",
      "\u0444\u0432",
      "\u{1F600}",
      "fw\u200b1",
      "a:b",
      "a@b",
      "a=b",
      "a,b",
      "a*",
      "a$b",
      "~a",
    ]
  ) {
    assertInvalid(id);
  }
});

Deno.test("validateContainerId quotes the bad id so the user sees which one", () => {
  const err = assertInvalid("bad id");
  assert.ok(err.message.includes('"bad id"'), err.message);
  // A newline in the id is escaped, so the message stays on one line.
  const nl = assertInvalid("a\nb");
  assert.ok(nl.message.includes('"a\\nb"'), nl.message);
});

Deno.test("validateContainerId refuses very long ids and says how long they may be", () => {
  validateContainerId("a".repeat(1024));
  const err = assertInvalid("a".repeat(1025), /1025 characters/);
  assert.match(err.message, /at most 1024/);
});

Deno.test("validateContainerId keeps the message short for a very long invalid id", () => {
  const err = assertInvalid("/".repeat(100_000));
  assert.ok(err.message.length < 300, `message is ${err.message.length} characters long`);
});
