/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443, neighbour discovery RFC 4861) message headers.
 *
 * ```text
 * 0 type(1) | 1 code(1) | 2 checksum(2) | 4 rest of header(4) | 8 body
 * echo:   4 id(2) | 6 seq(2)            (other types: 4 restOfHeader(4))
 * errors: 8 the offending packet's IP header and first bytes
 * NS/NA:  8 target(16) | 24 options (redirect: 8 target | 24 destination | 40 options)
 * RA:     8 reachableTime(4) | 12 retransTimer(4) | 16 options   (RS: 8 options)
 * ND option: 0 type(1) | 1 length(1, in units of 8 bytes) | 2 data
 * ```
 *
 * @module
 */

import { hexBytes, ipv6Text } from "./address.ts";
import { checksumVerifies, onesComplementSum } from "./checksum.ts";
import { type FieldSpec, partialLayer } from "./decode_error.ts";
import type { IcmpLayer, Icmpv6Layer, NdOption, PartialLayer } from "./types.ts";

/** Length of the ICMP and ICMPv6 header up to and including the checksum. */
export const ICMP_MIN_LENGTH = 4;
/** Length of the ICMP header including the 4 type-specific bytes. */
export const ICMP_HEADER_LENGTH = 8;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;

/** ICMP message types. */
export const ICMP_TYPES = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
} as const;

/** ICMPv6 message types. */
export const ICMPV6_TYPES = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
} as const;

const ND_OPTION_UNIT = 8;
const TARGET_OFFSET = 8;
const TARGET_END = 24;
const REDIRECT_OPTIONS_OFFSET = 40;
const RA_OPTIONS_OFFSET = 16;
const REACHABLE_TIME_OFFSET = 8;
const RETRANS_TIMER_OFFSET = 12;
const ID_OFFSET = 4;
const SEQ_OFFSET = 6;
const REST_OFFSET = 4;

const FIELDS: readonly FieldSpec[] = [
  ["messageType", 1, (v, o) => v.getUint8(o)],
  ["code", 2, (v, o) => v.getUint8(o + 1)],
  ["checksum", 4, (v, o) => v.getUint16(o + 2)],
];

/**
 * Whether an ICMP message of this type quotes the offending packet after its 8-byte header.
 *
 * @example Destination unreachable quotes, echo does not
 * ```ts
 * import { icmpQuotesPacket } from "./icmp.ts";
 * import assert from "node:assert/strict";
 * assert.ok(icmpQuotesPacket(3) && !icmpQuotesPacket(8));
 * ```
 */
export function icmpQuotesPacket(messageType: number): boolean {
  return messageType === ICMP_TYPES.DEST_UNREACHABLE ||
    messageType === ICMP_TYPES.SOURCE_QUENCH || messageType === ICMP_TYPES.REDIRECT ||
    messageType === ICMP_TYPES.TIME_EXCEEDED || messageType === ICMP_TYPES.PARAMETER_PROBLEM;
}

/**
 * Whether an ICMPv6 message of this type (the error types 1-4) quotes the offending packet.
 *
 * @example Packet too big quotes
 * ```ts
 * import { icmpv6QuotesPacket } from "./icmp.ts";
 * import assert from "node:assert/strict";
 * assert.ok(icmpv6QuotesPacket(2) && !icmpv6QuotesPacket(128));
 * ```
 */
export function icmpv6QuotesPacket(messageType: number): boolean {
  return messageType >= ICMPV6_TYPES.DEST_UNREACHABLE &&
    messageType <= ICMPV6_TYPES.PARAMETER_PROBLEM;
}

/**
 * Decodes an ICMP header at `offset`. `end` is the end of the captured bytes and `limit` the end
 * of the message by the IP length; the checksum is verified only when the whole message is
 * captured and `verify` is true.
 *
 * @example Decode an echo request
 * ```ts
 * import { decodeIcmp } from "./icmp.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([8, 0, 0xf7, 0xfd, 0, 1, 0, 1]).buffer);
 * const icmp = decodeIcmp(view, 0, 8, 8);
 * assert.ok("seq" in icmp && icmp.seq === 1 && icmp.checksumValid === true);
 * ```
 */
export function decodeIcmp(
  view: DataView,
  offset: number,
  end: number,
  limit: number,
  verify = true,
): IcmpLayer | PartialLayer {
  const available = end - offset;
  if (available < ICMP_MIN_LENGTH) {
    return partialLayer("icmp", FIELDS, view, offset, available);
  }
  const messageType = view.getUint8(offset);
  const layer: IcmpLayer = {
    type: "icmp",
    messageType,
    code: view.getUint8(offset + 1),
    checksum: view.getUint16(offset + 2),
    checksumValid: end === limit && verify
      ? checksumVerifies(onesComplementSum(view, offset, limit))
      : null,
  };
  if (available >= ICMP_HEADER_LENGTH) {
    if (icmpHasEchoFields(messageType)) {
      layer.id = view.getUint16(offset + ID_OFFSET);
      layer.seq = view.getUint16(offset + SEQ_OFFSET);
    } else {
      layer.restOfHeader = view.getUint32(offset + REST_OFFSET);
    }
  }
  return layer;
}

/**
 * Whether an ICMP message of this type carries an identifier and sequence number in bytes 4-7
 * (echo and timestamp, request and reply); other types carry `restOfHeader` there.
 *
 * @example Echo request yes, destination unreachable no
 * ```ts
 * import { icmpHasEchoFields } from "./icmp.ts";
 * import assert from "node:assert/strict";
 * assert.ok(icmpHasEchoFields(8) && !icmpHasEchoFields(3));
 * ```
 */
export function icmpHasEchoFields(messageType: number): boolean {
  return messageType === ICMP_TYPES.ECHO_REQUEST || messageType === ICMP_TYPES.ECHO_REPLY ||
    messageType === ICMP_TYPES.TIMESTAMP || messageType === ICMP_TYPES.TIMESTAMP_REPLY;
}

/**
 * Whether an ICMPv6 message of this type carries an identifier and sequence number (echo
 * request and reply); other types carry `restOfHeader` in bytes 4-7.
 *
 * @example Echo reply yes, neighbour solicitation no
 * ```ts
 * import { icmpv6HasEchoFields } from "./icmp.ts";
 * import assert from "node:assert/strict";
 * assert.ok(icmpv6HasEchoFields(129) && !icmpv6HasEchoFields(135));
 * ```
 */
export function icmpv6HasEchoFields(messageType: number): boolean {
  return messageType === ICMPV6_TYPES.ECHO_REQUEST || messageType === ICMPV6_TYPES.ECHO_REPLY;
}

function ndOptions(view: DataView, start: number, end: number): NdOption[] {
  const options: NdOption[] = [];
  let i = start;
  while (i + 2 <= end) {
    const length = view.getUint8(i + 1) * ND_OPTION_UNIT;
    const type = view.getUint8(i);
    if (length === 0) {
      options.push({ type, length });
      break;
    }
    options.push({ type, length, data: hexBytes(view, i + 2, Math.min(i + length, end) - i - 2) });
    i += length;
  }
  return options;
}

/**
 * Decodes an ICMPv6 header at `offset`. `end` is the end of the captured bytes, `limit` the end of
 * the message by the IPv6 payload length, and `addressSum` the pseudo header's address sum. The
 * checksum is verified only when the whole message is captured and `verify` is true. Echo
 * messages carry `id` and `seq`; neighbour discovery messages their `target` and `ndOptions`.
 *
 * @example Decode an echo reply
 * ```ts
 * import { decodeIcmpv6 } from "./icmp.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([129, 0, 0, 0, 0, 7, 0, 2]).buffer);
 * const icmp = decodeIcmpv6(view, 0, 8, 8, 0);
 * assert.ok(!("partial" in icmp) && icmp.id === 7 && icmp.checksumValid === false);
 * ```
 */
export function decodeIcmpv6(
  view: DataView,
  offset: number,
  end: number,
  limit: number,
  addressSum: number,
  verify = true,
): Icmpv6Layer | PartialLayer {
  const available = end - offset;
  if (available < ICMP_MIN_LENGTH) {
    return partialLayer("icmpv6", FIELDS, view, offset, available);
  }
  const messageType = view.getUint8(offset);
  const length = limit - offset;
  const layer: Icmpv6Layer = {
    type: "icmpv6",
    messageType,
    code: view.getUint8(offset + 1),
    checksum: view.getUint16(offset + 2),
    checksumValid: end === limit && verify
      ? checksumVerifies(
        onesComplementSum(view, offset, limit, addressSum) + IPPROTO_ICMPV6 +
          Math.floor(length / 0x10000) + (length & 0xffff),
      )
      : null,
  };
  if (available < ICMP_HEADER_LENGTH) return layer;
  if (icmpv6HasEchoFields(messageType)) {
    layer.id = view.getUint16(offset + ID_OFFSET);
    layer.seq = view.getUint16(offset + SEQ_OFFSET);
    return layer;
  }
  layer.restOfHeader = view.getUint32(offset + REST_OFFSET);
  switch (messageType) {
    case ICMPV6_TYPES.ROUTER_SOLICITATION:
      layer.ndOptions = ndOptions(view, offset + ICMP_HEADER_LENGTH, end);
      break;
    case ICMPV6_TYPES.ROUTER_ADVERTISEMENT:
      if (available >= RA_OPTIONS_OFFSET) {
        layer.reachableTime = view.getUint32(offset + REACHABLE_TIME_OFFSET);
        layer.retransTimer = view.getUint32(offset + RETRANS_TIMER_OFFSET);
      }
      layer.ndOptions = ndOptions(view, offset + RA_OPTIONS_OFFSET, end);
      break;
    case ICMPV6_TYPES.NEIGHBOR_SOLICITATION:
    case ICMPV6_TYPES.NEIGHBOR_ADVERTISEMENT:
      if (available >= TARGET_END) {
        layer.target = ipv6Text(view, offset + TARGET_OFFSET);
        layer.ndOptions = ndOptions(view, offset + TARGET_END, end);
      }
      break;
    case ICMPV6_TYPES.REDIRECT:
      if (available >= TARGET_END) layer.target = ipv6Text(view, offset + TARGET_OFFSET);
      if (available >= REDIRECT_OPTIONS_OFFSET) {
        layer.destination = ipv6Text(view, offset + TARGET_END);
        layer.ndOptions = ndOptions(view, offset + REDIRECT_OPTIONS_OFFSET, end);
      }
      break;
  }
  return layer;
}
