/**
 * Linux cooked capture headers, as made by capturing on the "any" device.
 *
 * ```text
 * SLL  (16 bytes): 0 packetType(2) | 2 arphrdType(2) | 4 addressLength(2) | 6 address(8)
 *                  | 14 protocol(2)
 * SLL2 (20 bytes): 0 protocol(2) | 2 reserved(2) | 4 interfaceIndex(4) | 8 arphrdType(2)
 *                  | 10 packetType(1) | 11 addressLength(1) | 12 address(8)
 * ```
 *
 * @module
 */

import { linkAddressText } from "./address.ts";
import { type FieldSpec, partialLayer } from "./decode_error.ts";
import type { PartialLayer, Sll2Layer, SllLayer } from "./types.ts";

/** Length of an SLL header. */
export const SLL_HEADER_LENGTH = 16;
/** Length of an SLL2 header. */
export const SLL2_HEADER_LENGTH = 20;
const ADDRESS_MAX = 8;

const SLL_FIELDS: readonly FieldSpec[] = [
  ["packetType", 2, (v, o) => v.getUint16(o)],
  ["arphrdType", 4, (v, o) => v.getUint16(o + 2)],
];

const SLL2_FIELDS: readonly FieldSpec[] = [
  ["protocol", 2, (v, o) => v.getUint16(o)],
  ["interfaceIndex", 8, (v, o) => v.getUint32(o + 4)],
  ["arphrdType", 10, (v, o) => v.getUint16(o + 8)],
  ["packetType", 11, (v, o) => v.getUint8(o + 10)],
];

/**
 * Decodes an SLL (v1) header.
 *
 * @example Outgoing IPv4
 * ```ts
 * import { decodeSll } from "./sll.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(16);
 * bytes[1] = 4; bytes[5] = 6; bytes[14] = 0x08;
 * const sll = decodeSll(new DataView(bytes.buffer), 0, 16);
 * assert.ok(!("partial" in sll) && sll.protocol === 0x0800 && sll.packetType === 4);
 * ```
 */
export function decodeSll(view: DataView, offset: number, end: number): SllLayer | PartialLayer {
  if (end - offset < SLL_HEADER_LENGTH) {
    return partialLayer("sll", SLL_FIELDS, view, offset, end - offset);
  }
  const addressLength = Math.min(view.getUint16(offset + 4), ADDRESS_MAX);
  return {
    type: "sll",
    packetType: view.getUint16(offset),
    arphrdType: view.getUint16(offset + 2),
    address: linkAddressText(view, offset + 6, addressLength),
    protocol: view.getUint16(offset + 14),
  };
}

/**
 * Decodes an SLL2 header.
 *
 * @example Incoming IPv6 on interface 3
 * ```ts
 * import { decodeSll2 } from "./sll.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(20);
 * bytes[0] = 0x86; bytes[1] = 0xdd; bytes[7] = 3; bytes[9] = 1; bytes[11] = 6;
 * const sll = decodeSll2(new DataView(bytes.buffer), 0, 20);
 * assert.equal("interfaceIndex" in sll && sll.interfaceIndex, 3);
 * ```
 */
export function decodeSll2(view: DataView, offset: number, end: number): Sll2Layer | PartialLayer {
  if (end - offset < SLL2_HEADER_LENGTH) {
    return partialLayer("sll2", SLL2_FIELDS, view, offset, end - offset);
  }
  const addressLength = Math.min(view.getUint8(offset + 11), ADDRESS_MAX);
  return {
    type: "sll2",
    packetType: view.getUint8(offset + 10),
    arphrdType: view.getUint16(offset + 8),
    address: linkAddressText(view, offset + 12, addressLength),
    protocol: view.getUint16(offset),
    interfaceIndex: view.getUint32(offset + 4),
  };
}
