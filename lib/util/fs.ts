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
