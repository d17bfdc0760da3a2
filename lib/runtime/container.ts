import { RuntimeError } from "../errors.ts";
import { isAlive, type ProcessIdentity } from "../process/proc.ts";
import { readAttribute } from "../remoteproc/sysfs.ts";
import {
  containerDir,
  readBootReport,
  readProxyReady,
  readRecord,
  readStartRequest,
} from "../store/container_store.ts";
import type { ContainerRecord } from "../store/record.ts";
import type { RuntimeContext } from "./context.ts";
import { deriveStatus, type OciStatus } from "./status.ts";

/** A container as found now: its record, the proxy to act on, and its derived status. */
export interface Container {
  id: string;
  dir: string;
  /** Undefined when create died before writing it. */
  record: ContainerRecord | undefined;
  /** The proxy to signal: the recorded one, or the one that reported ready to a create that died. */
  proxy: ProcessIdentity | null;
  proxyAlive: boolean;
  status: OciStatus;
}

/**
 * Loads container `id` and derives its status from reality.
 *
 * @example
 * ```ts
 * const c = await loadContainer(ctx, "fw1");
 * ```
 * @throws {RuntimeError} "invalid-id", or "not-found" with "container ID does not exist".
 */
export async function loadContainer(ctx: RuntimeContext, id: string): Promise<Container> {
  const dir = containerDir(ctx.root, id);
  try {
    await Deno.lstat(dir);
  } catch {
    throw notFound(id);
  }
  const record = await readRecord(dir);
  const proxy = record?.proxy ?? (await readProxyReady(dir)) ?? null;
  const [proxyAlive, creatorAlive, started, booted, processorState] = await Promise.all([
    isAlive(proxy),
    isAlive(record?.creator),
    readStartRequest(dir).catch(() => undefined),
    readBootReport(dir).catch(() => undefined),
    record?.processor ? readAttribute(record.processor.dir, "state").catch(() => undefined) : undefined,
  ]);
  const status = deriveStatus({
    creatorAlive: record === undefined ? false : creatorAlive,
    proxyRecorded: Boolean(record?.proxy),
    proxyAlive,
    startRequested: started !== undefined,
    startAbandoned: started !== undefined && booted === undefined && !(await isAlive(started.by)),
    processorState,
  });
  return { id, dir, record, proxy, proxyAlive, status };
}

/**
 * The error for an unknown container; its words ("does not exist") are what engines match.
 *
 * @example
 * ```ts
 * throw notFound("fw1");
 * ```
 */
export function notFound(id: string): RuntimeError {
  return new RuntimeError("not-found", `container ${id} does not exist`);
}
