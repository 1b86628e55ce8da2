/**
 * IPv6 headers (RFC 8200) and the walk over their extension headers.
 *
 * ```text
 * 0 version(4) trafficClass(8) flowLabel(20) | 4 payloadLength(2) | 6 nextHeader(1)
 * 7 hopLimit(1) | 8 src(16) | 24 dst(16) | 40 extension headers, then the upper layer
 * extension: 0 nextHeader(1) | 1 hdrExtLen(1) | ...  ((hdrExtLen + 1) * 8 bytes; AH: (len + 2) * 4)
 * fragment:  0 nextHeader(1) | 1 reserved(1) | 2 offset(13) res(2) M(1) | 4 id(4)
 * routing:   0 nextHeader(1) | 1 hdrExtLen(1) | 2 routingType(1) | 3 segmentsLeft(1) | 4 data
 * AH:        0 nextHeader(1) | 1 payloadLen(1) | 2 reserved(2) | 4 spi(4) | 8 seq(4) | 12 ICV
 * options:   0 type(1) | 1 dataLength(1) | 2 data   (Pad1: the type byte 0 alone)
 * ```
 *
 * @module
 */

import { hexBytes, ipv6Text } from "./address.ts";
import { decodeError, type FieldSpec, partialLayer } from "./decode_error.ts";
import type { DecodeError, Ipv6Extension, Ipv6Layer, Ipv6Option, PartialLayer } from "./types.ts";

/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LENGTH = 40;
/** Offset of the source address. */
export const IPV6_OFFSET_SRC = 8;
/** Offset of the destination address. */
export const IPV6_OFFSET_DST = 24;

/** Next Header value of Hop-by-Hop Options. */
export const IPPROTO_HOPOPTS = 0;
/** Next Header value of the Routing header. */
export const IPPROTO_ROUTING = 43;
/** Next Header value of the Fragment header. */
export const IPPROTO_FRAGMENT = 44;
/** Next Header value of ESP. */
export const IPPROTO_ESP = 50;
/** Next Header value of AH. */
export const IPPROTO_AH = 51;
/** Next Header value meaning nothing follows. */
export const IPPROTO_NONE = 59;
/** Next Header value of Destination Options. */
export const IPPROTO_DSTOPTS = 60;

const FRAGMENT_HEADER_LENGTH = 8;
const ESP_HEADER_LENGTH = 8;
const ROUTING_TYPE_SOURCE_ROUTE = 0;
const ROUTING_TYPE_MOBILE_IPV6 = 2;
const ROUTING_TYPE_SEGMENT_ROUTING = 4;
const ROUTING_ADDRESSES_OFFSET = 8;
/** Routing header bytes after next header, length, routing type and segments left. */
const ROUTING_DATA_OFFSET = 4;
/** AH: the SPI follows next header, payload length and two reserved bytes. */
const AH_SPI_OFFSET = 4;
/** AH: the sequence number and integrity check value follow the SPI. */
const AH_DATA_OFFSET = 8;
const OPTION_PAD1 = 0;

const FIELDS: readonly FieldSpec[] = [
  ["version", 1, (v, o) => v.getUint8(o) >> 4],
  ["trafficClass", 2, (v, o) => (v.getUint16(o) >> 4) & 0xff],
  ["flowLabel", 4, (v, o) => v.getUint32(o) & 0xfffff],
  ["payloadLength", 6, (v, o) => v.getUint16(o + 4)],
  ["nextHeader", 7, (v, o) => v.getUint8(o + 6)],
  ["hopLimit", 8, (v, o) => v.getUint8(o + 7)],
  ["src", 24, (v, o) => ipv6Text(v, o + IPV6_OFFSET_SRC)],
  ["dst", 40, (v, o) => ipv6Text(v, o + IPV6_OFFSET_DST)],
];

/** Where the walk over an IPv6 header and its extensions ended. Reused between packets. */
export interface Ipv6Walk {
  /** Offset of the upper-layer header. */
  upperOffset: number;
  /** Protocol number of the upper layer, or -1 when it cannot be known (ESP, no next header). */
  upperProtocol: number;
  /** Offset of the destination address for upper-layer checksums (the final one when routed). */
  finalDstOffset: number;
  /** True when this packet is a non-first fragment: no upper-layer header follows. */
  laterFragment: boolean;
  /** True when an extension header is cut short by the capture. */
  truncated: boolean;
  /** Set when an extension header is malformed or lies beyond the payload length. */
  error: DecodeError | undefined;
}

/**
 * A fresh {@link Ipv6Walk} to pass to {@link decodeIpv6}.
 *
 * @example Make one walk and reuse it
 * ```ts
 * import { newIpv6Walk } from "./ipv6.ts";
 * import assert from "node:assert/strict";
 * assert.equal(newIpv6Walk().upperProtocol, -1);
 * ```
 */
export function newIpv6Walk(): Ipv6Walk {
  return {
    upperOffset: 0,
    upperProtocol: -1,
    finalDstOffset: 0,
    laterFragment: false,
    truncated: false,
    error: undefined,
  };
}

/** Options of a hop-by-hop or destination options header: type, full length and data. */
function tlvOptions(view: DataView, start: number, end: number): Ipv6Option[] {
  const options: Ipv6Option[] = [];
  let i = start;
  while (i < end) {
    const type = view.getUint8(i);
    if (type === OPTION_PAD1) {
      options.push({ type, length: 1 });
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const length = view.getUint8(i + 1) + 2;
    options.push({ type, length, data: hexBytes(view, i + 2, Math.min(i + length, end) - i - 2) });
    i += length;
  }
  return options;
}

function extensionName(nextHeader: number): Ipv6Extension["type"] | undefined {
  switch (nextHeader) {
    case IPPROTO_HOPOPTS:
      return "hopByHop";
    case IPPROTO_ROUTING:
      return "routing";
    case IPPROTO_FRAGMENT:
      return "fragment";
    case IPPROTO_DSTOPTS:
      return "destinationOptions";
    case IPPROTO_AH:
      return "ah";
    case IPPROTO_ESP:
      return "esp";
    default:
      return undefined;
  }
}

/**
 * Decodes an IPv6 header at `offset` and walks its extension headers. `end` is the end of the
 * captured bytes and `limit` the end of the frame on the wire; the payload is bounded by the
 * payload length. The walk's outcome (upper layer, truncation, malformed extension) goes into
 * `walk`. A header cut short gives a partial layer; a version other than 6 is a decode error.
 *
 * @example Decode a header with no extensions
 * ```ts
 * import { decodeIpv6, newIpv6Walk } from "./ipv6.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(40);
 * bytes[0] = 0x60; bytes[6] = 59; bytes[23] = 1; bytes[39] = 2;
 * const walk = newIpv6Walk();
 * const ip = decodeIpv6(new DataView(bytes.buffer), 0, 40, 40, walk);
 * assert.ok("dst" in ip && ip.dst === "::2" && walk.upperProtocol === -1);
 * ```
 */
export function decodeIpv6(
  view: DataView,
  offset: number,
  end: number,
  limit: number,
  walk: Ipv6Walk,
): Ipv6Layer | PartialLayer | DecodeError {
  walk.upperProtocol = -1;
  walk.laterFragment = false;
  walk.truncated = false;
  walk.error = undefined;
  const available = end - offset;
  if (available < 1) return partialLayer("ipv6", FIELDS, view, offset, 0);
  const version = view.getUint8(offset) >> 4;
  if (version !== 6) return decodeError("ipv6", `IP version ${version} is not 6`, offset);
  if (available < IPV6_HEADER_LENGTH) {
    walk.truncated = true;
    return partialLayer("ipv6", FIELDS, view, offset, available);
  }
  const payloadLength = view.getUint16(offset + 4);
  const nextHeader = view.getUint8(offset + 6);
  const layer: Ipv6Layer = {
    type: "ipv6",
    version,
    trafficClass: (view.getUint16(offset) >> 4) & 0xff,
    flowLabel: view.getUint32(offset) & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: view.getUint8(offset + 7),
    src: ipv6Text(view, offset + IPV6_OFFSET_SRC),
    dst: ipv6Text(view, offset + IPV6_OFFSET_DST),
    extensions: [],
  };
  walk.finalDstOffset = offset + IPV6_OFFSET_DST;
  const payloadEnd = Math.min(offset + IPV6_HEADER_LENGTH + payloadLength, limit);
  const capturedEnd = Math.min(payloadEnd, end);
  let position = offset + IPV6_HEADER_LENGTH;
  let next = nextHeader;
  for (let name = extensionName(next); name !== undefined; name = extensionName(next)) {
    const minimum = name === "esp" ? ESP_HEADER_LENGTH : 2;
    if (position + minimum > payloadEnd) {
      walk.error = decodeError(
        name,
        `extension header needs ${minimum} bytes but the payload length leaves ` +
          `${Math.max(0, payloadEnd - position)}`,
        position,
        minimum,
        Math.max(0, payloadEnd - position),
      );
      walk.upperOffset = position;
      return layer;
    }
    if (position + minimum > capturedEnd) {
      walk.truncated = true;
      walk.upperOffset = position;
      return layer;
    }
    if (name === "esp") {
      layer.extensions.push({
        type: name,
        length: payloadEnd - position,
        spi: view.getUint32(position),
      });
      walk.upperOffset = position;
      return layer;
    }
    const extNext = view.getUint8(position);
    const lengthField = view.getUint8(position + 1);
    const length = name === "fragment"
      ? FRAGMENT_HEADER_LENGTH
      : name === "ah"
      ? (lengthField + 2) * 4
      : (lengthField + 1) * 8;
    if (position + length > payloadEnd) {
      walk.error = decodeError(
        name,
        `extension header of ${length} bytes runs past the payload length`,
        position,
        length,
        payloadEnd - position,
      );
      walk.upperOffset = position;
      return layer;
    }
    if (position + length > capturedEnd) {
      layer.extensions.push({ type: name, nextHeader: extNext, length });
      walk.truncated = true;
      walk.upperOffset = position;
      return layer;
    }
    const extension: Ipv6Extension = { type: name, nextHeader: extNext, length };
    if (name === "routing") {
      const routingType = view.getUint8(position + 2);
      const segmentsLeft = view.getUint8(position + 3);
      extension.routingType = routingType;
      extension.segmentsLeft = segmentsLeft;
      extension.data = hexBytes(
        view,
        position + ROUTING_DATA_OFFSET,
        length - ROUTING_DATA_OFFSET,
      );
      if (segmentsLeft > 0 && length > ROUTING_ADDRESSES_OFFSET) {
        if (routingType === ROUTING_TYPE_SEGMENT_ROUTING) {
          walk.finalDstOffset = position + ROUTING_ADDRESSES_OFFSET;
        } else if (
          routingType === ROUTING_TYPE_SOURCE_ROUTE || routingType === ROUTING_TYPE_MOBILE_IPV6
        ) {
          walk.finalDstOffset = position + length - 16;
        }
      }
    } else if (name === "fragment") {
      const word = view.getUint16(position + 2);
      extension.offset = word & 0xfff8;
      extension.moreFragments = (word & 1) !== 0;
      extension.id = view.getUint32(position + 4);
      if (extension.offset > 0) walk.laterFragment = true;
    } else if (name === "ah") {
      extension.spi = view.getUint32(position + AH_SPI_OFFSET);
      extension.data = hexBytes(view, position + AH_DATA_OFFSET, length - AH_DATA_OFFSET);
    } else {
      extension.options = tlvOptions(view, position + 2, position + length);
    }
    layer.extensions.push(extension);
    position += length;
    next = extNext;
    if (walk.laterFragment) break;
  }
  walk.upperOffset = position;
  walk.upperProtocol = next === IPPROTO_NONE ? -1 : next;
  return layer;
}
