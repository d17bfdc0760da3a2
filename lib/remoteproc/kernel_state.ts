/** Every state string the kernel's remoteproc framework reports. */
export const KERNEL_STATES = [
  "offline",
  "suspended",
  "running",
  "crashed",
  "deleted",
  "attached",
  "detached",
  "invalid",
] as const;

/** A state string the kernel reports. */
export type KernelState = typeof KERNEL_STATES[number];

/** What a state means for a container on the processor. */
export type ProcessorCondition = "idle" | "active" | "crashed" | "gone" | "unknown";

/**
 * Classifies a raw `state` attribute value. Unknown future strings are "unknown", which the runtime treats
 * as not running.
 *
 * | kernel state | condition |
 * |---|---|
 * | offline, detached | idle (no firmware of ours runs) |
 * | running, attached, suspended | active |
 * | crashed | crashed |
 * | deleted, invalid | gone |
 *
 * @example
 * ```ts
 * processorCondition("running"); // "active"
 * ```
 */
export function processorCondition(state: string): ProcessorCondition {
  switch (state) {
    case "offline":
    case "detached":
      return "idle";
    case "running":
    case "attached":
    case "suspended":
      return "active";
    case "crashed":
      return "crashed";
    case "deleted":
    case "invalid":
      return "gone";
    default:
      return "unknown";
  }
}

/**
 * True when `state` is one of the eight strings the kernel defines.
 *
 * @example
 * ```ts
 * isKernelState("attached"); // true
 * ```
 */
export function isKernelState(state: string): state is KernelState {
  return (KERNEL_STATES as readonly string[]).includes(state);
}

/** What a fake tree's state file reads between a write and its simulator's answer. */
const TRANSIENT_WORDS = ["start", "stop", ""];

/**
 * True when `state` is a word just written to a fake tree's state file and not yet answered ("start",
 * "stop", or empty while the file is rewritten). A kernel answers inside the write, so it never shows one.
 *
 * @example
 * ```ts
 * isTransientWord("stop"); // true
 * isTransientWord("offline"); // false
 * ```
 */
export function isTransientWord(state: string): boolean {
  return TRANSIENT_WORDS.includes(state);
}
