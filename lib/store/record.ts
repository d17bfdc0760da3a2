import type { ProcessIdentity } from "../process/proc.ts";

/** Timeouts and poll intervals, in milliseconds. */
export interface Timings {
  /** How long a boot may take before `start` fails. */
  startTimeoutMs: number;
  /** How long a stop may take before `kill`/`delete` fail. */
  stopTimeoutMs: number;
  /** How long `create` waits for the proxy to be ready. */
  readyTimeoutMs: number;
  /** How often the proxy reads the processor state while it runs. */
  pollIntervalMs: number;
  /** How long a crashed processor may take to come back when kernel recovery is enabled. */
  recoveryGraceMs: number;
}

/** Everything the runtime records about one container, in `<root>/<id>/state.json`. */
export interface ContainerRecord {
  /** OCI version of the bundle's config.json. */
  ociVersion: string;
  id: string;
  /** Absolute bundle path. */
  bundle: string;
  /** Absolute rootfs path. */
  rootfs: string;
  /** RFC 3339 creation time. */
  created: string;
  annotations: Record<string, string>;
  /** The `create` process while it runs: a record without a proxy and a dead creator is a failed create. */
  creator: ProcessIdentity;
  /** The processor, or null for a pod sandbox container. */
  processor: { name: string; dir: string } | null;
  /** The stored firmware copy, or null for a pod sandbox container. */
  firmware: { path: string; name: string; source: string } | null;
  /** The proxy, once it is ready. */
  proxy: ProcessIdentity | null;
  /**
   * The proxy process create started (before it was ready), so a create that dies half-way leaves no proxy
   * that `delete --force` cannot find.
   */
  proxyStarted?: ProcessIdentity | null;
  /** Timings the proxy uses. */
  timings: Timings;
}

/** What the proxy reports after a boot attempt, in `<root>/<id>/boot.json`. */
export interface BootReport {
  ok: boolean;
  message: string;
}
