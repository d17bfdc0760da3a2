import { orUndefined } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { createContainer, type CreateOptions } from "./create.ts";
import { deleteContainer } from "./delete.ts";
import { startContainer } from "./start.ts";
import type { ContainerRecord } from "../store/record.ts";

/**
 * Creates and starts a container in one step, returning once its firmware runs. When the start fails the
 * container is deleted again, so a failed run leaves nothing behind (as runc run does).
 *
 * @example
 * ```ts
 * await runContainer(ctx, { id: "fw1", bundle: "/bundles/fw1" });
 * ```
 * @throws {RuntimeError} from create, or from start (after the cleanup).
 */
export async function runContainer(ctx: RuntimeContext, options: CreateOptions): Promise<ContainerRecord> {
  const record = await createContainer(ctx, options);
  try {
    startContainer(ctx, options.id);
  } catch (err) {
    orUndefined(() => deleteContainer(ctx, options.id, { force: true }));
    throw err;
  }
  return record;
}
