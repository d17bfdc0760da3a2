import { loadContainer } from "./container.ts";
import type { RuntimeContext } from "./context.ts";
import type { OciStatus } from "./status.ts";
import { isoTimestamp } from "../util/time.ts";

/** The OCI runtime spec version this runtime implements. */
export const OCI_VERSION = "1.2.0";

/** The OCI state document, with runc's extra fields. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
}

/**
 * The OCI state of container `id`, derived from reality now. The pid is the proxy's while it runs, 0 once
 * stopped (as runc prints).
 *
 * @example
 * ```ts
 * const { status } = containerState(ctx, "fw1");
 * ```
 * @throws {RuntimeError} "not-found" ("container ID does not exist") or "invalid-id".
 */
export function containerState(ctx: RuntimeContext, id: string): OciState {
  const c = loadContainer(ctx, id);
  const live = c.status === "created" || c.status === "running" || c.status === "creating";
  return {
    ociVersion: OCI_VERSION,
    id,
    status: c.status,
    pid: live && c.proxy ? c.proxy.pid : 0,
    bundle: c.record?.bundle ?? "",
    rootfs: c.record?.rootfs ?? "",
    created: c.record?.created ?? isoTimestamp(0),
    owner: "",
    annotations: c.record?.annotations ?? {},
  };
}
