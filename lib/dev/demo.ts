/**
 * The demo: a simulated remote processor in a temp directory, a bundle built from testdata/, and the real CLI
 * taking it through create, state, start, state, kill, state and delete, printing each step and what the
 * processor's sysfs says. Run with `deno task demo`.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Simulator } from "../simulator/simulator.ts";
import { FIRMWARE_LEDGER } from "../store/firmware_store.ts";

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const MAIN = join(REPO, "main.ts");
const enc = new TextEncoder();
const say = (text: string) => Deno.stdout.writeSync(enc.encode(text + "\n"));

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "remoteproc-demo-" });
  const host = join(dir, "host");
  const root = join(dir, "state");
  const bundle = join(dir, "bundle");
  const log = join(dir, "container.log");
  await Deno.mkdir(host);
  await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
  await Deno.copyFile(join(REPO, "testdata/firmware/hello.elf"), join(bundle, "rootfs/hello.elf"));
  await Deno.copyFile(join(REPO, "testdata/config.json"), join(bundle, "config.json"));
  const sim = await Simulator.start({
    dir: host,
    processors: [{ name: "dsp0" }, { name: "cm4", bootDelayMs: 50 }],
  });
  let failed = false;
  try {
    say(`Simulated board under ${host}: processors dsp0 and cm4 (sysfs: ${sim.processorDir("dsp0")})`);
    say(`Bundle ${bundle}: rootfs/hello.elf, annotation remoteproc.name=dsp0\n`);
    const steps: [string, string[]][] = [
      ["processors", ["processors"]],
      ["create", ["create", "--bundle", bundle, "--pid-file", join(dir, "proxy.pid"), "demo"]],
      ["state", ["state", "demo"]],
      ["start", ["start", "demo"]],
      ["state", ["state", "demo"]],
      ["kill", ["kill", "demo", "TERM"]],
      ["state", ["state", "demo"]],
      ["delete", ["delete", "demo"]],
    ];
    for (const [label, args] of steps) {
      const started = performance.now();
      const code = await runCli(
        ["--root", root, "--host-root", host, ...args],
        label === "create" ? log : undefined,
        dir,
      );
      const ms = (performance.now() - started).toFixed(0);
      say(`$ remoteproc-runtime ${args.join(" ")}`);
      if (code.output.trim()) {
        say(indent(label === "state" ? summariseState(code.output) : code.output.trim()));
      }
      say(
        `  -> exit ${code.status} in ${ms} ms; dsp0 state: ${await sim.state("dsp0")}, firmware: ${await sim
          .firmware("dsp0")}\n`,
      );
      if (code.status !== 0) {
        failed = true;
        break;
      }
    }
    say("Container log (what the proxy printed; an engine shows this as the container's logs):");
    say(indent((await Deno.readTextFile(log).catch(() => "")).trim()));
    const left = (await Array.fromAsync(Deno.readDir(sim.firmwareDir()))).map((e) => e.name)
      .filter((name) => name !== FIRMWARE_LEDGER);
    say(`\nFirmware copies left in ${sim.firmwareDir()}: ${left.length === 0 ? "none" : left.join(", ")}`);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
  say(failed ? "Demo FAILED" : "Demo finished: the processor ran the firmware and is offline again.");
  return failed ? 1 : 0;
}

/** Runs the CLI with output in files: the proxy that create starts inherits create's stdout and stderr. */
async function runCli(args: string[], logFile: string | undefined, dir: string) {
  const out = logFile ?? join(dir, "step.out");
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'out=$1; shift; exec "$@" >>"$out" 2>&1',
      "sh",
      out,
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      ...args,
    ],
    stdin: "null",
  }).spawn();
  const { code } = await child.status;
  const output = logFile ? "" : await Deno.readTextFile(out);
  if (!logFile) await Deno.remove(out);
  return { status: code, output };
}

function summariseState(json: string): string {
  try {
    const s = JSON.parse(json);
    return `status: ${s.status}, pid: ${s.pid}, firmware copy: ${s.annotations?.["remoteproc.firmware"]}`;
  } catch {
    return json.trim();
  }
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}

if (import.meta.main) Deno.exitCode = await main();
