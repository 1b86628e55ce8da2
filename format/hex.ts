/**
 * Hex and ASCII dumps of packet bytes, the only place packet content is shown.
 *
 * @module
 */

import { HEX_BYTE, SAFE_CHAR } from "./text.ts";

/** Bytes shown on each line. */
const BYTES_PER_LINE = 16;
/** Offsets have at least this many hex digits. */
const MIN_OFFSET_DIGITS = 4;
/** Radix of the offset column. */
const HEX_RADIX = 16;
/** What stands in for a byte missing from a short last line: two digits and a space. */
const MISSING_BYTE = "   ";

/** `"xx "` for every byte value. */
const HEX_BYTE_SPACE: readonly string[] = HEX_BYTE.map((hex) => hex + " ");

/**
 * A hex dump of `data`: 16 bytes a line, each line its offset (4 hex digits, more when the data
 * needs them), the bytes in hex, and the same bytes as ASCII with everything outside 0x20-0x7e
 * shown as `.`. A short last line is padded so its ASCII column lines up. Lines are separated by
 * `\n`, with none after the last; no bytes give an empty string.
 *
 * @example Dump a few bytes
 * ```ts
 * import { formatHex } from "./hex.ts";
 * import assert from "node:assert/strict";
 * const dump = formatHex(new Uint8Array([0x45, 0x00, 0x00, 0x3c, 0x41, 0x0a]));
 * assert.equal(dump, "0000  45 00 00 3c 41 0a" + " ".repeat(32) + "E..<A.");
 * ```
 */
export function formatHex(data: Uint8Array): string {
  const length = data.length;
  if (length === 0) return "";
  const lastOffset = length - 1 - (length - 1) % BYTES_PER_LINE;
  const digits = Math.max(MIN_OFFSET_DIGITS, lastOffset.toString(HEX_RADIX).length);
  let dump = "";
  for (let offset = 0; offset < length; offset += BYTES_PER_LINE) {
    if (offset > 0) dump += "\n";
    const end = Math.min(offset + BYTES_PER_LINE, length);
    let hex = "";
    let ascii = "";
    for (let i = offset; i < end; i++) {
      const byte = data[i]!;
      hex += HEX_BYTE_SPACE[byte]!;
      ascii += SAFE_CHAR[byte]!;
    }
    for (let i = end; i < offset + BYTES_PER_LINE; i++) hex += MISSING_BYTE;
    dump += offset.toString(HEX_RADIX).padStart(digits, "0") + "  " + hex + " " + ascii;
  }
  return dump;
}
