import { removeQuietly, writeAllSync } from "./fs.ts";
import { basename, dirname, join } from "./path.ts";

/**
 * Writes `data` to `path` atomically: a temp file in the same directory, then renamed over `path`. Readers
 * see either the old file or the whole new one, never a partial write, whatever process dies when. With
 * `durable` (the default) the data is flushed to the disk before the rename, so it also survives a power
 * loss; the state directory does without (it lives on a tmpfs that a power loss empties anyway, and runc
 * does not flush its state either). Synchronous: these are small files, and Deno's first async write costs
 * a command ~7 ms (it loads the web streams code on demand).
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
  options: { mode?: number; durable?: boolean } = {},
): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${tempSuffix()}`);
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode: options.mode ?? 0o644 });
  try {
    writeAllSync(file, bytes);
    if (options.durable !== false) file.syncDataSync();
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

/**
 * A suffix for a temp name no other live process can pick: this process's pid (unique among live processes)
 * and a random part against leftovers of a crashed process that had the same pid. Math.random, not crypto:
 * the first crypto call costs a command ~0.8 ms, and nothing here needs to be unguessable.
 *
 * @example
 * ```ts
 * const tmp = `${path}.tmp-${tempSuffix()}`;
 * ```
 */
export function tempSuffix(): string {
  return `${Deno.pid}-${Math.random().toString(36).slice(2, 10)}`;
}
