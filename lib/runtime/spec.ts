import { join, resolve } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { PROCESSOR_ANNOTATION } from "../oci/spec.ts";
import { tempSuffix } from "../util/atomic.ts";

/** The processor name the template carries, to be replaced by a real one. */
export const TEMPLATE_PROCESSOR = "CHANGE-ME";

/**
 * The template config.json of a firmware bundle: `rootfs/firmware.elf` on the processor named by
 * `remoteproc.name`.
 *
 * @example
 * ```ts
 * templateSpec().annotations["remoteproc.name"]; // "CHANGE-ME"
 * ```
 */
export function templateSpec(): {
  ociVersion: string;
  process: { terminal: boolean; user: { uid: number; gid: number }; args: string[]; cwd: string };
  root: { path: string; readonly: boolean };
  annotations: Record<string, string>;
} {
  return {
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["firmware.elf"], cwd: "/" },
    root: { path: "rootfs", readonly: true },
    annotations: { [PROCESSOR_ANNOTATION]: TEMPLATE_PROCESSOR },
  };
}

/**
 * Writes the template config.json into `bundle` and returns its path. It never overwrites: the file is
 * written complete under a temp name and then hard-linked into place, which fails if config.json exists.
 *
 * @example
 * ```ts
 * await writeSpecTemplate("/var/lib/bundles/blink");
 * ```
 * @throws {RuntimeError} "exists" ("File config.json exists. Remove it first"), or naming a bundle directory
 * that is missing or not writable.
 */
export async function writeSpecTemplate(bundle: string): Promise<string> {
  const dir = resolve(bundle);
  const path = join(dir, "config.json");
  const tmp = join(dir, `.config.json.tmp-${tempSuffix()}`);
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(templateSpec(), null, 2) + "\n", {
      createNew: true,
      mode: 0o644,
    });
  } catch (err) {
    throw fsError(err, "write into bundle", dir, "create the bundle directory first");
  }
  try {
    await Deno.link(tmp, path);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new RuntimeError("exists", `File config.json exists. Remove it first: ${path}`);
    }
    throw fsError(err, "write", path);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return path;
}
