/**
 * POSIX path helpers with the results of `node:path`'s posix functions, for the command paths: importing any
 * `node:` module makes Deno set up its Node compatibility layer, which costs every command 25-30 ms of CPU.
 * tests/unit_path_test.ts compares every function with `node:path` on a large generated set of inputs.
 * @module
 */

/**
 * Whether `path` is absolute (starts with `/`).
 *
 * @example
 * ```ts
 * isAbsolute("/run/x"); // true
 * isAbsolute("bundle"); // false
 * ```
 */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/**
 * Normalizes `path`: collapses repeated slashes, resolves `.` and `..` segments (`..` above the root of an
 * absolute path is dropped), keeps one trailing slash; the empty path is `.`.
 *
 * @example
 * ```ts
 * normalize("/a//b/../c/"); // "/a/c/"
 * normalize("a/../../b"); // "../b"
 * ```
 */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  const trailing = path.endsWith("/");
  let body = _normalizeSegments(path, !absolute);
  if (body === "") {
    if (absolute) return "/";
    return trailing ? "./" : ".";
  }
  if (trailing) body += "/";
  return absolute ? `/${body}` : body;
}

/**
 * Joins the non-empty `parts` with `/` and normalizes the result; `.` when nothing is left.
 *
 * @example
 * ```ts
 * join("/run/rt", "fw1", "state.json"); // "/run/rt/fw1/state.json"
 * join("a", "../b/"); // "b/"
 * ```
 */
export function join(...parts: string[]): string {
  const joined = parts.filter((part) => part !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/**
 * Resolves `paths` from right to left into an absolute, normalized path without a trailing slash, starting
 * from the current directory (`Deno.cwd()`, read only when no part is absolute).
 *
 * @example
 * ```ts
 * resolve("/srv", "bundle", "../fw"); // "/srv/fw"
 * resolve("bundle"); // Deno.cwd() + "/bundle"
 * ```
 */
export function resolve(...paths: string[]): string {
  let resolved = "";
  let absolute = false;
  for (let i = paths.length - 1; i >= -1 && !absolute; i--) {
    const path = i >= 0 ? paths[i] : Deno.cwd();
    if (path === "") continue;
    resolved = `${path}/${resolved}`;
    absolute = isAbsolute(path);
  }
  const body = _normalizeSegments(resolved, !absolute);
  if (absolute) return `/${body}`;
  return body === "" ? "." : body;
}

/**
 * The directory part of `path`: everything before its last segment, trailing slashes ignored (`.` for a bare
 * name, `/` for the root).
 *
 * @example
 * ```ts
 * dirname("/run/rt/fw1/state.json"); // "/run/rt/fw1"
 * dirname("name"); // "."
 * ```
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  const rooted = isAbsolute(path);
  let end = -1;
  let inTrailingSlashes = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] === "/") {
      if (!inTrailingSlashes) {
        end = i;
        break;
      }
    } else {
      inTrailingSlashes = false;
    }
  }
  if (end === -1) return rooted ? "/" : ".";
  if (rooted && end === 1) return "//";
  return path.slice(0, end);
}

/**
 * The last segment of `path`, trailing slashes ignored (empty for `/` and for the empty path).
 *
 * @example
 * ```ts
 * basename("/lib/firmware/blink.elf"); // "blink.elf"
 * basename("/a/b/"); // "b"
 * ```
 */
export function basename(path: string): string {
  let start = 0;
  let end = -1;
  for (let i = path.length - 1; i >= 0; i--) {
    if (path[i] === "/") {
      if (end !== -1) {
        start = i + 1;
        break;
      }
    } else if (end === -1) {
      end = i + 1;
    }
  }
  return end === -1 ? "" : path.slice(start, end);
}

/** Resolves `.`, `..` and empty segments; `..` that climbs above the start is kept only if `aboveRoot`. */
function _normalizeSegments(path: string, aboveRoot: boolean): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (aboveRoot) out.push("..");
      continue;
    }
    out.push(segment);
  }
  return out.join("/");
}
