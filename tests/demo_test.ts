import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));

Deno.test("the README's demo command runs the whole lifecycle and leaves nothing behind", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, "lib/dev/demo.ts")],
    cwd: REPO,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  assert.match(text, /\$ remoteproc-runtime start demo\n {2}-> exit 0 .*dsp0 state: running/);
  assert.match(text, /\$ remoteproc-runtime kill demo TERM\n {2}-> exit 0 .*dsp0 state: offline/);
  assert.match(text, /status: stopped, pid: 0/);
  assert.match(text, /Firmware copies left in .*: none/);
  assert.match(text, /Demo finished/);
});
