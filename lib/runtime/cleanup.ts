import { basename, dirname, join } from "../util/path.ts";
import { RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import { containerDir, readRecord } from "../store/container_store.ts";
import { firmwareDirectory } from "../remoteproc/sysfs.ts";
import {
  type FirmwareOwner,
  forgetFirmwareOwner,
  readFirmwareOwners,
  removeStoredFirmware,
} from "../store/firmware_store.ts";
import type { RuntimeContext } from "./context.ts";
import { pathExists } from "../util/fs.ts";

/** What {@link cleanupOrphans} removed. */
export interface CleanupReport {
  /** Absolute paths of the stored firmware copies removed. */
  removed: string[];
  /** Copies still referenced by a container, left alone. */
  kept: number;
}

/**
 * Removes stored firmware copies that this runtime made (the firmware ledger in the firmware directory names
 * them, written before each copy) and that their container no longer references: copies left by a create or
 * delete killed midway, or by a state root lost in a reboot. Each entry names its container's state root, so
 * copies of containers under other state roots are judged by theirs. A copy whose container still exists, or
 * whose container directory exists without a readable record, is kept. Files the ledger does not name are
 * never touched.
 *
 * @example
 * ```ts
 * const { removed } = cleanupOrphans(ctx);
 * ```
 * @throws {RuntimeError} naming a copy or ledger entry that cannot be removed.
 */
export function cleanupOrphans(ctx: RuntimeContext): CleanupReport {
  const firmwareDir = firmwareDirectory(ctx.hostRoot);
  // The ledger is read before the records: create writes a container's record before its ledger entry, so
  // every entry read here already has its record in place unless the container is gone.
  const owners = readFirmwareOwners(firmwareDir);
  const report: CleanupReport = { removed: [], kept: 0 };
  for (const [name, owner] of owners) {
    if (stillReferenced(owner)) {
      report.kept++;
      continue;
    }
    removeStoredFirmware(owner.path);
    // A copy interrupted half-way leaves its temp file (see storeFirmware).
    removeStoredFirmware(join(dirname(owner.path), `.${basename(owner.path)}.tmp`));
    forgetFirmwareOwner(firmwareDir, name);
    report.removed.push(owner.path);
  }
  return report;
}

function stillReferenced(owner: FirmwareOwner): boolean {
  let dir: string;
  try {
    validateContainerId(owner.id);
    dir = containerDir(owner.root, owner.id);
  } catch {
    return false;
  }
  if (!pathExists(dir)) return false;
  try {
    const record = readRecord(dir);
    // No record: an old-style or damaged directory; keeping the copy until that container is deleted is the
    // safe side.
    if (record === undefined) return true;
    return record.firmware?.path === owner.path;
  } catch (err) {
    // A corrupt record: the container is still there to be deleted with --force, which removes its copy.
    if (err instanceof RuntimeError) return true;
    throw err;
  }
}
