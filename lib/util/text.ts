/**
 * Small string checks for the command paths, written without regular expressions: the first regular
 * expression a Deno process runs costs it about 0.2 ms and each further one about 0.06 ms (measured in fresh
 * processes), which every command paid for a few one-line checks.
 * @module
 */

/**
 * Whether `text` is one or more ASCII digits (what `/^\d+$/` tests).
 *
 * @example
 * ```ts
 * isDigits("15"); // true
 * isDigits("-1"); // false
 * ```
 */
export function isDigits(text: string): boolean {
  if (text === "") return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/**
 * `text` without the slashes it ends with (what `text.replace(/\/+$/, "")` gives): "/" becomes "".
 *
 * @example
 * ```ts
 * trimTrailingSlashes("/run/user/1000//"); // "/run/user/1000"
 * ```
 */
export function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === "/") end--;
  return text.slice(0, end);
}
