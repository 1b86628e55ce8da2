/**
 * ARP and RARP (RFC 826, RFC 903).
 *
 * ```text
 * 0 hardwareType(2) | 2 protocolType(2) | 4 hln(1) | 5 pln(1) | 6 opcode(2)
 * 8 senderHardware(hln) | senderProtocol(pln) | targetHardware(hln) | targetProtocol(pln)
 * ```
 *
 * @module
 */

import { IPV4_ADDRESS_LENGTH, ipv4Text, linkAddressText } from "./address.ts";
import { type FieldSpec, partialLayer } from "./decode_error.ts";
import type { ArpLayer, PartialLayer } from "./types.ts";

/** Length of the fixed part of an ARP packet. */
export const ARP_FIXED_LENGTH = 8;

/** ARP request. */
export const ARP_REQUEST = 1;
/** ARP reply. */
export const ARP_REPLY = 2;
/** RARP request. */
export const RARP_REQUEST = 3;
/** RARP reply. */
export const RARP_REPLY = 4;

const FIXED_FIELDS: readonly FieldSpec[] = [
  ["hardwareType", 2, (v, o) => v.getUint16(o)],
  ["protocolType", 4, (v, o) => v.getUint16(o + 2)],
  ["hardwareSize", 5, (v, o) => v.getUint8(o + 4)],
  ["protocolSize", 6, (v, o) => v.getUint8(o + 5)],
  ["opcode", 8, (v, o) => v.getUint16(o + 6)],
];

function protocolAddressText(view: DataView, offset: number, size: number): string {
  return size === IPV4_ADDRESS_LENGTH
    ? ipv4Text(view, offset)
    : linkAddressText(view, offset, size);
}

/**
 * Decodes an ARP or RARP packet; one cut short gives a partial layer with its fixed fields.
 *
 * @example Decode a request
 * ```ts
 * import { decodeArp } from "./arp.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
 *   0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
 * const arp = decodeArp(new DataView(bytes.buffer), 0, bytes.length);
 * assert.equal("targetIp" in arp && arp.targetIp, "10.0.0.2");
 * ```
 */
export function decodeArp(view: DataView, offset: number, end: number): ArpLayer | PartialLayer {
  const available = end - offset;
  if (available < ARP_FIXED_LENGTH) {
    return partialLayer("arp", FIXED_FIELDS, view, offset, available);
  }
  const hardwareSize = view.getUint8(offset + 4);
  const protocolSize = view.getUint8(offset + 5);
  if (available < ARP_FIXED_LENGTH + 2 * (hardwareSize + protocolSize)) {
    return partialLayer("arp", FIXED_FIELDS, view, offset, available);
  }
  const senderMac = offset + ARP_FIXED_LENGTH;
  const senderIp = senderMac + hardwareSize;
  const targetMac = senderIp + protocolSize;
  const targetIp = targetMac + hardwareSize;
  return {
    type: "arp",
    hardwareType: view.getUint16(offset),
    protocolType: view.getUint16(offset + 2),
    hardwareSize,
    protocolSize,
    opcode: view.getUint16(offset + 6),
    senderMac: linkAddressText(view, senderMac, hardwareSize),
    senderIp: protocolAddressText(view, senderIp, protocolSize),
    targetMac: linkAddressText(view, targetMac, hardwareSize),
    targetIp: protocolAddressText(view, targetIp, protocolSize),
  };
}
