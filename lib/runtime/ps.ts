import { loadContainer } from "./container.ts";
import type { RuntimeContext } from "./context.ts";

/**
 * The pids of container `id`'s processes: its proxy while that is alive (a remote processor runs no Linux
 * process of its own), none once the container is stopped.
 *
 * @example
 * ```ts
 * containerPids(ctx, "fw1"); // [4242]
 * ```
 * @throws {RuntimeError} "not-found" ("container ID does not exist") or "invalid-id".
 */
export function containerPids(ctx: RuntimeContext, id: string): number[] {
  const c = loadContainer(ctx, id);
  return c.proxyAlive && c.proxy ? [c.proxy.pid] : [];
}
