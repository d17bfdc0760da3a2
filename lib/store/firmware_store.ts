import { basename, join } from "node:path";
import { fsError, RuntimeError } from "../errors.ts";
import type { ResolvedFile } from "../oci/rootfs.ts";

/** Pattern of the names the runtime gives stored firmware copies: `<original>-<ms timestamp>-<8 hex>`. */
export const STORED_NAME_PATTERN = /^(.+)-(\d{13,})-([0-9a-f]{8})$/;

/**
 * The unique name of a stored copy of firmware `source`.
 *
 * @example
 * ```ts
 * storedFirmwareName("/rootfs/hello.elf", 1764400000000, "ab12cd34"); // "hello.elf-1764400000000-ab12cd34"
 * ```
 */
export function storedFirmwareName(source: string, now = Date.now(), suffix = randomSuffix()): string {
  return `${basename(source)}-${now}-${suffix}`;
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Copies the firmware into the firmware directory under `name`, atomically (temp file, then rename), after
 * checking that the file opened is the one resolved inside the rootfs.
 *
 * @example
 * ```ts
 * await storeFirmware(resolved, "/lib/firmware", "hello.elf-1764400000000-ab12cd34");
 * ```
 * @throws {RuntimeError} naming the directory or file and the permission needed.
 */
export async function storeFirmware(source: ResolvedFile, directory: string, name: string): Promise<string> {
  const target = join(directory, name);
  const tmp = join(directory, `.${name}.tmp`);
  let input: Deno.FsFile;
  try {
    input = await Deno.open(source.hostPath, { read: true });
  } catch (err) {
    throw fsError(err, "read firmware", source.hostPath);
  }
  try {
    const info = await input.stat();
    if (!info.isFile || (source.ino !== null && (info.ino !== source.ino || info.dev !== source.dev))) {
      throw new RuntimeError(
        "invalid-config",
        `firmware ${source.innerPath} changed while it was being read`,
      );
    }
    let output: Deno.FsFile;
    try {
      output = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    } catch (err) {
      throw fsError(
        err,
        "write firmware into",
        directory,
        "the firmware directory must exist and be writable (set the kernel's firmware path or use --host-root)",
      );
    }
    try {
      await input.readable.pipeTo(output.writable, { preventClose: true });
      await output.syncData();
    } finally {
      output.close();
    }
    await Deno.rename(tmp, target);
    return target;
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw fsError(err, "write firmware", target);
  } finally {
    try {
      input.close();
    } catch {
      // pipeTo closed it
    }
  }
}

/**
 * Removes a stored firmware copy; a copy already gone is fine.
 *
 * @example
 * ```ts
 * await removeStoredFirmware("/lib/firmware/hello.elf-1764400000000-ab12cd34");
 * ```
 * @throws {RuntimeError} naming the file when it cannot be removed.
 */
export async function removeStoredFirmware(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, "remove firmware", path);
  }
}
