/**
 * A filter applied to the records of a capture file, as libpcap applies one when reading: the
 * program runs over each record's captured bytes, with its length on the wire as `len`. An
 * expression is compiled for each link type the file holds (pcapng may hold several), and for
 * BSD loopback in the file's byte order.
 *
 * @module
 */

import type { BpfProgram } from "./bpf.ts";
import { compileFilter, type CompileOptions } from "./compile.ts";
import { runFilterAt } from "./interpret.ts";
import { parseFilter } from "./parser.ts";
import { verifyProgram } from "./verify.ts";
import type { RecordCursor } from "../parsers/capture_format.ts";
import { LINKTYPE_NULL } from "../parsers/link_type.ts";

/**
 * Decides which capture records a filter keeps. Built from an expression (compiled per link type
 * when first needed) or from a program compiled for the file's link type.
 *
 * @example Keep the TCP records of a parser
 * ```ts
 * import { RecordFilter } from "./record_filter.ts";
 * import { CaptureParser } from "../parsers/capture_format.ts";
 * import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
 * import assert from "node:assert/strict";
 * const parser = new CaptureParser();
 * parser.push(pcapFileHeader(228, 65535, false));
 * const tcp = new Uint8Array(40);
 * tcp[0] = 0x45;
 * tcp[9] = 6;
 * parser.push(pcapRecordHeader(1700000000, 0, tcp.length, tcp.length));
 * parser.push(tcp);
 * const filter = new RecordFilter("tcp");
 * assert.ok(parser.advance());
 * assert.ok(filter.matches(parser.cursor, parser.littleEndian));
 * ```
 */
export class RecordFilter {
  readonly #expression: string | undefined;
  readonly #program: BpfProgram | undefined;
  readonly #options: CompileOptions;
  readonly #programs = new Map<string, BpfProgram>();

  /**
   * Prepares a filter; an expression is checked for syntax at once and compiled later.
   *
   * @param filter An expression in tcpdump's language, or a compiled program.
   * @param options How an expression is compiled.
   * @throws {FilterError} For an expression with a syntax error (other errors depend on the link
   *   type, and come from {@linkcode RecordFilter.programFor}), or a program that fails
   *   verification.
   */
  constructor(filter: string | BpfProgram, options: CompileOptions = {}) {
    if (typeof filter === "string") {
      parseFilter(filter);
      this.#expression = filter;
    } else {
      verifyProgram(filter);
      this.#program = filter;
    }
    this.#options = options;
  }

  /**
   * The program for records of `linkType`; `littleEndian` is the byte order of the file they
   * come from (it matters for BSD loopback only).
   *
   * @throws {FilterError} When the expression does not compile for the link type.
   */
  programFor(linkType: number, littleEndian = true): BpfProgram {
    if (this.#program !== undefined) return this.#program;
    const nullOrder = linkType === LINKTYPE_NULL && !littleEndian;
    const key = nullOrder ? `${linkType}:big-endian` : String(linkType);
    let program = this.#programs.get(key);
    if (program === undefined) {
      program = compileFilter(this.#expression!, linkType, {
        ...this.#options,
        nullByteOrder: nullOrder ? "big-endian" : "little-endian",
      });
      this.#programs.set(key, program);
    }
    return program;
  }

  /** Whether the filter keeps the record under `cursor`, from a file of that byte order. */
  matches(cursor: RecordCursor, littleEndian = true): boolean {
    const program = this.programFor(cursor.linkType, littleEndian);
    return runFilterAt(program, cursor.view, cursor.offset, cursor.captured, cursor.length) !== 0;
  }
}
