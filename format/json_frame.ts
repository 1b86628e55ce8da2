/**
 * `--json` lines written straight from a frame's bytes, with no record in between, for the
 * packets most traffic is made of. JSON.stringify spends 35-75 ns on each value of a record here,
 * and a TCP record has about 60 of them. Measured on one thread over the benchmark's diverse
 * capture, printing a frame this way takes 1.5-1.6 µs against 1.9-2.1 µs for decoding it and
 * stringifying the record (README.md, Benchmarks).
 *
 * The frames written here are Ethernet frames, whole (captured as long as on the wire), carrying
 * ARP or RARP for IPv4 over Ethernet, or IPv4 without options or IPv6 without extension headers,
 * unfragmented, whose lengths agree, carrying TCP, UDP, or an ICMP or ICMPv6 echo.
 * {@linkcode writeJsonFrame} writes nothing for any other frame and leaves it to the decoders. For
 * a frame it writes, the text is byte for byte the `JSON.stringify` of the decoders' record:
 * tests/json_frame_test.ts holds the two side by side on every recorded fixture and on thousands
 * of corrupted copies of them.
 *
 * @module
 */

import { IPV4_ADDRESS_LENGTH, ipv6Text, MAC_LENGTH } from "../parsers/address.ts";
import type { RecordCursor } from "../parsers/capture_format.ts";
import { checksumVerifies, onesComplementSum } from "../parsers/checksum.ts";
import { ARP_FIXED_LENGTH } from "../parsers/arp.ts";
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_RARP,
} from "../parsers/ethernet.ts";
import { IPPROTO_ICMPV6 } from "../parsers/icmp.ts";
import { IPV4_OFFSET_DST, IPV4_OFFSET_SRC } from "../parsers/ipv4.ts";
import { IPV6_OFFSET_DST, IPV6_OFFSET_SRC } from "../parsers/ipv6.ts";
import {
  IPPROTO_TCP,
  MSS_LENGTH,
  SACK_BLOCK_LENGTH,
  SACK_PERMITTED_LENGTH,
  TCP_MIN_HEADER_LENGTH,
  TCP_OPTION_MSS,
  TCP_OPTION_NOP,
  TCP_OPTION_SACK,
  TCP_OPTION_SACK_PERMITTED,
  TCP_OPTION_TIMESTAMP,
  TCP_OPTION_WINDOW_SCALE,
  TIMESTAMP_LENGTH,
  WINDOW_SCALE_LENGTH,
} from "../parsers/tcp.ts";
import { IPPROTO_UDP } from "../parsers/udp.ts";
import { type AsciiBuffer, COMMA } from "./ascii.ts";
import {
  ETHERNET_OFFSET_SRC,
  ETHERNET_OFFSET_TYPE,
  ethernetPayload,
  type IpFrame,
  ipFrame,
  OPTION_HEAD_LENGTH,
  Piece,
  put,
  putHex,
  putIpv4,
  putMac,
  putNumber,
  putSmall,
  putText,
  putTime,
  reserve,
  target,
} from "./frame_text.ts";

// ---- Where the fields are ------------------------------------------------------------------

/** ARP's fixed part, then sender and target addresses of Ethernet and IPv4. */
const ARP_ETHERNET_IPV4_LENGTH = ARP_FIXED_LENGTH + 2 * (MAC_LENGTH + IPV4_ADDRESS_LENGTH);
/** The reserved and don't-fragment flags are the top two bits of IPv4's flags byte. */
const IPV4_FLAGS_SHIFT = 6;
const TCP_FLAGS_MASK = 0x0fff;

// ---- The text around the values --------------------------------------------------------------
// Text between two values is one piece, and so is a value of a byte or a flag together with the
// text around it: copying a piece costs more per piece than per byte.

/** A piece for each value of a byte, made by `text`. */
function piecesByByte(text: (byte: number) => string): Piece[] {
  return Array.from({ length: 256 }, (_, byte) => new Piece(text(byte)));
}

/** What opens a transport layer of `protocol` (TCP, UDP, ICMP or ICMPv6), up to its first value. */
function transportStart(protocol: number): string {
  switch (protocol) {
    case IPPROTO_TCP:
      return '{"type":"tcp","srcPort":';
    case IPPROTO_UDP:
      return '{"type":"udp","srcPort":';
    case IPPROTO_ICMPV6:
      return '{"type":"icmpv6","messageType":';
    default:
      return '{"type":"icmp","messageType":';
  }
}

const RECORD_END = '],"truncated":false}';
const FRAME_NUMBER = new Piece('{"frame":{"number":');
const FRAME_TIME = new Piece(',"time":"');
const FRAME_LENGTH = new Piece('","length":');
const FRAME_CAPTURED = new Piece(',"captured":');
const ETHERNET_START = '},"layers":[{"type":"ethernet","src":"';
/** The link type and the start of the Ethernet layer, of a frame with no interface. */
const FRAME_LINK_TYPE_ETHERNET_SRC = new Piece(',"linkType":1' + ETHERNET_START);
const FRAME_LINK_TYPE_INTERFACE = new Piece(',"linkType":1,"interface":');
const ETHERNET_SRC = new Piece(ETHERNET_START);
const ETHERNET_DST = new Piece('","dst":"');
const ETHERNET_ETHER_TYPE = new Piece('","etherType":');
const ARP_HARDWARE_TYPE = new Piece('},{"type":"arp","hardwareType":');
const ARP_PROTOCOL_TYPE = new Piece(',"protocolType":');
const ARP_OPCODE = new Piece(',"hardwareSize":6,"protocolSize":4,"opcode":');
const ARP_SENDER_MAC = new Piece(',"senderMac":"');
const ARP_SENDER_IP = new Piece('","senderIp":"');
const ARP_TARGET_MAC = new Piece('","targetMac":"');
const ARP_TARGET_IP = new Piece('","targetIp":"');
const ARP_END = new Piece('"}' + RECORD_END);
/** From the end of the Ethernet layer to IPv4's total length, for each value of the TOS byte. */
const IPV4_START_BY_TOS = piecesByByte((tos) =>
  '","etherType":2048},{"type":"ipv4","version":4,"headerLength":20,' +
  `"dscp":${tos >> 2},"ecn":${tos & 3},"totalLength":`
);
const IPV4_ID = new Piece(',"id":');
/** From the reserved flag to the TTL, for each value of the reserved and don't-fragment flags. */
const IPV4_FLAGS_TTL = [0, 1, 2, 3].map((bits) =>
  new Piece(
    `,"reservedFlag":${(bits & 2) !== 0},"dontFragment":${(bits & 1) !== 0}` +
      ',"moreFragments":false,"fragmentOffset":0,"ttl":',
  )
);
const IPV4_PROTOCOL_CHECKSUM = piecesByByte((protocol) => `,"protocol":${protocol},"checksum":`);
const IPV4_VALID_SRC = new Piece(',"checksumValid":true,"src":"');
const IPV4_INVALID_SRC = new Piece(',"checksumValid":false,"src":"');
const IP_SRC = new Piece(',"src":"');
const IP_DST = new Piece('","dst":"');
/** The end of the IPv4 layer and the start of the next, for each protocol. */
const IPV4_END_BY_PROTOCOL = piecesByByte((protocol) =>
  '","options":[]},' + transportStart(protocol)
);
const IPV6_START = new Piece('","etherType":34525},{"type":"ipv6","version":6,"trafficClass":');
const IPV6_FLOW_LABEL = new Piece(',"flowLabel":');
const IPV6_PAYLOAD_LENGTH = new Piece(',"payloadLength":');
const IPV6_NEXT_HEADER_HOP_LIMIT = piecesByByte((next) => `,"nextHeader":${next},"hopLimit":`);
/** The end of the IPv6 layer and the start of the next, for each protocol. */
const IPV6_END_BY_PROTOCOL = piecesByByte((protocol) =>
  '","extensions":[]},' + transportStart(protocol)
);
const DST_PORT = new Piece(',"dstPort":');
const CHECKSUM = new Piece(',"checksum":');
const UDP_LENGTH = new Piece(',"length":');
const UDP_VALID_END = new Piece(',"checksumValid":true}' + RECORD_END);
const UDP_INVALID_END = new Piece(',"checksumValid":false}' + RECORD_END);
const UDP_NO_CHECKSUM_END = new Piece(',"checksumValid":null}' + RECORD_END);
const TCP_SEQ = new Piece(',"seq":');
const TCP_ACK = new Piece(',"ack":');
const TCP_HEADER_LENGTH = new Piece(',"headerLength":');
const TCP_FLAGS = new Piece(',"flags":');
const TCP_WINDOW = new Piece(',"window":');
const TCP_VALID_URGENT = new Piece(',"checksumValid":true,"urgentPointer":');
const TCP_INVALID_URGENT = new Piece(',"checksumValid":false,"urgentPointer":');
const TCP_PAYLOAD_LENGTH = new Piece(',"payloadLength":');
const TCP_OPTIONS = new Piece(',"options":[');
const TCP_END = new Piece("]}" + RECORD_END);
const OPTION_KIND = new Piece('{"kind":');
const OPTION_LENGTH = new Piece(',"length":');
const OPTION_MSS = new Piece('{"kind":2,"length":4,"mss":');
const OPTION_SHIFT = new Piece('{"kind":3,"length":3,"shift":');
const OPTION_SACK_PERMITTED = new Piece('{"kind":4,"length":2}');
const OPTION_TSVAL = new Piece('{"kind":8,"length":10,"tsval":');
const OPTION_TSECR = new Piece(',"tsecr":');
const OPTION_BLOCKS = new Piece(',"blocks":[');
const OPTION_DATA = new Piece(',"data":"');
const ICMP_CODE = new Piece(',"code":');
const ICMP_VALID_ID = new Piece(',"checksumValid":true,"id":');
const ICMP_INVALID_ID = new Piece(',"checksumValid":false,"id":');
const ICMP_SEQ = new Piece(',"seq":');
const ICMP_END = new Piece("}" + RECORD_END);
const CLOSE = new Piece("}");
const CLOSE_QUOTE = new Piece('"}');
const CLOSE_ARRAY = new Piece("]}");
const BLOCK_OPEN = new Piece("[");
const BLOCK_CLOSE = new Piece("]");

// ---- Layers ----------------------------------------------------------------------------------

/** The TCP options in `[start, end)`, then the end of the record. */
function putTcpOptions(at: number, view: DataView, start: number, end: number): number {
  let i = put(at, TCP_OPTIONS);
  let position = start;
  while (position < end) {
    if (position > start) target[i++] = COMMA;
    const kind = view.getUint8(position);
    if (kind <= TCP_OPTION_NOP) {
      i = putSmall(put(i, OPTION_KIND), kind);
      i = put(i, CLOSE);
      position++;
      continue;
    }
    const length = view.getUint8(position + 1);
    if (kind === TCP_OPTION_MSS && length === MSS_LENGTH) {
      i = put(putNumber(put(i, OPTION_MSS), view.getUint16(position + 2)), CLOSE);
    } else if (kind === TCP_OPTION_WINDOW_SCALE && length === WINDOW_SCALE_LENGTH) {
      i = put(putSmall(put(i, OPTION_SHIFT), view.getUint8(position + 2)), CLOSE);
    } else if (kind === TCP_OPTION_SACK_PERMITTED && length === SACK_PERMITTED_LENGTH) {
      i = put(i, OPTION_SACK_PERMITTED);
    } else if (kind === TCP_OPTION_TIMESTAMP && length === TIMESTAMP_LENGTH) {
      i = putNumber(put(i, OPTION_TSVAL), view.getUint32(position + 2));
      i = put(putNumber(put(i, OPTION_TSECR), view.getUint32(position + 6)), CLOSE);
    } else {
      i = putSmall(put(i, OPTION_KIND), kind);
      i = putSmall(put(i, OPTION_LENGTH), length);
      const data = length - OPTION_HEAD_LENGTH;
      if (kind === TCP_OPTION_SACK && data % SACK_BLOCK_LENGTH === 0) {
        i = put(i, OPTION_BLOCKS);
        for (let b = position + OPTION_HEAD_LENGTH; b < position + length; b += SACK_BLOCK_LENGTH) {
          if (b > position + OPTION_HEAD_LENGTH) target[i++] = COMMA;
          i = putNumber(put(i, BLOCK_OPEN), view.getUint32(b));
          target[i++] = COMMA;
          i = put(putNumber(i, view.getUint32(b + 4)), BLOCK_CLOSE);
        }
        i = put(i, CLOSE_ARRAY);
      } else {
        i = putHex(put(i, OPTION_DATA), view, position + OPTION_HEAD_LENGTH, data);
        i = put(i, CLOSE_QUOTE);
      }
    }
    position += length;
  }
  return put(i, TCP_END);
}

/**
 * A TCP header at `offset`, after its layer's start, to the end of the record; its segment ends
 * at `end`, and `addressSum` is as for the pseudo header.
 */
function putTcp(
  at: number,
  view: DataView,
  offset: number,
  end: number,
  addressSum: number,
): number {
  const segment = end - offset;
  const headerLength = (view.getUint8(offset + 12) >> 4) * 4;
  let i = putNumber(at, view.getUint16(offset));
  i = putNumber(put(i, DST_PORT), view.getUint16(offset + 2));
  i = putNumber(put(i, TCP_SEQ), view.getUint32(offset + 4));
  i = putNumber(put(i, TCP_ACK), view.getUint32(offset + 8));
  i = putSmall(put(i, TCP_HEADER_LENGTH), headerLength);
  i = putNumber(put(i, TCP_FLAGS), view.getUint16(offset + 12) & TCP_FLAGS_MASK);
  i = putNumber(put(i, TCP_WINDOW), view.getUint16(offset + 14));
  i = putNumber(put(i, CHECKSUM), view.getUint16(offset + 16));
  const sum = onesComplementSum(view, offset, end, addressSum) + IPPROTO_TCP + segment;
  i = put(i, checksumVerifies(sum) ? TCP_VALID_URGENT : TCP_INVALID_URGENT);
  i = putNumber(i, view.getUint16(offset + 18));
  i = putNumber(put(i, TCP_PAYLOAD_LENGTH), segment - headerLength);
  return putTcpOptions(i, view, offset + TCP_MIN_HEADER_LENGTH, offset + headerLength);
}

/**
 * A UDP header at `offset`, after its layer's start, to the end of the record; `addressSum` is as
 * for the pseudo header.
 */
function putUdp(
  at: number,
  view: DataView,
  offset: number,
  addressSum: number,
  overIpv6: boolean,
): number {
  const length = view.getUint16(offset + 4);
  const checksum = view.getUint16(offset + 6);
  let i = putNumber(at, view.getUint16(offset));
  i = putNumber(put(i, DST_PORT), view.getUint16(offset + 2));
  i = putNumber(put(i, UDP_LENGTH), length);
  i = putNumber(put(i, CHECKSUM), checksum);
  // No checksum: allowed over IPv4, not over IPv6.
  if (checksum === 0) return put(i, overIpv6 ? UDP_INVALID_END : UDP_NO_CHECKSUM_END);
  const sum = onesComplementSum(view, offset, offset + length, addressSum) + IPPROTO_UDP + length;
  return put(i, checksumVerifies(sum) ? UDP_VALID_END : UDP_INVALID_END);
}

/**
 * An ICMP or ICMPv6 echo (or ICMP timestamp) header at `offset`, after its layer's start, to the
 * end of the record; its message ends at `end`, and `addressSum` is as for ICMPv6's pseudo header.
 */
function putIcmpEcho(
  at: number,
  view: DataView,
  protocol: number,
  offset: number,
  end: number,
  addressSum: number,
): number {
  const v6 = protocol === IPPROTO_ICMPV6;
  let i = putSmall(at, view.getUint8(offset));
  i = putSmall(put(i, ICMP_CODE), view.getUint8(offset + 1));
  i = putNumber(put(i, CHECKSUM), view.getUint16(offset + 2));
  const sum = v6
    ? onesComplementSum(view, offset, end, addressSum) + IPPROTO_ICMPV6 + (end - offset)
    : onesComplementSum(view, offset, end);
  i = putNumber(
    put(i, checksumVerifies(sum) ? ICMP_VALID_ID : ICMP_INVALID_ID),
    view.getUint16(offset + 4),
  );
  i = putNumber(put(i, ICMP_SEQ), view.getUint16(offset + 6));
  return put(i, ICMP_END);
}

/** The frame's facts, then the Ethernet header at `start`, up to its last value. */
function putFrameAndEthernet(at: number, cursor: RecordCursor, number: number): number {
  const view = cursor.view;
  const start = cursor.offset;
  let i = putNumber(put(at, FRAME_NUMBER), number);
  i = putTime(put(i, FRAME_TIME), cursor.seconds, cursor.nanos, cursor.digits);
  i = putNumber(put(i, FRAME_LENGTH), cursor.length);
  i = putNumber(put(i, FRAME_CAPTURED), cursor.captured);
  if (cursor.interface < 0) i = put(i, FRAME_LINK_TYPE_ETHERNET_SRC);
  else i = put(putNumber(put(i, FRAME_LINK_TYPE_INTERFACE), cursor.interface), ETHERNET_SRC);
  i = putMac(i, view, start + ETHERNET_OFFSET_SRC);
  return putMac(put(i, ETHERNET_DST), view, start);
}

/**
 * The end of the Ethernet layer (EtherType `etherType`), then an ARP packet at `arp` for IPv4
 * over Ethernet, and the end of the record.
 */
function putArp(at: number, view: DataView, etherType: number, arp: number): number {
  let i = putNumber(put(at, ETHERNET_ETHER_TYPE), etherType);
  i = putNumber(put(i, ARP_HARDWARE_TYPE), view.getUint16(arp));
  i = putNumber(put(i, ARP_PROTOCOL_TYPE), view.getUint16(arp + 2));
  i = putNumber(put(i, ARP_OPCODE), view.getUint16(arp + 6));
  const senderIp = arp + ARP_FIXED_LENGTH + MAC_LENGTH;
  const targetMac = senderIp + IPV4_ADDRESS_LENGTH;
  i = putMac(put(i, ARP_SENDER_MAC), view, arp + ARP_FIXED_LENGTH);
  i = putIpv4(put(i, ARP_SENDER_IP), view, senderIp);
  i = putMac(put(i, ARP_TARGET_MAC), view, targetMac);
  i = putIpv4(put(i, ARP_TARGET_IP), view, targetMac + MAC_LENGTH);
  return put(i, ARP_END);
}

/**
 * An IPv4 header without options at `ip`, from the end of the Ethernet layer to the start of the
 * next layer's first value; `addressSum` is the sum of its addresses.
 */
function putIpv4Header(at: number, view: DataView, ip: number, addressSum: number): number {
  const protocol = view.getUint8(ip + 9);
  let i = putNumber(put(at, IPV4_START_BY_TOS[view.getUint8(ip + 1)]!), view.getUint16(ip + 2));
  i = putNumber(put(i, IPV4_ID), view.getUint16(ip + 4));
  i = putSmall(
    put(i, IPV4_FLAGS_TTL[view.getUint8(ip + 6) >> IPV4_FLAGS_SHIFT]!),
    view.getUint8(ip + 8),
  );
  i = putNumber(put(i, IPV4_PROTOCOL_CHECKSUM[protocol]!), view.getUint16(ip + 10));
  const headerSum = onesComplementSum(view, ip, ip + IPV4_OFFSET_SRC, addressSum);
  i = put(i, checksumVerifies(headerSum) ? IPV4_VALID_SRC : IPV4_INVALID_SRC);
  i = putIpv4(i, view, ip + IPV4_OFFSET_SRC);
  i = putIpv4(put(i, IP_DST), view, ip + IPV4_OFFSET_DST);
  return put(i, IPV4_END_BY_PROTOCOL[protocol]!);
}

/**
 * An IPv6 header without extension headers at `ip`, from the end of the Ethernet layer to the
 * start of the next layer's first value.
 */
function putIpv6Header(at: number, view: DataView, ip: number): number {
  const first = view.getUint32(ip);
  const next = view.getUint8(ip + 6);
  let i = putSmall(put(at, IPV6_START), (first >>> 20) & 0xff);
  i = putSmall(put(i, IPV6_FLOW_LABEL), first & 0xfffff);
  i = putNumber(put(i, IPV6_PAYLOAD_LENGTH), view.getUint16(ip + 4));
  i = putSmall(put(i, IPV6_NEXT_HEADER_HOP_LIMIT[next]!), view.getUint8(ip + 7));
  i = putText(put(i, IP_SRC), ipv6Text(view, ip + IPV6_OFFSET_SRC));
  i = putText(put(i, IP_DST), ipv6Text(view, ip + IPV6_OFFSET_DST));
  return put(i, IPV6_END_BY_PROTOCOL[next]!);
}

/** Where the layers of the frame being written are. */
const shape: IpFrame = { etherType: 0, ip: 0, protocol: 0, payload: 0, payloadEnd: 0 };

/**
 * Writes the `--json` line (without its line break) of the record under `cursor`, as frame
 * `number`, straight from its bytes, and returns true; or, for a frame of any other kind than
 * those this module writes (see above), writes nothing and returns false. The text is that of
 * `JSON.stringify(decodeCursor(cursor, number))`.
 *
 * @example A UDP datagram, and an ARP frame left to the decoders
 * ```ts
 * import { writeJsonFrame } from "./json_frame.ts";
 * import { AsciiBuffer } from "./ascii.ts";
 * import { decodeCursor } from "../parsers/decode.ts";
 * import type { RecordCursor } from "../parsers/capture_format.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(42);
 * bytes.set([0x08, 0x00, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
 *   0x30, 0x39, 0, 53, 0, 8, 0, 0], 12);
 * const cursor: RecordCursor = { bytes, view: new DataView(bytes.buffer), offset: 0,
 *   captured: 42, length: 42, seconds: 1700000000, nanos: 0, digits: 6, linkType: 1,
 *   interface: -1 };
 * const out = new AsciiBuffer();
 * assert.ok(writeJsonFrame(cursor, 1, out));
 * assert.equal(out.toString(), JSON.stringify(decodeCursor(cursor, 1)));
 * bytes[12 + 1] = 0x06; // ARP
 * assert.ok(!writeJsonFrame(cursor, 2, out));
 * ```
 */
export function writeJsonFrame(cursor: RecordCursor, number: number, out: AsciiBuffer): boolean {
  const ip = ethernetPayload(cursor);
  if (ip < 0) return false;
  const view = cursor.view;
  const etherType = view.getUint16(cursor.offset + ETHERNET_OFFSET_TYPE);
  if (etherType === ETHERTYPE_ARP || etherType === ETHERTYPE_RARP) {
    if (
      cursor.offset + cursor.captured - ip < ARP_ETHERNET_IPV4_LENGTH ||
      view.getUint8(ip + 4) !== MAC_LENGTH ||
      view.getUint8(ip + 5) !== IPV4_ADDRESS_LENGTH
    ) return false;
    out.length = putArp(putFrameAndEthernet(reserve(out), cursor, number), view, etherType, ip);
    return true;
  }
  const frame = shape;
  if (!ipFrame(cursor, frame)) return false;
  const { protocol, payload, payloadEnd } = frame;

  let i = putFrameAndEthernet(reserve(out), cursor, number);
  let addressSum: number;
  if (etherType === ETHERTYPE_IPV4) {
    addressSum = onesComplementSum(view, ip + IPV4_OFFSET_SRC, ip + IPV4_OFFSET_DST + 4);
    i = putIpv4Header(i, view, ip, addressSum);
  } else {
    i = putIpv6Header(i, view, ip);
    addressSum = onesComplementSum(view, ip + IPV6_OFFSET_SRC, ip + IPV6_OFFSET_SRC + 16) +
      onesComplementSum(view, ip + IPV6_OFFSET_DST, ip + IPV6_OFFSET_DST + 16);
  }
  if (protocol === IPPROTO_TCP) i = putTcp(i, view, payload, payloadEnd, addressSum);
  else if (protocol === IPPROTO_UDP) {
    i = putUdp(i, view, payload, addressSum, etherType === ETHERTYPE_IPV6);
  } else i = putIcmpEcho(i, view, protocol, payload, payloadEnd, addressSum);
  out.length = i;
  return true;
}
