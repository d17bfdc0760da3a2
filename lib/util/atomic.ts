import { basename, dirname, join } from "./path.ts";

/**
 * Writes `data` to `path` atomically: a temp file in the same directory, flushed, then renamed over `path`.
 * Readers see either the old file or the whole new one, never a partial write. Synchronous: these are small
 * files, and Deno's first async write costs a command ~7 ms (it loads the web streams code on demand).
 *
 * @example
 * ```ts
 * writeFileAtomic("/run/x/state.json", new TextEncoder().encode("{}"));
 * ```
 * @throws {Deno.errors.NotFound} when the directory does not exist, and whatever the file system reports.
 */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: { mode?: number } = {},
): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${crypto.randomUUID().slice(0, 8)}`);
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode: options.mode ?? 0o644 });
  try {
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncDataSync();
  } catch (err) {
    file.close();
    removeQuietly(tmp);
    throw err;
  }
  file.close();
  try {
    Deno.renameSync(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone, or the error that matters is being thrown
  }
}
