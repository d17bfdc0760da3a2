/** The kinds of failure the runtime reports. Each maps to exit code 1; the code helps tests and logs. */
export type ErrorCode =
  | "usage"
  | "not-found"
  | "exists"
  | "invalid-id"
  | "invalid-state"
  | "invalid-config"
  | "unsupported"
  | "permission"
  | "device"
  | "timeout"
  | "internal";

/**
 * The one error type of the runtime. Its message is a single line that says what is wrong and what would fix
 * it; the CLI prints it once and exits 1.
 *
 * @example
 * ```ts
 * throw new RuntimeError("not-found", "container abc does not exist");
 * ```
 */
export class RuntimeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.replace(/\s*\n\s*/g, " "), options);
    this.name = "RuntimeError";
    this.code = code;
  }
}

/**
 * Turns a file-system error on `path` into a one-line {@link RuntimeError} naming the path and what to do.
 *
 * @example
 * ```ts
 * try { await Deno.readTextFile(p); } catch (err) { throw fsError(err, "read", p); }
 * ```
 * @throws never; it returns the error to throw.
 */
export function fsError(err: unknown, action: string, path: string, hint = ""): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const tail = hint ? `; ${hint}` : "";
  if (err instanceof Deno.errors.PermissionDenied) {
    return new RuntimeError(
      "permission",
      `cannot ${action} ${path}: permission denied; run as root or grant this user ${
        action === "read" ? "read" : "write"
      } access to it${tail}`,
      { cause: err },
    );
  }
  if (err instanceof Deno.errors.NotFound) {
    return new RuntimeError("not-found", `cannot ${action} ${path}: it does not exist${tail}`, {
      cause: err,
    });
  }
  const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new RuntimeError("device", `cannot ${action} ${path}: ${detail}${tail}`, { cause: err });
}

/**
 * Runs `read` and returns its value, or undefined when it throws: for reads whose failure only means "not
 * known" (a state file being replaced, a processor that disappeared).
 *
 * @example
 * ```ts
 * const state = orUndefined(() => readAttribute(dir, "state"));
 * ```
 */
export function orUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
