import { basename, dirname, join } from "./path.ts";

/**
 * Writes `data` to `path` atomically: a temp file in the same directory, flushed, then renamed over `path`.
 * Readers see either the old file or the whole new one, never a partial write.
 *
 * @example
 * ```ts
 * await writeFileAtomic("/run/x/state.json", new TextEncoder().encode("{}"));
 * ```
 * @throws {Deno.errors.NotFound} when the directory does not exist, and whatever the file system reports.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: { mode?: number } = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${crypto.randomUUID().slice(0, 8)}`);
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: options.mode ?? 0o644 });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
