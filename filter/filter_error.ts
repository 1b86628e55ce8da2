/**
 * The error a filter expression or a filter program is refused with.
 *
 * @module
 */

/**
 * Thrown for a filter expression that cannot be compiled ("Cannot compile filter: expected a port
 * number after "port" at column 12") and for a program that fails verification ("Invalid filter
 * program: ..."). `reason` is the message without its prefix and position; `column` (1-based,
 * counted in the expression as given) and `line` say where, when the error is about a token.
 *
 * @example Tell a bad expression from other failures
 * ```ts
 * import { FilterError } from "./filter_error.ts";
 * import { compileFilter } from "./compile.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => compileFilter("tcp or port", 1),
 *   (error) => error instanceof FilterError && error.column === 12,
 * );
 * ```
 */
export class FilterError extends Error {
  /** Always "FilterError". */
  override name = "FilterError";
  /** What is wrong, without the "Cannot compile filter: " prefix or the position. */
  readonly reason: string;
  /** 1-based column of the token the error is about, within its line. */
  readonly column: number | undefined;
  /** 1-based line of that token, for expressions of more than one line (as from `-F`). */
  readonly line: number | undefined;

  /**
   * Builds the error and its message: prefix, reason, and the position when there is one.
   *
   * @param prefix The start of the message: "Cannot compile filter" or "Invalid filter program".
   * @param reason What is wrong.
   * @param position Where: 1-based line and column, when the error is about a token.
   */
  constructor(prefix: string, reason: string, position?: { line: number; column: number }) {
    const where = position === undefined
      ? ""
      : position.line > 1
      ? ` at line ${position.line} column ${position.column}`
      : ` at column ${position.column}`;
    super(`${prefix}: ${reason}${where}`);
    this.reason = reason;
    this.column = position?.column;
    this.line = position?.line;
  }
}
