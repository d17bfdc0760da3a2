import { RuntimeError } from "../errors.ts";
import type { FlagSpec } from "./command.ts";

/** The `--format`/`-f` flag of list, ps and processors. */
export const FORMAT_FLAG: FlagSpec = {
  type: "string",
  short: "f",
  arg: "table|json",
  help: "output format (default table)",
};

/**
 * Checks the value of a `--format` flag: `table` (the default) or `json`.
 *
 * @example
 * ```ts
 * outputFormat(undefined, "list"); // "table"
 * ```
 * @throws {RuntimeError} "usage" for any other value.
 */
export function outputFormat(value: unknown, command: string): "table" | "json" {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw new RuntimeError(
    "usage",
    `${command}: invalid format ${JSON.stringify(value)}; use --format table or --format json`,
  );
}
