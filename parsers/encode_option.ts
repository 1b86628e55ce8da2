/**
 * One type-length-value option from its record, as IPv4, TCP and IPv6 options share them:
 * `type(1) | length(1) | data`. The record's `length` is always the whole option's size in bytes,
 * as the decoders print it; the length byte holds that, less `lengthAdjust` for IPv6 options
 * (whose length byte counts the data only).
 *
 * @module
 */

import type { LayerFields } from "./build_fields.ts";

const BYTE_MAX = 0xff;
/** Bytes of type and length in front of an option's data. */
export const OPTION_HEAD_LENGTH = 2;

/**
 * The bytes of one option with type byte `code`:
 * - with `data` (hex): type, length byte, then the data as given; `length` defaults to
 *   2 + the data's size, and one that disagrees with the data is written as given, to craft a
 *   malformed option;
 * - with `length` alone: type, length byte and `length - 2` zero bytes (`length` 1: the type
 *   byte alone, as EOL, NOP and Pad1 are);
 * - with neither: the type byte alone when `single` (EOL, NOP, Pad1), an error otherwise.
 *
 * @example A router alert option, and PadN of 4 in IPv6
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { optionBytes } from "./encode_option.ts";
 * import assert from "node:assert/strict";
 * const ra = optionBytes(new LayerFields({ data: "0000" }, "option 1"), 148, 0, false);
 * assert.equal(ra.join(), "148,4,0,0");
 * const padN = optionBytes(new LayerFields({ length: 4 }, "option 1"), 1, 2, false);
 * assert.equal(padN.join(), "1,2,0,0");
 * ```
 */
export function optionBytes(
  fields: LayerFields,
  code: number,
  lengthAdjust: number,
  single: boolean,
): Uint8Array {
  const maxLength = BYTE_MAX + lengthAdjust;
  const length = fields.optionalUint("length", 16);
  if (length !== undefined && length > maxLength) {
    fields.fail(`length must be a whole number from 0 to ${maxLength}, not ${length}`);
  }
  if (fields.has("data")) {
    const data = fields.hex("data");
    const total = length ?? OPTION_HEAD_LENGTH + data.length;
    if (total > maxLength) {
      fields.fail(`data of ${data.length} bytes is too long for one option`);
    }
    if (total < lengthAdjust) fields.fail(`length must be at least ${lengthAdjust}, not ${total}`);
    const bytes = new Uint8Array(OPTION_HEAD_LENGTH + data.length);
    bytes[0] = code;
    bytes[1] = total - lengthAdjust;
    bytes.set(data, OPTION_HEAD_LENGTH);
    return bytes;
  }
  if (length === undefined) {
    if (!single) fields.fail("needs data (hex) or length");
    return Uint8Array.of(code);
  }
  if (length === 1) return Uint8Array.of(code);
  if (length < lengthAdjust) fields.fail(`length must be at least ${lengthAdjust}, not ${length}`);
  const bytes = new Uint8Array(Math.max(OPTION_HEAD_LENGTH, length));
  bytes[0] = code;
  bytes[1] = length - lengthAdjust;
  return bytes;
}
