/**
 * UDP headers (RFC 768).
 *
 * ```text
 * 0 srcPort(2) | 2 dstPort(2) | 4 length(2) | 6 checksum(2) | 8 payload
 * ```
 *
 * @module
 */

import { checksumVerifies, onesComplementSum } from "./checksum.ts";
import { type FieldSpec, partialLayer } from "./decode_error.ts";
import type { PartialLayer, UdpLayer } from "./types.ts";

/** Length of a UDP header. */
export const UDP_HEADER_LENGTH = 8;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;

const FIELDS: readonly FieldSpec[] = [
  ["srcPort", 2, (v, o) => v.getUint16(o)],
  ["dstPort", 4, (v, o) => v.getUint16(o + 2)],
  ["length", 6, (v, o) => v.getUint16(o + 4)],
  ["checksum", 8, (v, o) => v.getUint16(o + 6)],
];

/**
 * Decodes a UDP header at `offset`. `end` is the end of the captured bytes and `limit` the end of
 * the datagram by the IP length. The checksum is verified over the UDP length when that is
 * consistent with the IP length and wholly captured; it is `null` otherwise, and for a zero
 * checksum over IPv4 (`ipv6` false), where zero means "none". Over IPv6 zero is invalid. With
 * `verify` false it is always `null`.
 *
 * @example Decode a header
 * ```ts
 * import { decodeUdp } from "./udp.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([0x14, 0xe9, 0, 53, 0, 8, 0, 0]).buffer);
 * const udp = decodeUdp(view, 0, 8, 8, 0, false);
 * assert.ok("dstPort" in udp && udp.dstPort === 53 && udp.checksumValid === null);
 * ```
 */
export function decodeUdp(
  view: DataView,
  offset: number,
  end: number,
  limit: number,
  addressSum: number,
  ipv6: boolean,
  verify = true,
): UdpLayer | PartialLayer {
  if (end - offset < UDP_HEADER_LENGTH) {
    return partialLayer("udp", FIELDS, view, offset, end - offset);
  }
  const length = view.getUint16(offset + 4);
  const checksum = view.getUint16(offset + 6);
  let checksumValid: boolean | null = null;
  const datagramEnd = offset + length;
  if (!verify) {
    checksumValid = null;
  } else if (checksum === 0) {
    checksumValid = ipv6 ? false : null;
  } else if (length >= UDP_HEADER_LENGTH && datagramEnd <= limit && datagramEnd <= end) {
    const sum = onesComplementSum(view, offset, datagramEnd, addressSum) + IPPROTO_UDP + length;
    checksumValid = checksumVerifies(sum);
  }
  return {
    type: "udp",
    srcPort: view.getUint16(offset),
    dstPort: view.getUint16(offset + 2),
    length,
    checksum,
    checksumValid,
  };
}
