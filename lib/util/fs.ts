import { join } from "./path.ts";

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
 * listed answers yes, leaving the answer to the read that follows.
 *
 * @example
 * ```ts
 * if (pathListed("/etc/remoteproc-runtime/config.jsonc")) readConfig();
 * ```
 */
export function pathListed(path: string): boolean {
  let dir = "/";
  for (const name of path.split("/").filter((part) => part !== "")) {
    let found = false;
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.name === name) {
          found = true;
          break;
        }
      }
    } catch {
      return true;
    }
    if (!found) return false;
    dir = join(dir, name);
  }
  return true;
}
