import { fsError } from "../errors.ts";
import { join } from "./path.ts";
import { trimTrailingSlashes } from "./text.ts";

/**
 * Whether something (a file, a directory, a dangling symlink) exists at `path`, without following a final
 * symlink. Any error reads as "no": callers use it for a yes/no question, never to report an error.
 *
 * @example
 * ```ts
 * if (!pathExists(dir)) push({ type: "orphaned" });
 * ```
 */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the absolute `path` exists, found by listing the directories on its way, so that no error is thrown
 * when it does not: the first error a Deno process throws costs it about 1 ms, paid by every command that
 * probes for a file that is usually absent (the default configuration file). A directory that cannot be
 * listed answers yes, leaving the answer to the read that follows. `from`, a directory on the way known to
 * exist, is where the listing starts (each listing costs about 0.4 ms).
 *
 * @example
 * ```ts
 * if (pathListed("/etc/remoteproc-runtime/config.jsonc", "/etc")) readConfig();
 * ```
 */
export function pathListed(path: string, from = "/"): boolean {
  const start = trimTrailingSlashes(from);
  if (start !== "" && !path.startsWith(start + "/")) {
    throw new Error(`pathListed: ${path} is not under ${from}`);
  }
  let dir = start || "/";
  for (const name of path.slice(start.length).split("/").filter((part) => part !== "")) {
    try {
      if (!dirHas(dir, name)) return false;
    } catch {
      return true;
    }
    dir = join(dir, name);
  }
  return true;
}

/**
 * Whether the directory `dir` has an entry named `name`, found by listing it: a missing name costs no thrown
 * error (the first one of a Deno process costs it about 1 ms).
 *
 * @example
 * ```ts
 * if (dirHas("/proc", String(pid))) console.log("running");
 * ```
 * @throws what listing `dir` throws (Deno.errors.NotFound when it does not exist).
 */
export function dirHas(dir: string, name: string): boolean {
  for (const entry of Deno.readDirSync(dir)) if (entry.name === name) return true;
  return false;
}

/**
 * Removes `path` (a directory with everything in it when `recursive`) if it can, and says nothing either way:
 * for the clean-up of a temp file or directory, where the error that matters is another one.
 *
 * @example
 * ```ts
 * removeQuietly(tmp);
 * ```
 */
export function removeQuietly(path: string, options: { recursive?: boolean } = {}): void {
  try {
    Deno.removeSync(path, options);
  } catch {
    // already gone, never created, or the error being reported is the one that matters
  }
}

/**
 * Removes the file `path`; one already gone is not an error.
 *
 * @example
 * ```ts
 * removeIfPresent(claim, "remove");
 * ```
 * @throws {RuntimeError} from {@link fsError}, with `action`, for any other failure.
 */
export function removeIfPresent(path: string, action: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, action, path);
  }
}

/**
 * Writes all of `bytes` to `target` (a file, stdout or stderr), which may take several `writeSync` calls: one
 * call may write only part (a pipe that is nearly full, a signal).
 *
 * @example
 * ```ts
 * writeAllSync(Deno.stderr, new TextEncoder().encode("done\n"));
 * ```
 */
export function writeAllSync(target: { writeSync(bytes: Uint8Array): number }, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length;) written += target.writeSync(bytes.subarray(written));
}

const encoder = new TextEncoder();

/**
 * Writes `text` and a newline to `target` (stdout, stderr), all of it ({@link writeAllSync}).
 *
 * @example
 * ```ts
 * writeLineSync(Deno.stderr, "proxy: cannot read the record");
 * ```
 */
export function writeLineSync(target: { writeSync(bytes: Uint8Array): number }, text: string): void {
  writeAllSync(target, encoder.encode(text + "\n"));
}
