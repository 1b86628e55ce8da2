/**
 * IPv4 fragmentation (RFC 791 section 3.2), as a sender does it before a datagram meets a link
 * whose MTU it exceeds: the kernel will not split a raw IP_HDRINCL datagram, so a builder that
 * wants fragments on the wire makes them itself, as Scapy's `fragment()` does.
 *
 * @module
 */

import { BuildError } from "./build_fields.ts";
import { onesComplementSum } from "./checksum.ts";
import { decodeIpv4Options, IPV4_MIN_HEADER_LENGTH, IPV4_OPTION_EOL } from "./ipv4.ts";
import { roundUp, writeChecksum } from "./layer_plan.ts";

/** The smallest MTU every IPv4 link must carry (RFC 791). */
export const IPV4_MIN_MTU = 68;

const IHL_UNIT = 4;
const FRAGMENT_UNIT = 8;
const FLAG_DONT_FRAGMENT = 0x4000;
const FLAG_MORE_FRAGMENTS = 0x2000;
const FLAGS_MASK = 0xe000;
const OFFSET_MASK = 0x1fff;
const OFFSET_TOTAL_LENGTH = 2;
const OFFSET_FLAGS = 6;
const OFFSET_CHECKSUM = 10;
const VERSION_4 = 4;
/** An option's type byte: the copied flag says later fragments carry it too. */
const OPTION_COPIED = 0x80;
const IPV4_VERSION_SHIFT = 4;

/** The options of a header that later fragments carry: those with the copied flag. */
function copiedOptions(view: DataView, start: number, end: number): Uint8Array {
  const kept: number[] = [];
  let at = start;
  for (const option of decodeIpv4Options(view, start, end)) {
    if (option.type === IPV4_OPTION_EOL) break;
    if ((option.type & OPTION_COPIED) !== 0) {
      for (let i = 0; i < option.length && at + i < end; i++) kept.push(view.getUint8(at + i));
    }
    at += option.length;
  }
  const bytes = new Uint8Array(roundUp(kept.length, IHL_UNIT));
  bytes.set(kept);
  return bytes;
}

/**
 * Splits the IPv4 datagram at `ipOffset` of `frame` into fragments whose IP total length is at
 * most `mtu`, each behind a copy of the bytes before `ipOffset` (the link-layer header). The
 * first fragment keeps the whole header; later ones keep only the options marked copied. Offsets
 * and the more-fragments flag continue those of a datagram that is itself a fragment; each
 * header checksum is computed. A datagram that fits is returned as it is; bytes after its total
 * length (link padding) are dropped from fragments.
 *
 * @throws {BuildError} For a datagram with don't-fragment set, an MTU below 68 or too small for
 *   the header, or bytes that are not a whole IPv4 header.
 *
 * @example A 3000-byte datagram over a 1500-byte MTU
 * ```ts
 * import { buildPacket } from "./build.ts";
 * import { fragmentIpv4 } from "./fragment.ts";
 * import assert from "node:assert/strict";
 * const datagram = buildPacket([
 *   { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
 *   { type: "udp", srcPort: 1, dstPort: 2 },
 * ], { payload: new Uint8Array(2972) });
 * const fragments = fragmentIpv4(datagram, 0, 1500);
 * assert.equal(fragments.map((f) => f.length).join(), "1500,1500,40");
 * ```
 */
export function fragmentIpv4(frame: Uint8Array, ipOffset: number, mtu: number): Uint8Array[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < ipOffset + IPV4_MIN_HEADER_LENGTH) {
    throw new BuildError(`cannot fragment: no IPv4 header at byte ${ipOffset}`);
  }
  const first = view.getUint8(ipOffset);
  const headerLength = (first & 0x0f) * IHL_UNIT;
  const totalLength = view.getUint16(ipOffset + OFFSET_TOTAL_LENGTH);
  if (
    first >> IPV4_VERSION_SHIFT !== VERSION_4 || headerLength < IPV4_MIN_HEADER_LENGTH ||
    totalLength < headerLength || ipOffset + totalLength > frame.length
  ) {
    throw new BuildError(`cannot fragment: the bytes at ${ipOffset} are not a whole IPv4 datagram`);
  }
  if (totalLength <= mtu) return [frame];
  const flags = view.getUint16(ipOffset + OFFSET_FLAGS);
  if ((flags & FLAG_DONT_FRAGMENT) !== 0) {
    throw new BuildError(
      `the ${totalLength}-byte datagram has dontFragment set, so it cannot be split for MTU ${mtu}`,
    );
  }
  const laterOptions = copiedOptions(
    view,
    ipOffset + IPV4_MIN_HEADER_LENGTH,
    ipOffset + headerLength,
  );
  const laterHeaderLength = IPV4_MIN_HEADER_LENGTH + laterOptions.length;
  if (mtu < IPV4_MIN_MTU || mtu < headerLength + FRAGMENT_UNIT) {
    throw new BuildError(
      `MTU ${mtu} is too small: IPv4 needs at least ${IPV4_MIN_MTU}, and room for the ` +
        `${headerLength}-byte header and 8 bytes`,
    );
  }
  const link = frame.subarray(0, ipOffset);
  const dataStart = ipOffset + headerLength;
  const dataEnd = ipOffset + totalLength;
  const baseOffset = (flags & OFFSET_MASK) * FRAGMENT_UNIT;
  const fragments: Uint8Array[] = [];
  for (let at = dataStart; at < dataEnd;) {
    const firstFragment = at === dataStart;
    const ihl = firstFragment ? headerLength : laterHeaderLength;
    const room = Math.floor((mtu - ihl) / FRAGMENT_UNIT) * FRAGMENT_UNIT;
    const end = Math.min(dataEnd, at + room);
    const more = end < dataEnd || (flags & FLAG_MORE_FRAGMENTS) !== 0;
    const fragment = new Uint8Array(ipOffset + ihl + end - at);
    fragment.set(link);
    fragment.set(frame.subarray(ipOffset, ipOffset + IPV4_MIN_HEADER_LENGTH), ipOffset);
    if (firstFragment) {
      fragment.set(
        frame.subarray(ipOffset + IPV4_MIN_HEADER_LENGTH, dataStart),
        ipOffset + IPV4_MIN_HEADER_LENGTH,
      );
    } else {
      fragment.set(laterOptions, ipOffset + IPV4_MIN_HEADER_LENGTH);
    }
    fragment.set(frame.subarray(at, end), ipOffset + ihl);
    const out = new DataView(fragment.buffer);
    out.setUint8(ipOffset, (VERSION_4 << IPV4_VERSION_SHIFT) | (ihl / IHL_UNIT));
    out.setUint16(ipOffset + OFFSET_TOTAL_LENGTH, ihl + end - at);
    out.setUint16(
      ipOffset + OFFSET_FLAGS,
      (flags & FLAGS_MASK & ~FLAG_MORE_FRAGMENTS) | (more ? FLAG_MORE_FRAGMENTS : 0) |
        ((baseOffset + at - dataStart) / FRAGMENT_UNIT),
    );
    out.setUint16(ipOffset + OFFSET_CHECKSUM, 0);
    writeChecksum(
      out,
      ipOffset + OFFSET_CHECKSUM,
      onesComplementSum(out, ipOffset, ipOffset + ihl),
      false,
    );
    fragments.push(fragment);
    at = end;
  }
  return fragments;
}
