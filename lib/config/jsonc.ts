/**
 * The JSONC parser (npm:jsonc-parser), behind the one function the runtime needs of it. Loaded only when a
 * file is parsed (see {@link loadJsonc} in settings.ts): named in a literal `import("...")`, the npm package
 * would be resolved for every command that loads the settings.
 * @module
 */
import { parse, type ParseError, printParseErrorCode } from "jsonc-parser";

/** The first problem in a document: where it is and what it is. */
export interface JsoncProblem {
  offset: number;
  /** "line L, column C" (both from 1). */
  where: string;
  reason: string;
}

/**
 * Parses `text` as JSONC (comments and trailing commas allowed) or, with `strict`, as plain JSON, and
 * returns the value and the first problem found, if any.
 *
 * @example
 * ```ts
 * parseJsonc('{ "a": 1, } // note', false); // { value: { a: 1 } }
 * parseJsonc("{ ", true).problem?.where; // "line 1, column 3"
 * ```
 */
export function parseJsonc(text: string, strict: boolean): { value: unknown; problem?: JsoncProblem } {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: !strict, disallowComments: strict });
  if (errors.length === 0) return { value };
  const { offset, error } = errors[0];
  return { value, problem: { offset, where: lineColumn(text, offset), reason: printParseErrorCode(error) } };
}

/**
 * "line L, column C" of the character at `offset` in `text`.
 *
 * @example
 * ```ts
 * lineColumn("{\n  x", 4); // "line 2, column 3"
 * ```
 */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `line ${before.split("\n").length}, column ${offset - before.lastIndexOf("\n")}`;
}
