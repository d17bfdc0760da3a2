import { parseArgs } from "node:util";
import { KERNEL_STATES, type KernelState, type ProcessorSpec, Simulator } from "./simulator.ts";

const USAGE =
  "usage: cli.ts --dir D [--custom-firmware-path P] --processor NAME[:STATE] [--processor ...] [--boot-delay MS]";

/**
 * Runs the simulator from command-line arguments until SIGTERM or SIGINT; returns the exit code.
 * Prints "simulating N processors under D", then one line per reaction; a bad flag is one line on stderr and 1.
 *
 * @example
 * ```ts
 * Deno.exitCode = await main(["--dir", "/tmp/fake", "--processor", "dsp0:running"]);
 * ```
 * @throws file system errors from building the tree.
 */
export async function main(args: string[]): Promise<number> {
  let options: { dir: string; customFirmwarePath?: string; processors: ProcessorSpec[] };
  try {
    options = _parse(args);
  } catch (error) {
    console.error(`simulator: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const sim = await Simulator.start({ ...options, log: (line) => console.log(line) });
  console.log(`simulating ${options.processors.length} processors under ${sim.dir}`);
  const { promise, resolve } = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const signal of signals) Deno.addSignalListener(signal, resolve);
  await promise;
  for (const signal of signals) Deno.removeSignalListener(signal, resolve);
  await sim.close();
  return 0;
}

function _parse(args: string[]): { dir: string; customFirmwarePath?: string; processors: ProcessorSpec[] } {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: "string" },
      "custom-firmware-path": { type: "string" },
      processor: { type: "string", multiple: true },
      "boot-delay": { type: "string" },
    },
  });
  if (values.dir === undefined) throw new Error(`--dir is required; ${USAGE}`);
  if (!values.processor?.length) throw new Error(`at least one --processor is required; ${USAGE}`);
  const delay = values["boot-delay"];
  const bootDelayMs = delay === undefined ? undefined : Number(delay);
  if (bootDelayMs !== undefined && !(Number.isInteger(bootDelayMs) && bootDelayMs >= 0)) {
    throw new Error(`--boot-delay must be a whole number of milliseconds, got "${delay}"`);
  }
  const processors = values.processor.map((arg): ProcessorSpec => {
    const [name, state, extra] = arg.split(":");
    if (name === "" || extra !== undefined) throw new Error(`--processor expects NAME[:STATE], got "${arg}"`);
    if (state !== undefined && !(KERNEL_STATES as readonly string[]).includes(state)) {
      throw new Error(`unknown state "${state}" in --processor ${arg} (one of ${KERNEL_STATES.join(", ")})`);
    }
    return { name, state: state as KernelState | undefined, bootDelayMs };
  });
  return { dir: values.dir, customFirmwarePath: values["custom-firmware-path"], processors };
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
