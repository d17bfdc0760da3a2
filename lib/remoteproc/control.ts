import { RuntimeError } from "../errors.ts";
import { waitForSync, WaitTimeout } from "../util/wait.ts";
import { processorCondition } from "./kernel_state.ts";
import { checkWritable, readAttribute, writeAttribute } from "./sysfs.ts";

/** How long to wait for the kernel, and how often to look. */
export interface ControlTimings {
  timeoutMs: number;
  pollMs: number;
}

/**
 * Boots `firmwareName` on the processor at `dir` and returns once it reads `running`. The kernel's answer to
 * each write is authoritative; the state is then confirmed by reading it back (a fake tree shows the word
 * just written until its simulator reacts). Blocking, like every sysfs access here: a real kernel boots the
 * processor inside the write of "start", and the caller has nothing else to do meanwhile (the proxy's
 * signals wait in their queue and are handled once the boot has an outcome).
 *
 * @example
 * ```ts
 * bootProcessor(dir, "hello.elf-1764400000000-ab12cd34", { timeoutMs: 10000, pollMs: 5 });
 * ```
 * @throws {RuntimeError} with the kernel's error or the state the processor reached instead.
 */
export function bootProcessor(dir: string, firmwareName: string, timings: ControlTimings): void {
  const before = readAttribute(dir, "state");
  if (before !== "offline") {
    throw new RuntimeError("device", `cannot boot ${dir}: it is ${before}, not offline`);
  }
  writeAttribute(dir, "firmware", firmwareName);
  const accepted = readAttribute(dir, "firmware");
  if (accepted !== firmwareName) {
    throw new RuntimeError(
      "device",
      `the kernel did not accept firmware ${firmwareName} for ${dir} (it reads ${accepted}); the processor must be offline`,
    );
  }
  writeAttribute(dir, "state", "start");
  let last = "start";
  try {
    waitForSync(() => {
      last = readAttribute(dir, "state");
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
 * What would make a boot of the processor at `dir` fail if it started now, or undefined: nothing (it is
 * offline and its firmware and state can be written). Reads only; the boot checks all of it again.
 *
 * @example
 * ```ts
 * bootObstacle(dir); // undefined, or e.g. "it is running, not offline"
 * ```
 */
export function bootObstacle(dir: string): string | undefined {
  try {
    const state = readAttribute(dir, "state");
    if (state !== "offline") return `it is ${state}, not offline`;
    checkWritable(dir, "firmware");
    checkWritable(dir, "state");
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Stops the processor at `dir` and returns once it reads offline. A processor already idle or gone is left
 * alone. A crashed processor with recovery disabled cannot be stopped directly: it is recovered first.
 *
 * @example
 * ```ts
 * stopProcessor(dir, { timeoutMs: 10000, pollMs: 5 });
 * ```
 * @throws {RuntimeError} with the kernel's error or the state the processor stayed in.
 */
export function stopProcessor(dir: string, timings: ControlTimings): void {
  let state = readAttribute(dir, "state");
  if (processorCondition(state) === "crashed") {
    writeAttribute(dir, "recovery", "recover");
    state = settle(dir, timings, ["running", "offline"], "crashed");
  }
  const condition = processorCondition(state);
  if (condition === "idle" || condition === "gone") return;
  writeAttribute(dir, "state", "stop");
  settle(dir, timings, ["offline", "detached"], "stop");
}

function settle(dir: string, timings: ControlTimings, goals: string[], transient: string): string {
  let last = transient;
  try {
    return waitForSync(() => {
      last = readAttribute(dir, "state");
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
 * if (runsFirmware(dir, stored)) stopProcessor(dir, timings);
 * ```
 */
export function runsFirmware(dir: string, firmwareName: string): boolean {
  try {
    const state = readAttribute(dir, "state");
    const firmware = readAttribute(dir, "firmware");
    const condition = processorCondition(state);
    return firmware === firmwareName &&
      (condition === "active" || condition === "crashed" || state === "start");
  } catch {
    return false;
  }
}
