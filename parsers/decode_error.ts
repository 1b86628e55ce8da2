/**
 * Decode errors as returned values, and the partial layers made from cut-short headers.
 *
 * @module
 */

import type { DecodeError, LayerType, PartialLayer } from "./types.ts";

/**
 * Builds a {@link DecodeError}.
 *
 * @example A header too short for its own length field
 * ```ts
 * import { decodeError } from "./decode_error.ts";
 * import assert from "node:assert/strict";
 * const error = decodeError("ipv4", "header length 16 is below the minimum 20", 14);
 * assert.equal(error.type, "error");
 * ```
 */
export function decodeError(
  layer: string,
  reason: string,
  offset: number,
  required?: number,
  available?: number,
): DecodeError {
  const error: DecodeError = { type: "error", layer, reason, offset };
  if (required !== undefined) error.required = required;
  if (available !== undefined) error.available = available;
  return error;
}

/** Reads one field of a header at the header's offset. */
export type FieldReader = (view: DataView, offset: number) => unknown;

/** A header field: its name, the header length that must be present to read it, its reader. */
export type FieldSpec = readonly [name: string, end: number, read: FieldReader];

/**
 * The fields of a header that fit in `available` bytes, in header order, as a partial layer.
 *
 * @example Ports of a TCP header cut after 4 bytes
 * ```ts
 * import { partialLayer } from "./decode_error.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([0, 80, 1, 187]).buffer);
 * const layer = partialLayer("tcp", [
 *   ["srcPort", 2, (v, o) => v.getUint16(o)],
 *   ["dstPort", 4, (v, o) => v.getUint16(o + 2)],
 *   ["seq", 8, (v, o) => v.getUint32(o + 4)],
 * ], view, 0, 4);
 * assert.equal(JSON.stringify(layer), '{"type":"tcp","partial":true,"srcPort":80,"dstPort":443}');
 * ```
 */
export function partialLayer(
  type: LayerType,
  fields: readonly FieldSpec[],
  view: DataView,
  offset: number,
  available: number,
): PartialLayer {
  const layer: Record<string, unknown> = { type, partial: true };
  for (const [name, end, read] of fields) {
    if (end > available) break;
    layer[name] = read(view, offset);
  }
  return layer as PartialLayer;
}

/**
 * Whether a decoder's result is a {@link DecodeError}.
 *
 * @example Tell an error from a layer
 * ```ts
 * import { decodeError, isDecodeError } from "./decode_error.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isDecodeError(decodeError("tcp", "bad", 0)));
 * ```
 */
export function isDecodeError(value: { type: string }): value is DecodeError {
  return value.type === "error";
}
