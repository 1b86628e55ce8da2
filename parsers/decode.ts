/**
 * The layer walk: from a link type through link, network and transport headers, into the records
 * that `--json` prints.
 *
 * @module
 */

import { decodeArp } from "./arp.ts";
import { formatTime, type RecordCursor } from "./capture_format.ts";
import { onesComplementSum } from "./checksum.ts";
import { decodeError } from "./decode_error.ts";
import {
  decodeEthernet,
  decodeVlan,
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_RARP,
  isVlanTpid,
  VLAN_TAG_LENGTH,
} from "./ethernet.ts";
import {
  decodeIcmp,
  decodeIcmpv6,
  ICMP_HEADER_LENGTH,
  ICMP_MIN_LENGTH,
  icmpQuotesPacket,
  icmpv6QuotesPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
} from "./icmp.ts";
import { decodeIpv4, IPV4_OFFSET_DST, IPV4_OFFSET_SRC } from "./ipv4.ts";
import {
  decodeIpv6,
  IPV6_HEADER_LENGTH,
  IPV6_OFFSET_SRC,
  type Ipv6Walk,
  newIpv6Walk,
} from "./ipv6.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
  linkTypeName,
} from "./link_type.ts";
import { BSD_AF_INET, BSD_AF_INET6, decodeLoopback, LOOPBACK_HEADER_LENGTH } from "./loopback.ts";
import { decodeSll, decodeSll2, SLL2_HEADER_LENGTH, SLL_HEADER_LENGTH } from "./sll.ts";
import { decodeTcp, IPPROTO_TCP, TCP_MIN_HEADER_LENGTH } from "./tcp.ts";
import type { DecodeError, Frame, Layer, PacketRecord, PartialLayer } from "./types.ts";
import { decodeUdp, IPPROTO_UDP, UDP_HEADER_LENGTH } from "./udp.ts";

const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
/** The limit of a quoted packet's layers: their own lengths, not the frame's, bound them. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** How to decode a frame. */
export interface DecodeOptions {
  /**
   * Verify the IPv4, TCP, UDP, ICMP and ICMPv6 checksums (default true). With false, every
   * `checksumValid` is `null` and no byte is summed: for callers that never read it, such as
   * one-line summaries, which tcpdump prints without checksums too.
   */
  checksums?: boolean;
}

/** The outcome of walking one frame's layers. */
export interface FrameDecode {
  layers: Layer[];
  truncated: boolean;
  error?: { layer: string; reason: string; offset: number };
}

/** State of one walk; `quoted` is set inside the packet an ICMP error quotes. */
interface Walk extends FrameDecode {
  view: DataView;
  start: number;
  quoted: boolean;
  ip6: Ipv6Walk;
  /** Whether checksums are verified. */
  checksums: boolean;
}

/** Reused between frames: the IPv6 walk holds no per-packet data once a frame is decoded. */
const sharedIpv6Walk = newIpv6Walk();

function fail(w: Walk, error: DecodeError): void {
  if (w.error === undefined) {
    w.error = { layer: error.layer, reason: error.reason, offset: error.offset - w.start };
  }
}

function cut(w: Walk): void {
  if (!w.quoted) w.truncated = true;
}

function pushPartial(w: Walk, layer: PartialLayer): void {
  w.layers.push(layer);
  cut(w);
}

function etherPayload(w: Walk, etherType: number, offset: number, end: number, limit: number) {
  let type = etherType;
  let position = offset;
  while (isVlanTpid(type)) {
    const tag = decodeVlan(w.view, position, end, type);
    if ("partial" in tag) return pushPartial(w, tag);
    w.layers.push(tag);
    type = tag.etherType;
    position += VLAN_TAG_LENGTH;
  }
  switch (type) {
    case ETHERTYPE_IPV4:
      return ipv4(w, position, end, limit);
    case ETHERTYPE_IPV6:
      return ipv6(w, position, end, limit);
    case ETHERTYPE_ARP:
    case ETHERTYPE_RARP: {
      const arp = decodeArp(w.view, position, end);
      if ("partial" in arp) return pushPartial(w, arp);
      w.layers.push(arp);
    }
  }
}

function ipv4(w: Walk, offset: number, end: number, limit: number): void {
  const ip = decodeIpv4(w.view, offset, end, w.checksums);
  if (ip.type === "error") {
    if (ip.partial !== undefined) w.layers.push(ip.partial);
    return fail(w, ip);
  }
  if ("partial" in ip) return pushPartial(w, ip);
  w.layers.push(ip);
  const headerEnd = offset + ip.headerLength;
  let ipLimit: number;
  if (ip.totalLength === 0) {
    ipLimit = limit; // TCP segmentation offload: the kernel leaves the length to the NIC
  } else if (ip.totalLength < ip.headerLength) {
    return fail(
      w,
      decodeError(
        "ipv4",
        `total length ${ip.totalLength} is below the header length ${ip.headerLength}`,
        offset,
      ),
    );
  } else {
    ipLimit = Math.min(offset + ip.totalLength, limit);
  }
  if (ipLimit > end || offset + ip.totalLength > limit) cut(w);
  if (headerEnd > end || ip.fragmentOffset > 0) return;
  const addressSum = w.checksums
    ? onesComplementSum(w.view, offset + IPV4_OFFSET_SRC, offset + IPV4_OFFSET_DST + 4)
    : 0;
  transport(
    w,
    ip.protocol,
    headerEnd,
    Math.min(end, ipLimit),
    ipLimit,
    addressSum,
    ip.moreFragments,
  );
}

function ipv6(w: Walk, offset: number, end: number, limit: number): void {
  const walk = w.ip6;
  const ip = decodeIpv6(w.view, offset, end, limit, walk);
  if (ip.type === "error") return fail(w, ip);
  if ("partial" in ip) return pushPartial(w, ip);
  w.layers.push(ip);
  const payloadEnd = offset + IPV6_HEADER_LENGTH + ip.payloadLength;
  const ipLimit = Math.min(payloadEnd, limit);
  if (ipLimit > end || payloadEnd > limit) cut(w);
  if (walk.error !== undefined) return fail(w, walk.error);
  if (walk.truncated) return cut(w);
  if (walk.laterFragment || walk.upperProtocol < 0) return;
  const addressSum = w.checksums
    ? onesComplementSum(w.view, offset + IPV6_OFFSET_SRC, offset + IPV6_OFFSET_SRC + 16) +
      onesComplementSum(w.view, walk.finalDstOffset, walk.finalDstOffset + 16)
    : 0;
  let fragment = false;
  for (const extension of ip.extensions) fragment ||= extension.type === "fragment";
  transport(
    w,
    walk.upperProtocol,
    walk.upperOffset,
    Math.min(end, ipLimit),
    ipLimit,
    addressSum,
    fragment,
  );
}

function tooShort(w: Walk, layer: string, offset: number, limit: number, minimum: number): boolean {
  if (limit - offset >= minimum) return false;
  fail(
    w,
    decodeError(
      layer,
      `the IP length leaves ${Math.max(0, limit - offset)} bytes, less than the ${minimum}-byte ` +
        "header",
      offset,
      minimum,
      Math.max(0, limit - offset),
    ),
  );
  return true;
}

function transport(
  w: Walk,
  protocol: number,
  offset: number,
  end: number,
  limit: number,
  addressSum: number,
  firstFragment: boolean,
): void {
  const view = w.view;
  const overIpv6 = w.layers[w.layers.length - 1]!.type === "ipv6";
  switch (protocol) {
    case IPPROTO_TCP: {
      if (tooShort(w, "tcp", offset, limit, TCP_MIN_HEADER_LENGTH)) return;
      const tcp = decodeTcp(view, offset, end, limit, addressSum, w.checksums);
      if (tcp.type === "error") {
        if (tcp.partial !== undefined) w.layers.push(tcp.partial);
        return fail(w, tcp);
      }
      if ("partial" in tcp) return pushPartial(w, tcp);
      w.layers.push(tcp);
      if (offset + tcp.headerLength > limit && !firstFragment) {
        fail(
          w,
          decodeError(
            "tcp",
            `header length ${tcp.headerLength} runs past the ${limit - offset}-byte segment`,
            offset,
            tcp.headerLength,
            limit - offset,
          ),
        );
      }
      return;
    }
    case IPPROTO_UDP: {
      if (tooShort(w, "udp", offset, limit, UDP_HEADER_LENGTH)) return;
      const udp = decodeUdp(view, offset, end, limit, addressSum, overIpv6, w.checksums);
      if ("partial" in udp) return pushPartial(w, udp);
      w.layers.push(udp);
      if (udp.length < UDP_HEADER_LENGTH) {
        fail(w, decodeError("udp", `length ${udp.length} is below the 8-byte header`, offset));
      } else if (offset + udp.length > limit && !firstFragment) {
        fail(
          w,
          decodeError(
            "udp",
            `length ${udp.length} runs past the ${limit - offset} bytes the IP length leaves`,
            offset,
            udp.length,
            limit - offset,
          ),
        );
      }
      return;
    }
    case IPPROTO_ICMP: {
      if (tooShort(w, "icmp", offset, limit, ICMP_MIN_LENGTH)) return;
      const icmp = decodeIcmp(view, offset, end, limit, w.checksums);
      if ("partial" in icmp) return pushPartial(w, icmp);
      w.layers.push(icmp);
      if (!w.quoted && icmpQuotesPacket(icmp.messageType) && end > offset + ICMP_HEADER_LENGTH) {
        w.quoted = true;
        ipv4(w, offset + ICMP_HEADER_LENGTH, end, UNBOUNDED);
        w.quoted = false;
      }
      return;
    }
    case IPPROTO_ICMPV6: {
      if (tooShort(w, "icmpv6", offset, limit, ICMP_MIN_LENGTH)) return;
      const icmp = decodeIcmpv6(view, offset, end, limit, addressSum, w.checksums);
      if ("partial" in icmp) return pushPartial(w, icmp);
      w.layers.push(icmp);
      if (!w.quoted && icmpv6QuotesPacket(icmp.messageType) && end > offset + ICMP_HEADER_LENGTH) {
        w.quoted = true;
        ipv6(w, offset + ICMP_HEADER_LENGTH, end, UNBOUNDED);
        w.quoted = false;
      }
      return;
    }
    case IPPROTO_IPIP:
      return ipv4(w, offset, end, limit);
    case IPPROTO_IPV6:
      return ipv6(w, offset, end, limit);
  }
}

/** Raw IP: the version nibble picks the decoder; `expected` (4 or 6, 0 for either) is the link's. */
function rawIp(w: Walk, offset: number, end: number, limit: number, expected: number): void {
  if (end - offset < 1) return cut(w);
  const version = w.view.getUint8(offset) >> 4;
  if (version === 4) ipv4(w, offset, end, limit);
  else if (version === 6) ipv6(w, offset, end, limit);
  else {
    return fail(w, decodeError("ip", `IP version ${version} is neither 4 nor 6`, offset));
  }
  if (expected !== 0 && version !== expected && w.error === undefined) {
    fail(
      w,
      decodeError(
        "link",
        `link type ${linkTypeName(expected === 4 ? LINKTYPE_IPV4 : LINKTYPE_IPV6)} carries an ` +
          `IPv${version} packet; decoded as IPv${version}`,
        offset,
      ),
    );
  }
}

/**
 * Walks the layers of one frame held in `view` at `[start, start + captured)`, of `length` bytes
 * on the wire. A DataView over a whole buffer of frames serves every frame in it. `options` may
 * leave checksums unverified.
 *
 * @example Decode a raw IPv4 header with nothing after it
 * ```ts
 * import { decodeFrame } from "./decode.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 59, 0, 0, 10, 0, 0, 1,
 *   10, 0, 0, 2]);
 * const result = decodeFrame(new DataView(bytes.buffer), 0, 20, 20, 101);
 * assert.ok(result.layers[0]?.type === "ipv4" && !result.truncated);
 * ```
 */
export function decodeFrame(
  view: DataView,
  start: number,
  captured: number,
  length: number,
  linkType: number,
  options?: DecodeOptions,
): FrameDecode {
  const w: Walk = {
    layers: [],
    truncated: false,
    error: undefined,
    view,
    start,
    quoted: false,
    ip6: sharedIpv6Walk,
    checksums: options?.checksums ?? true,
  };
  const end = start + captured;
  const limit = start + Math.max(length, captured);
  if (captured < length) w.truncated = true;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      const eth = decodeEthernet(view, start, end);
      if ("partial" in eth) {
        pushPartial(w, eth);
        break;
      }
      w.layers.push(eth);
      etherPayload(w, eth.etherType, start + ETHERNET_HEADER_LENGTH, end, limit);
      break;
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      const loop = decodeLoopback(view, start, end, linkType === LINKTYPE_NULL);
      if ("partial" in loop) {
        pushPartial(w, loop);
        break;
      }
      w.layers.push(loop);
      const offset = start + LOOPBACK_HEADER_LENGTH;
      if (loop.family === BSD_AF_INET) ipv4(w, offset, end, limit);
      else if (BSD_AF_INET6.has(loop.family)) ipv6(w, offset, end, limit);
      break;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
      rawIp(w, start, end, limit, 0);
      break;
    case LINKTYPE_IPV4:
      rawIp(w, start, end, limit, 4);
      break;
    case LINKTYPE_IPV6:
      rawIp(w, start, end, limit, 6);
      break;
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_LINUX_SLL2: {
      const v2 = linkType === LINKTYPE_LINUX_SLL2;
      const sll = v2 ? decodeSll2(view, start, end) : decodeSll(view, start, end);
      if ("partial" in sll) {
        pushPartial(w, sll);
        break;
      }
      w.layers.push(sll);
      etherPayload(
        w,
        sll.protocol,
        start + (v2 ? SLL2_HEADER_LENGTH : SLL_HEADER_LENGTH),
        end,
        limit,
      );
      break;
    }
    default:
      fail(w, decodeError("link", `link type ${linkType} is not supported`, start));
  }
  const result: FrameDecode = { layers: w.layers, truncated: w.truncated };
  if (w.error !== undefined) result.error = w.error;
  return result;
}

/**
 * Decodes one frame's bytes into the record `--json` prints. `frame` supplies what the bytes
 * cannot: number, time, length on the wire (default: the captured length) and interface.
 * `options` may leave checksums unverified. No input makes it throw.
 *
 * @example Decode an Ethernet frame carrying ARP
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * import assert from "node:assert/strict";
 * const frame = new Uint8Array(42);
 * frame.fill(0xff, 0, 6);
 * frame.set([0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 12);
 * const pkt = decodePacket(frame, 1, { number: 7 });
 * assert.ok(pkt.frame.number === 7 && pkt.layers[1]?.type === "arp");
 * ```
 */
export function decodePacket(
  data: Uint8Array,
  linkType: number,
  frame?: Partial<Omit<Frame, "captured" | "linkType">>,
  options?: DecodeOptions,
): PacketRecord {
  const info: Frame = {
    number: frame?.number ?? 1,
    time: frame?.time ?? "0.000000",
    length: frame?.length ?? data.length,
    captured: data.length,
    linkType,
  };
  if (frame?.interface !== undefined) info.interface = frame.interface;
  return decodeAt(new DataView(data.buffer, data.byteOffset, data.byteLength), 0, info, options);
}

/**
 * Decodes the frame at `start` in `view` into the record `--json` prints, with `frame` as its
 * frame facts (their `captured`, `length` and `linkType` say what to decode); `options` may leave
 * checksums unverified. The one place a {@link PacketRecord} is put together, for files, cursors
 * and live capture alike.
 *
 * @example Decode the second of two frames in one buffer
 * ```ts
 * import { decodeAt } from "./decode.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array(120).buffer);
 * const pkt = decodeAt(view, 60, { number: 2, time: "0.000000", length: 60, captured: 60, linkType: 1 });
 * assert.equal(pkt.layers[0]?.type, "ethernet");
 * ```
 */
export function decodeAt(
  view: DataView,
  start: number,
  frame: Frame,
  options?: DecodeOptions,
): PacketRecord {
  const decoded = decodeFrame(view, start, frame.captured, frame.length, frame.linkType, options);
  const record: PacketRecord = { frame, layers: decoded.layers, truncated: decoded.truncated };
  if (decoded.error !== undefined) record.error = decoded.error;
  return record;
}

/**
 * Bytes of link-layer header before the network layer (or before layer `end`), as `tcpdump -x`
 * skips them: Ethernet and its VLAN tags, SLL, SLL2, or the loopback family.
 *
 * @example Ethernet with one VLAN tag
 * ```ts
 * import { linkHeaderLength } from "./decode.ts";
 * import type { Layer } from "./types.ts";
 * import assert from "node:assert/strict";
 * const layers = [{ type: "ethernet" }, { type: "vlan" }, { type: "ipv4" }] as Layer[];
 * assert.equal(linkHeaderLength(layers), 18);
 * ```
 */
export function linkHeaderLength(layers: readonly Layer[], end: number = layers.length): number {
  let length = 0;
  for (let i = 0; i < end; i++) {
    switch (layers[i]!.type) {
      case "ethernet":
        length += ETHERNET_HEADER_LENGTH;
        break;
      case "vlan":
        length += VLAN_TAG_LENGTH;
        break;
      case "sll":
        length += SLL_HEADER_LENGTH;
        break;
      case "sll2":
        length += SLL2_HEADER_LENGTH;
        break;
      case "loopback":
        length += LOOPBACK_HEADER_LENGTH;
        break;
      default:
        return length;
    }
  }
  return length;
}

/**
 * Decodes the record a parser's cursor points at as frame `number`, in place: no copy of its
 * bytes and no DataView of its own. The record carries no `data`. `options` may leave checksums
 * unverified.
 *
 * @example Decode every record of a parser
 * ```ts
 * import { decodeCursor } from "./decode.ts";
 * import { CaptureParser } from "./capture_format.ts";
 * import { pcapFileHeader, pcapRecordHeader } from "./pcap_write.ts";
 * import assert from "node:assert/strict";
 * const parser = new CaptureParser();
 * parser.push(pcapFileHeader(101, 65535, false));
 * parser.push(pcapRecordHeader(1700000000, 0, 1, 1));
 * parser.push(new Uint8Array([0x45]));
 * let number = 0;
 * while (parser.advance()) assert.ok(decodeCursor(parser.cursor, ++number).truncated);
 * ```
 */
export function decodeCursor(
  cursor: RecordCursor,
  number: number,
  options?: DecodeOptions,
): PacketRecord {
  const frame: Frame = {
    number,
    time: formatTime(cursor.seconds, cursor.nanos, cursor.digits),
    length: cursor.length,
    captured: cursor.captured,
    linkType: cursor.linkType,
  };
  if (cursor.interface >= 0) frame.interface = cursor.interface;
  return decodeAt(cursor.view, cursor.offset, frame, options);
}
