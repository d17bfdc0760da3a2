import { RuntimeError } from "../errors.ts";

const MAX_ID_LENGTH = 1024;

/**
 * Checks a container id with runc's rules (`[A-Za-z0-9_+.-]`, not `.` or `..`) before it touches any path.
 *
 * @example
 * ```ts
 * validateContainerId("fw-1"); // ok
 * ```
 * @throws {RuntimeError} "invalid-id" naming the problem.
 */
export function validateContainerId(id: string): void {
  if (id === "") {
    throw new RuntimeError("invalid-id", "invalid container id: it is empty; give a non-empty id");
  }
  if (id === "." || id === ".." || !onlyIdCharacters(id)) {
    const shown = JSON.stringify(id.length > 80 ? id.slice(0, 80) + "..." : id);
    throw new RuntimeError(
      "invalid-id",
      `invalid container id ${shown}: use only letters, digits and _ + . - (not "." or "..")`,
    );
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new RuntimeError(
      "invalid-id",
      `invalid container id: it is ${id.length} characters long; use at most ${MAX_ID_LENGTH}`,
    );
  }
}

/** Whether every character of `id` is one runc allows: `[A-Za-z0-9_+.-]` (a loop: see lib/util/text.ts). */
function onlyIdCharacters(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const letterOrDigit = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!letterOrDigit && c !== 95 && c !== 43 && c !== 46 && c !== 45) return false;
  }
  return true;
}
