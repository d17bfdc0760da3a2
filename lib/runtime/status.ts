import { isTransientWord, processorCondition } from "../remoteproc/kernel_state.ts";

/** The OCI statuses this runtime reports (never "paused"). */
export type OciStatus = "creating" | "created" | "running" | "stopped";

/** The facts a container's status is derived from, all read fresh from reality. */
export interface StatusFacts {
  /** The create that made the container is still running. */
  creatorAlive: boolean;
  /** create recorded a proxy. */
  proxyRecorded: boolean;
  /** That proxy runs (same pid and start time, not a zombie). */
  proxyAlive: boolean;
  /** The proxy reported its exit code: its work is over even while its process is still ending. */
  exitReported?: boolean;
  /** start was requested. */
  startRequested: boolean;
  /** The start command died before the proxy reported a boot: the start never went through. */
  startAbandoned?: boolean;
  /** The proxy reported the firmware running. */
  booted?: boolean;
  /** The processor's state attribute; undefined for a pod sandbox or when unreadable. */
  processorState: string | undefined;
}

/**
 * Derives the OCI status, never trusting a stored one: no proxy recorded means creating while the creator
 * runs and stopped after it died; a dead proxy means stopped; a live proxy is created until start was
 * requested (or a start died before the proxy reported a boot), then running unless the processor has
 * crashed, left the runtime's control, or gone idle after the proxy reported its boot.
 *
 * @example
 * ```ts
 * deriveStatus({ creatorAlive: false, proxyRecorded: true, proxyAlive: true, startRequested: false,
 *   processorState: "offline" }); // "created"
 * ```
 */
export function deriveStatus(facts: StatusFacts): OciStatus {
  if (!facts.proxyRecorded) return facts.creatorAlive ? "creating" : "stopped";
  if (!facts.proxyAlive || facts.exitReported) return "stopped";
  if (!facts.startRequested || facts.startAbandoned) return "created";
  if (facts.processorState !== undefined) {
    const condition = processorCondition(facts.processorState);
    if (condition === "crashed" || condition === "gone") return "stopped";
    // Idle after a boot: stopped (by `kill`, which stops it itself, or by itself), while the proxy that
    // will report it is still to look.
    if (condition === "idle" && facts.booted) return "stopped";
    // An unknown future state is "not running"; "start"/"stop" are a fake tree's words still being processed.
    if (condition === "unknown" && !isTransientWord(facts.processorState)) return "stopped";
  }
  return "running";
}
