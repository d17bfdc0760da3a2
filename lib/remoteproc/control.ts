import { RuntimeError } from "../errors.ts";
import { waitFor, WaitTimeout } from "../util/wait.ts";
import { processorCondition } from "./kernel_state.ts";
import { readAttribute, writeAttribute } from "./sysfs.ts";

/** How long to wait for the kernel, and how often to look. */
export interface ControlTimings {
  timeoutMs: number;
  pollMs: number;
}

/**
 * Boots `firmwareName` on the processor at `dir` and returns once it reads `running`. The kernel's answer to
 * each write is authoritative; the state is then confirmed by reading it back (a fake tree shows the word
 * just written until its simulator reacts).
 *
 * @example
 * ```ts
 * await bootProcessor(dir, "hello.elf-1764400000000-ab12cd34", { timeoutMs: 10000, pollMs: 5 });
 * ```
 * @throws {RuntimeError} with the kernel's error or the state the processor reached instead.
 */
export async function bootProcessor(
  dir: string,
  firmwareName: string,
  timings: ControlTimings,
): Promise<void> {
  const before = await readAttribute(dir, "state");
  if (before !== "offline") {
    throw new RuntimeError("device", `cannot boot ${dir}: it is ${before}, not offline`);
  }
  await writeAttribute(dir, "firmware", firmwareName);
  const accepted = await readAttribute(dir, "firmware");
  if (accepted !== firmwareName) {
    throw new RuntimeError(
      "device",
      `the kernel did not accept firmware ${firmwareName} for ${dir} (it reads ${accepted}); the processor must be offline`,
    );
  }
  await writeAttribute(dir, "state", "start");
  let last = "start";
  try {
    await waitFor(async () => {
      last = await readAttribute(dir, "state");
      if (last === "running") return true;
      if (last === "start" || last === "") return false;
      throw new RuntimeError(
        "device",
        `firmware ${firmwareName} failed to boot: the processor went to ${last}; ` +
          "check that the firmware is valid for this processor and present in the firmware directory",
      );
    }, { timeoutMs: timings.timeoutMs, intervalMs: timings.pollMs, what: "running" });
  } catch (err) {
    if (err instanceof WaitTimeout) {
      throw new RuntimeError(
        "timeout",
        `firmware ${firmwareName} did not reach running within ${timings.timeoutMs} ms (state: ${last}); ` +
          "raise startTimeoutMs in the configuration if the processor boots slowly",
      );
    }
    throw err;
  }
}

/**
 * Stops the processor at `dir` and returns once it reads offline. A processor already idle or gone is left
 * alone. A crashed processor with recovery disabled cannot be stopped directly: it is recovered first.
 *
 * @example
 * ```ts
 * await stopProcessor(dir, { timeoutMs: 10000, pollMs: 5 });
 * ```
 * @throws {RuntimeError} with the kernel's error or the state the processor stayed in.
 */
export async function stopProcessor(dir: string, timings: ControlTimings): Promise<void> {
  let state = await readAttribute(dir, "state");
  if (processorCondition(state) === "crashed") {
    await writeAttribute(dir, "recovery", "recover");
    state = await settle(dir, timings, ["running", "offline"], "crashed");
  }
  const condition = processorCondition(state);
  if (condition === "idle" || condition === "gone") return;
  await writeAttribute(dir, "state", "stop");
  await settle(dir, timings, ["offline", "detached"], "stop");
}

async function settle(
  dir: string,
  timings: ControlTimings,
  goals: string[],
  transient: string,
): Promise<string> {
  let last = transient;
  try {
    return await waitFor(async () => {
      last = await readAttribute(dir, "state");
      return goals.includes(last) ? last : false;
    }, { timeoutMs: timings.timeoutMs, intervalMs: timings.pollMs, what: goals.join(" or ") });
  } catch (err) {
    if (err instanceof WaitTimeout) {
      throw new RuntimeError(
        "timeout",
        `remote processor ${dir} did not reach ${
          goals[0]
        } within ${timings.timeoutMs} ms (state: ${last}); ` +
          "stop it by hand with: echo stop > " + dir + "/state",
      );
    }
    throw err;
  }
}

/**
 * True when the processor at `dir` still holds `firmwareName` and is not idle: it runs (or crashed running)
 * firmware that belongs to a container.
 *
 * @example
 * ```ts
 * if (await runsFirmware(dir, stored)) await stopProcessor(dir, timings);
 * ```
 */
export async function runsFirmware(dir: string, firmwareName: string): Promise<boolean> {
  try {
    const [state, firmware] = await Promise.all([
      readAttribute(dir, "state"),
      readAttribute(dir, "firmware"),
    ]);
    const condition = processorCondition(state);
    return firmware === firmwareName &&
      (condition === "active" || condition === "crashed" || state === "start");
  } catch {
    return false;
  }
}
