import { orUndefined } from "../errors.ts";
import { listProcessors, readAttribute } from "../remoteproc/sysfs.ts";
import { liveClaimHolder } from "../store/claims.ts";
import type { RuntimeContext } from "./context.ts";

/** One remote processor as the `processors` command shows it. */
export interface ProcessorStatus {
  /** The N of remoteprocN. */
  index: number;
  /** The `name` attribute: the value of the remoteproc.name annotation. */
  name: string;
  /** The `state` attribute, or null when it cannot be read. */
  state: string | null;
  /** The `firmware` attribute, or null when it cannot be read. */
  firmware: string | null;
  /** The sysfs directory (under the host root). */
  path: string;
  /** The container holding the processor, or null. */
  holder: string | null;
}

/**
 * The remote processors under the host root, ordered by index, each with its state, firmware and the
 * container that holds it (a claim whose container is gone counts as free). No processors is an empty list.
 *
 * @example
 * ```ts
 * for (const p of processorStatuses(ctx)) console.log(p.name, p.state, p.holder);
 * ```
 * @throws {RuntimeError} when the sysfs class directory exists but cannot be read.
 */
export function processorStatuses(ctx: RuntimeContext): ProcessorStatus[] {
  return listProcessors(ctx.hostRoot).map((p) => ({
    index: p.index,
    name: p.name,
    state: orUndefined(() => readAttribute(p.dir, "state")) ?? null,
    firmware: orUndefined(() => readAttribute(p.dir, "firmware")) ?? null,
    path: p.dir,
    holder: liveClaimHolder(ctx.root, p.name) ?? null,
  }));
}
