import { basename, dirname, join } from "../util/path.ts";
import { RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import { containerDir, readRecord } from "../store/container_store.ts";
import { forgetFirmwareOwner, readFirmwareOwners, removeStoredFirmware } from "../store/firmware_store.ts";
import type { RuntimeContext } from "./context.ts";

/** What {@link cleanupOrphans} removed. */
export interface CleanupReport {
  /** Absolute paths of the stored firmware copies removed. */
  removed: string[];
  /** Copies still referenced by a container, left alone. */
  kept: number;
}

/**
 * Removes stored firmware copies that this runtime made (the firmware ledger under the state root names them,
 * written before each copy) and that no container under the state root references any more: copies left by
 * a state directory removed by hand, or by a container directory lost in a crash. A copy whose container
 * still exists, or whose container directory exists without a readable record (a create in progress), is
 * kept. Files the ledger does not name are never touched.
 *
 * @example
 * ```ts
 * const { removed } = await cleanupOrphans(ctx);
 * ```
 * @throws {RuntimeError} naming a copy or ledger entry that cannot be removed.
 */
export async function cleanupOrphans(ctx: RuntimeContext): Promise<CleanupReport> {
  // The ledger is read before the records: create writes a container's record before its ledger entry, so
  // every entry read here already has its record in place unless the container is gone.
  const owners = await readFirmwareOwners(ctx.root);
  const report: CleanupReport = { removed: [], kept: 0 };
  for (const [name, owner] of owners) {
    if (await stillReferenced(ctx, owner.id, owner.path)) {
      report.kept++;
      continue;
    }
    await removeStoredFirmware(owner.path);
    // A copy interrupted half-way leaves its temp file (see storeFirmware).
    await removeStoredFirmware(join(dirname(owner.path), `.${basename(owner.path)}.tmp`));
    await forgetFirmwareOwner(ctx.root, name);
    report.removed.push(owner.path);
  }
  return report;
}

async function stillReferenced(ctx: RuntimeContext, id: string, path: string): Promise<boolean> {
  let dir: string;
  try {
    validateContainerId(id);
    dir = containerDir(ctx.root, id);
  } catch {
    return false;
  }
  try {
    await Deno.lstat(dir);
  } catch {
    return false;
  }
  try {
    const record = await readRecord(dir);
    // No record yet: a create in progress, or one that crashed before writing it (then it named no copy,
    // but keeping the copy until that container is deleted is the safe side).
    if (record === undefined) return true;
    return record.firmware?.path === path;
  } catch (err) {
    // A corrupt record: the container is still there to be deleted with --force, which removes its copy.
    if (err instanceof RuntimeError) return true;
    throw err;
  }
}
