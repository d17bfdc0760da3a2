import assert from "node:assert/strict";
import { RuntimeError } from "../lib/errors.ts";
import { parseSignal, signalAction } from "../lib/process/signals.ts";

function assertUnknownSignal(input: string): void {
  assert.throws(
    () => parseSignal(input),
    (err: unknown) => {
      assert.ok(err instanceof RuntimeError, `expected a RuntimeError for ${JSON.stringify(input)}`);
      assert.equal(err.code, "usage");
      assert.match(err.message, /unknown signal/);
      assert.ok(
        err.message.includes(JSON.stringify(input)),
        `message ${JSON.stringify(err.message)} should quote the input ${JSON.stringify(input)}`,
      );
      return true;
    },
  );
}

Deno.test("parseSignal accepts every spelling runc accepts for KILL", () => {
  for (const spelling of ["9", "KILL", "kill", "Kill", "SIGKILL", "sigkill", "SigKill"]) {
    assert.deepEqual(parseSignal(spelling), { name: "SIGKILL", number: 9 }, spelling);
  }
});

Deno.test("parseSignal accepts every spelling of TERM, INT, HUP and USR1", () => {
  const cases: [string[], string, number][] = [
    [["15", "TERM", "term", "SIGTERM", "sigterm"], "SIGTERM", 15],
    [["2", "INT", "int", "SIGINT", "sigint"], "SIGINT", 2],
    [["1", "HUP", "hup", "SIGHUP"], "SIGHUP", 1],
    [["10", "USR1", "usr1", "SIGUSR1"], "SIGUSR1", 10],
    [["19", "STOP", "SIGSTOP"], "SIGSTOP", 19],
  ];
  for (const [spellings, name, number] of cases) {
    for (const s of spellings) assert.deepEqual(parseSignal(s), { name, number }, s);
  }
});

Deno.test("parseSignal ignores surrounding whitespace, as a shell-split argument may carry it", () => {
  assert.deepEqual(parseSignal(" TERM"), { name: "SIGTERM", number: 15 });
  assert.deepEqual(parseSignal("KILL\n"), { name: "SIGKILL", number: 9 });
  assert.deepEqual(parseSignal(" 9 "), { name: "SIGKILL", number: 9 });
});

Deno.test("parseSignal maps legacy aliases to their canonical names", () => {
  assert.deepEqual(parseSignal("IOT"), { name: "SIGABRT", number: 6 });
  assert.deepEqual(parseSignal("SIGPOLL"), { name: "SIGIO", number: 29 });
  assert.deepEqual(parseSignal("cld"), { name: "SIGCHLD", number: 17 });
});

Deno.test("parseSignal knows every standard Linux signal number from 1 to 31", () => {
  const seen = new Set<string>();
  for (let n = 1; n <= 31; n++) {
    const parsed = parseSignal(String(n));
    assert.equal(parsed.number, n);
    assert.match(parsed.name, /^SIG[A-Z0-9]+$/);
    seen.add(parsed.name);
    // The name it returns parses back to the same number.
    assert.equal(parseSignal(parsed.name).number, n);
  }
  assert.equal(seen.size, 31, "each number has its own name");
});

Deno.test("parseSignal recognises real-time signals by name and by number", () => {
  assert.deepEqual(parseSignal("RTMIN+3"), { name: "SIGRTMIN+3", number: 37 });
  assert.deepEqual(parseSignal("sigrtmin+3"), { name: "SIGRTMIN+3", number: 37 });
  assert.deepEqual(parseSignal("RTMIN"), { name: "SIGRTMIN+0", number: 34 });
  assert.deepEqual(parseSignal("34"), { name: "SIGRTMIN+0", number: 34 });
  assert.deepEqual(parseSignal("64"), { name: "SIGRTMIN+30", number: 64 });
  assert.deepEqual(parseSignal("RTMAX"), { name: "SIGRTMIN+30", number: 64 });
  assert.deepEqual(parseSignal("RTMAX-2"), { name: "SIGRTMIN+28", number: 62 });
  // The number and the name of the same signal agree.
  assert.equal(parseSignal("37").name, parseSignal("RTMIN+3").name);
});

Deno.test("parseSignal rejects unknown names with a usage error quoting the input", () => {
  for (
    const input of ["FOO", "SIGFOO", "sig", "SIG", "", " ", "KIL", "KILLL", "-9", "+9", "9x", "SIG KILL"]
  ) {
    assertUnknownSignal(input);
  }
});

Deno.test("parseSignal rejects numbers that are not Linux signals", () => {
  for (const input of ["0", "32", "33", "65", "99", "1000", "99999999999999999999"]) {
    assertUnknownSignal(input);
  }
});

Deno.test("parseSignal rejects real-time offsets outside RTMIN..RTMAX", () => {
  for (const input of ["RTMIN-1", "RTMIN+31", "RTMAX+1", "RTMIN+x"]) assertUnknownSignal(input);
});

Deno.test("signalAction: TERM and INT stop gracefully, in any spelling", () => {
  for (const s of ["TERM", "15", "sigterm", "INT", "2", "SIGINT"]) {
    assert.equal(signalAction(parseSignal(s)), "graceful-stop", s);
  }
});

Deno.test("signalAction: KILL stops by force, in any spelling", () => {
  for (const s of ["KILL", "9", "sigkill"]) assert.equal(signalAction(parseSignal(s)), "force-stop", s);
});

Deno.test("signalAction: other signals have no meaning for a remote processor", () => {
  for (const s of ["HUP", "USR1", "USR2", "STOP", "CONT", "QUIT", "WINCH", "RTMIN+3", "34"]) {
    assert.equal(signalAction(parseSignal(s)), "unsupported", s);
  }
});
