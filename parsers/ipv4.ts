/**
 * IPv4 headers (RFC 791) with their options.
 *
 * ```text
 * 0 version(4) ihl(4) | 1 dscp(6) ecn(2) | 2 totalLength(2) | 4 id(2)
 * 6 flags(3) fragmentOffset(13) | 8 ttl(1) | 9 protocol(1) | 10 checksum(2)
 * 12 src(4) | 16 dst(4) | 20 options(ihl * 4 - 20)
 * ```
 *
 * @module
 */

import { hexBytes, ipv4Text } from "./address.ts";
import { checksumVerifies, onesComplementSum } from "./checksum.ts";
import { decodeError, type FieldSpec, partialLayer } from "./decode_error.ts";
import type { DecodeError, Ipv4Layer, Ipv4Option, PartialLayer } from "./types.ts";

/** Length of an IPv4 header without options. */
export const IPV4_MIN_HEADER_LENGTH = 20;
/** Offset of the source address. */
export const IPV4_OFFSET_SRC = 12;
/** Offset of the destination address. */
export const IPV4_OFFSET_DST = 16;

const FLAG_RESERVED = 0x8000;
const FLAG_DONT_FRAGMENT = 0x4000;
const FLAG_MORE_FRAGMENTS = 0x2000;
const FRAGMENT_OFFSET_MASK = 0x1fff;
const FRAGMENT_UNIT = 8;

/** Option type of End of Option List. */
export const IPV4_OPTION_EOL = 0;
/** Option type of No Operation. */
export const IPV4_OPTION_NOP = 1;

const FIELDS: readonly FieldSpec[] = [
  ["version", 1, (v, o) => v.getUint8(o) >> 4],
  ["headerLength", 1, (v, o) => (v.getUint8(o) & 0x0f) * 4],
  ["dscp", 2, (v, o) => v.getUint8(o + 1) >> 2],
  ["ecn", 2, (v, o) => v.getUint8(o + 1) & 3],
  ["totalLength", 4, (v, o) => v.getUint16(o + 2)],
  ["id", 6, (v, o) => v.getUint16(o + 4)],
  ["reservedFlag", 8, (v, o) => (v.getUint16(o + 6) & FLAG_RESERVED) !== 0],
  ["dontFragment", 8, (v, o) => (v.getUint16(o + 6) & FLAG_DONT_FRAGMENT) !== 0],
  ["moreFragments", 8, (v, o) => (v.getUint16(o + 6) & FLAG_MORE_FRAGMENTS) !== 0],
  ["fragmentOffset", 8, (v, o) => (v.getUint16(o + 6) & FRAGMENT_OFFSET_MASK) * FRAGMENT_UNIT],
  ["ttl", 9, (v, o) => v.getUint8(o + 8)],
  ["protocol", 10, (v, o) => v.getUint8(o + 9)],
  ["checksum", 12, (v, o) => v.getUint16(o + 10)],
  ["src", 16, (v, o) => ipv4Text(v, o + IPV4_OFFSET_SRC)],
  ["dst", 20, (v, o) => ipv4Text(v, o + IPV4_OFFSET_DST)],
];

/**
 * Lists the options in `[start, end)`, each with its bytes after type and length as hex `data`.
 * A malformed option (length below 2 or past the header) is listed with the length it claims
 * (and the bytes there are), and ends the walk.
 *
 * @example Router Alert
 * ```ts
 * import { decodeIpv4Options } from "./ipv4.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([148, 4, 0, 0]).buffer);
 * assert.ok(
 *   JSON.stringify(decodeIpv4Options(view, 0, 4)) === '[{"type":148,"length":4,"data":"0000"}]',
 * );
 * ```
 */
export function decodeIpv4Options(view: DataView, start: number, end: number): Ipv4Option[] {
  const options: Ipv4Option[] = [];
  let i = start;
  while (i < end) {
    const type = view.getUint8(i);
    if (type === IPV4_OPTION_EOL) {
      options.push({ type, length: 1 });
      break;
    }
    if (type === IPV4_OPTION_NOP) {
      options.push({ type, length: 1 });
      i++;
      continue;
    }
    if (i + 1 >= end) {
      options.push({ type, length: 1 });
      break;
    }
    const length = view.getUint8(i + 1);
    if (length < 2) {
      options.push({ type, length });
      break;
    }
    const dataEnd = Math.min(i + length, end);
    options.push({ type, length, data: hexBytes(view, i + 2, dataEnd - i - 2) });
    if (i + length > end) break;
    i += length;
  }
  return options;
}

/**
 * Decodes an IPv4 header at `offset`, with `end` the end of the captured bytes. A header cut short
 * gives a partial layer; a version other than 4 or a header length below 20 is a decode error
 * (carrying the fields read so far in `partial`). The header checksum is verified when the whole
 * header is captured and `verify` is true, and is `null` otherwise.
 *
 * @example Decode a header
 * ```ts
 * import { decodeIpv4 } from "./ipv4.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 17, 0x26, 0xd6,
 *   10, 0, 0, 1, 10, 0, 0, 2]);
 * const ip = decodeIpv4(new DataView(bytes.buffer), 0, bytes.length);
 * assert.ok(ip.type === "ipv4" && "checksumValid" in ip && ip.checksumValid === true);
 * ```
 */
export function decodeIpv4(
  view: DataView,
  offset: number,
  end: number,
  verify = true,
): Ipv4Layer | PartialLayer | (DecodeError & { partial?: PartialLayer }) {
  const available = end - offset;
  if (available < 1) return partialLayer("ipv4", FIELDS, view, offset, 0);
  const first = view.getUint8(offset);
  const version = first >> 4;
  if (version !== 4) return decodeError("ipv4", `IP version ${version} is not 4`, offset);
  const headerLength = (first & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH) {
    const error: DecodeError & { partial?: PartialLayer } = decodeError(
      "ipv4",
      `header length ${headerLength} is below the minimum ${IPV4_MIN_HEADER_LENGTH}`,
      offset,
    );
    error.partial = partialLayer("ipv4", FIELDS, view, offset, 1);
    return error;
  }
  if (available < IPV4_MIN_HEADER_LENGTH) {
    return partialLayer("ipv4", FIELDS, view, offset, available);
  }
  const whole = available >= headerLength;
  const tos = view.getUint8(offset + 1);
  const flags = view.getUint16(offset + 6);
  return {
    type: "ipv4",
    version,
    headerLength,
    dscp: tos >> 2,
    ecn: tos & 3,
    totalLength: view.getUint16(offset + 2),
    id: view.getUint16(offset + 4),
    reservedFlag: (flags & FLAG_RESERVED) !== 0,
    dontFragment: (flags & FLAG_DONT_FRAGMENT) !== 0,
    moreFragments: (flags & FLAG_MORE_FRAGMENTS) !== 0,
    fragmentOffset: (flags & FRAGMENT_OFFSET_MASK) * FRAGMENT_UNIT,
    ttl: view.getUint8(offset + 8),
    protocol: view.getUint8(offset + 9),
    checksum: view.getUint16(offset + 10),
    checksumValid: whole && verify
      ? checksumVerifies(onesComplementSum(view, offset, offset + headerLength))
      : null,
    src: ipv4Text(view, offset + IPV4_OFFSET_SRC),
    dst: ipv4Text(view, offset + IPV4_OFFSET_DST),
    options: headerLength > IPV4_MIN_HEADER_LENGTH
      ? decodeIpv4Options(
        view,
        offset + IPV4_MIN_HEADER_LENGTH,
        offset + (whole ? headerLength : available),
      )
      : [],
  };
}
