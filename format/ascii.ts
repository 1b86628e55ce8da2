/**
 * Text written straight into bytes. Summaries are made of many small pieces (addresses, ports,
 * sequence numbers, option words); joined as strings, each join allocates and the finished line
 * must still be flattened and encoded. Written into an {@linkcode AsciiBuffer}, each piece is
 * copied once, to where the output is gathered.
 *
 * @module
 */

const INITIAL_BYTES = 4096;
// The characters the formatters write one byte at a time.
export const DIGIT_ZERO = 0x30;
export const NEWLINE = 0x0a;
export const SPACE = 0x20;
export const COMMA = 0x2c;
export const DOT = 0x2e;
export const COLON = 0x3a;
export const CLOSE_BRACKET = 0x5d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
/** Written for a character outside ASCII, which one byte cannot hold. */
const NON_ASCII = 0x3f; // "?"
const ASCII_LAST = 0x7f;
/** Largest value whose digits are worked out in small-integer arithmetic. */
const SMALL_INTEGER_MAX = 0x3fffffff;
/** A larger 32-bit value is written as its high part and five low digits. */
const LOW_PART = 100_000;
const LOW_DIGITS = 5;
/** Digits of the largest 32-bit value. */
const MAX_UINT32_DIGITS = 10;
/** The most UTF-8 bytes one UTF-16 code unit takes (a pair takes 4 for its two). */
const MAX_UTF8_PER_UNIT = 3;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A growing buffer of ASCII text: its first `length` bytes are what has been written.
 *
 * @example Write a line
 * ```ts
 * import { AsciiBuffer } from "./ascii.ts";
 * import assert from "node:assert/strict";
 * const out = new AsciiBuffer();
 * out.text("win ");
 * out.decimal(65535);
 * out.text(", seq ");
 * out.decimal(4082233688);
 * assert.equal(out.toString(), "win 65535, seq 4082233688");
 * ```
 */
export class AsciiBuffer {
  /** The buffer, replaced by a bigger one when a write does not fit. */
  bytes: Uint8Array;
  /** Bytes written so far; setting it lower takes text back. */
  length = 0;

  /** Makes a buffer that writes into `bytes` (a new 4 KiB buffer by default). */
  constructor(bytes: Uint8Array = new Uint8Array(INITIAL_BYTES)) {
    this.bytes = bytes;
  }

  /** Makes room for `count` more bytes, moving to a bigger buffer when they do not fit. */
  reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + count));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  /** Adds one byte, a character code below 128. */
  byte(code: number): void {
    if (this.length === this.bytes.length) this.reserve(1);
    this.bytes[this.length++] = code;
  }

  /** Adds `text`, each character outside ASCII as `?`. */
  text(text: string): void {
    const count = text.length;
    if (this.length + count > this.bytes.length) this.reserve(count);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < count; i++) {
      const code = text.charCodeAt(i);
      bytes[at++] = code > ASCII_LAST ? NON_ASCII : code;
    }
    this.length = at;
  }

  /**
   * Adds `text` encoded as UTF-8, in one call to the encoder however long it is: unlike
   * {@linkcode AsciiBuffer.text}, a character outside ASCII takes two to four bytes. Returns how
   * many bytes were added, which is `text.length` exactly when the text is all ASCII.
   *
   * @example ASCII takes a byte a character, other text more
   * ```ts
   * import { AsciiBuffer } from "./ascii.ts";
   * import assert from "node:assert/strict";
   * const out = new AsciiBuffer();
   * assert.equal(out.utf8('{"a":1}'), 7);
   * assert.equal(out.utf8("é"), 2);
   * assert.equal(out.toString(), '{"a":1}é');
   * ```
   */
  utf8(text: string): number {
    const start = this.length;
    let rest = text;
    // Room for a byte a character first, as ASCII needs; more for what did not fit.
    let room = rest.length;
    for (;;) {
      if (this.length + room > this.bytes.length) this.reserve(room);
      const { read, written } = encoder.encodeInto(rest, this.bytes.subarray(this.length));
      this.length += written;
      if (read === rest.length) return this.length - start;
      rest = rest.slice(read);
      room = rest.length * MAX_UTF8_PER_UNIT;
    }
  }

  /** Adds a line break. */
  newline(): void {
    this.byte(NEWLINE);
  }

  /**
   * Adds the decimal text of `value`, as `String(value)` would write it. Unsigned 32-bit
   * integers, which are nearly all a packet holds, are written without making a string.
   */
  decimal(value: number): void {
    if (value >>> 0 !== value) {
      this.text("" + value);
      return;
    }
    if (value > SMALL_INTEGER_MAX) {
      // Past 2^30 V8 keeps the value as a double; split it into two small integers.
      const high = Math.floor(value / LOW_PART);
      this.#digits(high, digitCount(high));
      this.#digits(value - high * LOW_PART, LOW_DIGITS);
      return;
    }
    this.#digits(value, digitCount(value));
  }

  /** The text written so far. */
  toString(): string {
    return decoder.decode(this.bytes.subarray(0, this.length));
  }

  /** Writes the last `count` decimal digits of a small integer, with leading zeros. */
  #digits(value: number, count: number): void {
    if (this.length + count > this.bytes.length) this.reserve(count);
    const bytes = this.bytes;
    const end = this.length + count;
    for (let at = end - 1; at >= this.length; at--) {
      const rest = (value / 10) | 0;
      bytes[at] = DIGIT_ZERO + value - rest * 10;
      value = rest;
    }
    this.length = end;
  }
}

/** How many decimal digits a small non-negative integer has. */
function digitCount(value: number): number {
  let count = 1;
  for (let limit = 10; count < MAX_UINT32_DIGITS && value >= limit; limit *= 10) count++;
  return count;
}

/**
 * Where a printer puts its lines: whole strings, or bytes written straight into the output's
 * buffer between `beginLine` and `endLine`. What is written as one line may hold line breaks of
 * its own (a hex dump, a group of JSON records); only its last break is added.
 */
export interface LineOutput {
  /** Adds a line given as a string (without its line break). */
  writeLine(text: string): void;
  /** Starts a line written as bytes, after every line before it; `endLine` ends it. */
  beginLine(): AsciiBuffer;
  /** Ends the line started by `beginLine`, adding its line break. */
  endLine(): void;
}

/**
 * A {@linkcode LineOutput} that keeps each line as a string.
 *
 * @example Collect a line written as bytes and one given as a string
 * ```ts
 * import { LineCollector } from "./ascii.ts";
 * import assert from "node:assert/strict";
 * const lines = new LineCollector();
 * lines.beginLine().text("first");
 * lines.endLine();
 * lines.writeLine("second");
 * assert.equal(lines.lines.join("|"), "first|second");
 * ```
 */
export class LineCollector implements LineOutput {
  /** The lines so far, in order. */
  readonly lines: string[] = [];
  readonly #line = new AsciiBuffer();

  /** Adds a line given as a string. */
  writeLine(text: string): void {
    this.lines.push(text);
  }

  /** Starts a line written as bytes. */
  beginLine(): AsciiBuffer {
    this.#line.length = 0;
    return this.#line;
  }

  /** Ends the line started by `beginLine` and keeps it. */
  endLine(): void {
    this.lines.push(this.#line.toString());
  }
}
