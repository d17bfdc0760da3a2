import assert from "node:assert/strict";
import { isDigits, trimTrailingSlashes } from "../lib/util/text.ts";

/**
 * Every string of up to three characters from the ones that matter to both checks: digits and their
 * neighbours in ASCII ("/" and ":"), and non-ASCII digits that `\d` does not match.
 */
function samples(): string[] {
  const alphabet = ["0", "5", "9", "/", ":", "a", " ", "\n", "-", "\u0660", "\uff11", "\u{1d7ce}"];
  let level = [""];
  const out = [""];
  for (let n = 1; n <= 3; n++) {
    level = level.flatMap((prefix) => alphabet.map((c) => prefix + c));
    out.push(...level);
  }
  return out;
}

Deno.test("isDigits answers as /^\\d+$/ does", () => {
  const inputs = samples();
  assert.equal(inputs.length, 1 + 12 + 144 + 1728);
  for (const text of inputs) assert.equal(isDigits(text), /^\d+$/.test(text), JSON.stringify(text));
  assert.equal(isDigits("12345678901234567890"), true);
});

Deno.test('trimTrailingSlashes answers as replace(/\\/+$/, "") does', () => {
  for (const text of samples()) {
    assert.equal(trimTrailingSlashes(text), text.replace(/\/+$/, ""), JSON.stringify(text));
  }
  assert.equal(trimTrailingSlashes("/"), "");
  assert.equal(trimTrailingSlashes("/run/user/1000//"), "/run/user/1000");
});
