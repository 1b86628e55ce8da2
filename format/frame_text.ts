/**
 * Text written straight from a frame's bytes, for the lines of the frames most traffic is made
 * of: which frames those are ({@linkcode ipFrame}), and the writing of fixed text, numbers and
 * addresses into an {@linkcode AsciiBuffer} a few bytes a step. Shared by `--json`
 * (json_frame.ts) and summaries (summary_frame.ts).
 *
 * @module
 */

import { IPV4_ADDRESS_LENGTH, MAC_LENGTH } from "../parsers/address.ts";
import { formatTime, type RecordCursor } from "../parsers/capture_format.ts";
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "../parsers/ethernet.ts";
import {
  icmpHasEchoFields,
  icmpv6HasEchoFields,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
} from "../parsers/icmp.ts";
import { IPV4_MIN_HEADER_LENGTH } from "../parsers/ipv4.ts";
import { IPV6_HEADER_LENGTH } from "../parsers/ipv6.ts";
import { LINKTYPE_ETHERNET } from "../parsers/link_type.ts";
import { IPPROTO_TCP, TCP_MIN_HEADER_LENGTH, TCP_OPTION_NOP } from "../parsers/tcp.ts";
import { IPPROTO_UDP, UDP_HEADER_LENGTH } from "../parsers/udp.ts";
import { type AsciiBuffer, DIGIT_ZERO, DOT, SPACE } from "./ascii.ts";

// ---- Where the fields are ------------------------------------------------------------------

export const ETHERNET_OFFSET_SRC = 6;
export const ETHERNET_OFFSET_TYPE = 12;
/** Version 4 and a 20-byte header: IPv4 without options. */
const IPV4_FIRST_BYTE = 0x45;
/** The more-fragments flag and the fragment offset. */
const IPV4_FRAGMENT_BITS = 0x3fff;
const IPV6_VERSION = 6;
/** ICMP's header: type, code, checksum, then an echo's id and sequence number. */
const ICMP_ECHO_HEADER_LENGTH = 8;
/** An option's kind and length bytes. */
export const OPTION_HEAD_LENGTH = 2;
/**
 * Room reserved for one line, more than the longest written here: IPv6 addresses of 39
 * characters, and 40 bytes of TCP options as NOPs (11 characters each) or as one unknown option
 * (two hex digits a byte).
 */
const LINE_ROOM = 2048;
/** The last printable ASCII character. */
const TILDE = 0x7e;

// ---- Writing bytes -------------------------------------------------------------------------

/**
 * A piece of fixed text, kept as 8-byte words so that it is copied eight bytes a step: copying
 * costs per step more than per byte (four bytes a step took 25% longer for a whole `--json` line).
 * The words are float64s, the one 8-byte type that a DataView stores from a typed array without a
 * BigInt in between. Eight bytes of printable ASCII are never a NaN (that would need a last byte of
 * 0x7f or more), so no step on the way changes their bits.
 */
export class Piece {
  readonly words: Float64Array;
  readonly length: number;

  constructor(text: string) {
    this.length = text.length;
    const bytes = new Uint8Array(Math.ceil(text.length / 8) * 8);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < SPACE || code > TILDE) throw new RangeError(`Not printable ASCII: ${text}`);
      bytes[i] = code;
    }
    this.words = new Float64Array(bytes.buffer);
  }
}

/** Up to four characters as a big-endian word. */
function wordOf(text: string): number {
  let word = 0;
  for (let i = 0; i < text.length; i++) word |= text.charCodeAt(i) << (24 - 8 * i);
  return word >>> 0;
}

/** Two ASCII digits for each number below 100. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = DIGIT_ZERO + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = DIGIT_ZERO + (i % 10);
}
const HEX_DIGITS = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const text = i.toString(16).padStart(2, "0");
  HEX_DIGITS[2 * i] = text.charCodeAt(0);
  HEX_DIGITS[2 * i + 1] = text.charCodeAt(1);
}
/** Each byte's two hex digits and a colon, as a big-endian word (its last byte unused). */
const HEX_COLON = new Uint32Array(256);
/** Each byte's decimal digits and a dot, as a big-endian word from its first byte. */
const DECIMAL_DOT = new Uint32Array(256);
/** How many characters of DECIMAL_DOT's word each byte takes, the dot included. */
const DECIMAL_DOT_LENGTH = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_COLON[i] = wordOf(i.toString(16).padStart(2, "0") + ":");
  const decimal = `${i}.`;
  DECIMAL_DOT[i] = wordOf(decimal);
  DECIMAL_DOT_LENGTH[i] = decimal.length;
}
const INT32_MAX = 0x7fffffff;
/** A number above INT32_MAX is written as its part above 10^8, then eight digits. */
const LOW_PART = 100_000_000;
const LOW_PART_DIGITS = 8;
/** Fraction digits of a time in nanoseconds. */
const NANO_DIGITS = 9;
/** What nanoseconds are divided by for each number of fraction digits, 1 to 9. */
const DIVISOR_FOR_DIGITS = [0, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1];

/** The buffer written to, and a DataView over it, renewed when the output grows. */
export let target: Uint8Array = new Uint8Array(0);
let targetView = new DataView(target.buffer);

/** Makes room for a line in `out` and writes to it from now on; returns where the line starts. */
export function reserve(out: AsciiBuffer): number {
  out.reserve(LINE_ROOM);
  if (out.bytes !== target) {
    target = out.bytes;
    targetView = new DataView(target.buffer, target.byteOffset, target.byteLength);
  }
  return out.length;
}

/**
 * Writes `piece` at `at` and returns where it ends. The last word may write up to seven bytes
 * past the end, into room the caller reserved; what follows overwrites them.
 */
export function put(at: number, piece: Piece): number {
  const words = piece.words;
  const view = targetView;
  for (let i = 0; i < words.length; i++) view.setFloat64(at + 8 * i, words[i]!, true);
  return at + piece.length;
}

/** Decimal digits of `value`, an integer from 0 to INT32_MAX. */
export function putSmall(at: number, value: number): number {
  const bytes = target;
  if (value < 10) {
    bytes[at] = DIGIT_ZERO + value;
    return at + 1;
  }
  const digits = value < 100
    ? 2
    : value < 1_000
    ? 3
    : value < 10_000
    ? 4
    : value < 100_000
    ? 5
    : value < 1_000_000
    ? 6
    : value < 10_000_000
    ? 7
    : value < 100_000_000
    ? 8
    : value < 1_000_000_000
    ? 9
    : 10;
  // The same digits as putPadded(at, value, digits) writes, by a loop of its own: through
  // putPadded, a summary line took 4-5% longer (one thread, bench-like frames).
  let rest = value;
  let i = at + digits;
  while (rest >= 100) {
    const high = (rest / 100) | 0;
    const pair = (rest - high * 100) << 1;
    rest = high;
    bytes[--i] = DIGIT_PAIRS[pair + 1]!;
    bytes[--i] = DIGIT_PAIRS[pair]!;
  }
  if (rest >= 10) {
    bytes[--i] = DIGIT_PAIRS[2 * rest + 1]!;
    bytes[--i] = DIGIT_PAIRS[2 * rest]!;
  } else {
    bytes[--i] = DIGIT_ZERO + rest;
  }
  return at + digits;
}

/** Decimal digits of `value`, a whole number below 2^53 as JSON.stringify writes it. */
export function putNumber(at: number, value: number): number {
  if (value <= INT32_MAX) return putSmall(at, value | 0);
  const high = Math.floor(value / LOW_PART);
  return putPadded(putSmall(at, high), (value - high * LOW_PART) | 0, LOW_PART_DIGITS);
}

/** The characters of `text`, which are ASCII. */
export function putText(at: number, text: string): number {
  const bytes = target;
  for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** A MAC address at `offset` of the frame's view, as `aa:bb:cc:dd:ee:ff`. */
export function putMac(at: number, view: DataView, offset: number): number {
  // Each byte is written with the colon after it; the last colon is left past the end, in the
  // room reserved, for what follows to overwrite.
  const out = targetView;
  for (let k = 0; k < MAC_LENGTH; k++) {
    out.setUint32(at + 3 * k, HEX_COLON[view.getUint8(offset + k)]!);
  }
  return at + 3 * MAC_LENGTH - 1;
}

/** An IPv4 address at `offset`, dotted decimal. */
export function putIpv4(at: number, view: DataView, offset: number): number {
  // As putMac: the last octet's dot is left past the end.
  const out = targetView;
  let i = at;
  for (let k = 0; k < IPV4_ADDRESS_LENGTH; k++) {
    const byte = view.getUint8(offset + k);
    out.setUint32(i, DECIMAL_DOT[byte]!);
    i += DECIMAL_DOT_LENGTH[byte]!;
  }
  return i - 1;
}

/** Exactly `count` decimal digits of `value` (below 10^count), with leading zeros. */
function putPadded(at: number, value: number, count: number): number {
  const bytes = target;
  let rest = value;
  let i = at + count;
  while (i - at >= 2) {
    const high = (rest / 100) | 0;
    const pair = (rest - high * 100) << 1;
    rest = high;
    bytes[--i] = DIGIT_PAIRS[pair + 1]!;
    bytes[--i] = DIGIT_PAIRS[pair]!;
  }
  if (i > at) bytes[at] = DIGIT_ZERO + rest;
  return at + count;
}

/**
 * The text of the whole seconds of the last time written, and its dot: packets come many to a
 * second, so it is copied as a piece and only the fraction's digits are written.
 */
let lastSeconds = -1;
const lastSecondsBytes = new Uint8Array(24);
const lastSecondsWords = new Float64Array(lastSecondsBytes.buffer);
let lastSecondsLength = 0;

/** A capture time as {@linkcode formatTime} writes it. */
export function putTime(at: number, seconds: number, nanos: number, digits: number): number {
  if (seconds < 0 || digits <= 0 || digits > NANO_DIGITS) {
    return putText(at, formatTime(seconds, nanos, digits));
  }
  if (seconds !== lastSeconds) {
    const end = putNumber(at, seconds);
    target[end] = DOT;
    lastSecondsBytes.fill(0);
    lastSecondsBytes.set(target.subarray(at, end + 1));
    lastSeconds = seconds;
    lastSecondsLength = end + 1 - at;
  }
  // As put(): 24 bytes are written, and what follows overwrites those past the text.
  const out = targetView;
  const words = lastSecondsWords;
  out.setFloat64(at, words[0]!, true);
  out.setFloat64(at + 8, words[1]!, true);
  out.setFloat64(at + 16, words[2]!, true);
  const fraction = digits === NANO_DIGITS ? nanos : Math.floor(nanos / DIVISOR_FOR_DIGITS[digits]!);
  return putPadded(at + lastSecondsLength, fraction, digits);
}

/** `length` bytes at `offset` as lowercase hex. */
export function putHex(at: number, view: DataView, offset: number, length: number): number {
  const bytes = target;
  let i = at;
  for (let k = 0; k < length; k++) {
    const byte = view.getUint8(offset + k);
    bytes[i++] = HEX_DIGITS[2 * byte]!;
    bytes[i++] = HEX_DIGITS[2 * byte + 1]!;
  }
  return i;
}

// ---- Which frames ----------------------------------------------------------------------------

/** Whether the TCP options in `[start, end)` are whole, each within the header. */
function tcpOptionsWhole(view: DataView, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    if (view.getUint8(i) <= TCP_OPTION_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const length = view.getUint8(i + 1);
    if (length < OPTION_HEAD_LENGTH || i + length > end) return false;
    i += length;
  }
  return true;
}

/**
 * Whether the transport layer at `offset`, in an IP payload ending at `end`, is one written here
 * and decodes without error: whole, its lengths within the payload.
 */
function transportFits(view: DataView, protocol: number, offset: number, end: number): boolean {
  const available = end - offset;
  switch (protocol) {
    case IPPROTO_TCP: {
      if (available < TCP_MIN_HEADER_LENGTH) return false;
      const headerLength = (view.getUint8(offset + 12) >> 4) * 4;
      return headerLength >= TCP_MIN_HEADER_LENGTH && headerLength <= available &&
        tcpOptionsWhole(view, offset + TCP_MIN_HEADER_LENGTH, offset + headerLength);
    }
    case IPPROTO_UDP: {
      if (available < UDP_HEADER_LENGTH) return false;
      const length = view.getUint16(offset + 4);
      return length >= UDP_HEADER_LENGTH && length <= available;
    }
    case IPPROTO_ICMP: {
      if (available < ICMP_ECHO_HEADER_LENGTH) return false;
      return icmpHasEchoFields(view.getUint8(offset));
    }
    case IPPROTO_ICMPV6: {
      if (available < ICMP_ECHO_HEADER_LENGTH) return false;
      return icmpv6HasEchoFields(view.getUint8(offset));
    }
    default:
      return false;
  }
}

/**
 * Where the Ethernet payload of the frame under `cursor` starts, for a whole Ethernet frame
 * (captured as long as on the wire) with 20 bytes or more after its header, as ARP for IPv4 and
 * both IP versions need; otherwise -1.
 */
export function ethernetPayload(cursor: RecordCursor): number {
  if (cursor.linkType !== LINKTYPE_ETHERNET || cursor.captured !== cursor.length) return -1;
  const payload = cursor.offset + ETHERNET_HEADER_LENGTH;
  return cursor.captured - ETHERNET_HEADER_LENGTH < IPV4_MIN_HEADER_LENGTH ? -1 : payload;
}

/** Where the layers of a frame that {@linkcode ipFrame} takes are. */
export interface IpFrame {
  /** ETHERTYPE_IPV4 or ETHERTYPE_IPV6. */
  etherType: number;
  /** Where the IP header starts. */
  ip: number;
  /** The transport protocol: TCP, UDP, ICMP or ICMPv6. */
  protocol: number;
  /** Where the IP payload (the transport header) starts and ends. */
  payload: number;
  payloadEnd: number;
}

/**
 * Whether the frame under `cursor` is one whose line is written from its bytes, and if so where
 * its layers are, in `frame`: a whole Ethernet frame (captured as long as on the wire) carrying
 * IPv4 without options or IPv6 without extension headers, unfragmented, whose lengths agree,
 * carrying TCP (options whole), UDP, or an ICMP or ICMPv6 echo. Such a frame decodes without
 * error to exactly those layers.
 */
export function ipFrame(cursor: RecordCursor, frame: IpFrame): boolean {
  const ip = ethernetPayload(cursor);
  if (ip < 0) return false;
  const view = cursor.view;
  const end = cursor.offset + cursor.captured;
  const etherType = view.getUint16(cursor.offset + ETHERNET_OFFSET_TYPE);
  let protocol: number;
  let payload: number;
  let payloadEnd: number;
  if (etherType === ETHERTYPE_IPV4) {
    if (view.getUint8(ip) !== IPV4_FIRST_BYTE) return false;
    const totalLength = view.getUint16(ip + 2);
    if (totalLength < IPV4_MIN_HEADER_LENGTH || ip + totalLength > end) return false;
    if ((view.getUint16(ip + 6) & IPV4_FRAGMENT_BITS) !== 0) return false;
    protocol = view.getUint8(ip + 9);
    payload = ip + IPV4_MIN_HEADER_LENGTH;
    payloadEnd = ip + totalLength;
  } else if (etherType === ETHERTYPE_IPV6) {
    if (end - ip < IPV6_HEADER_LENGTH || view.getUint8(ip) >> 4 !== IPV6_VERSION) return false;
    protocol = view.getUint8(ip + 6);
    payload = ip + IPV6_HEADER_LENGTH;
    payloadEnd = payload + view.getUint16(ip + 4);
    if (payloadEnd > end) return false;
  } else {
    return false;
  }
  if (!transportFits(view, protocol, payload, payloadEnd)) return false;
  frame.etherType = etherType;
  frame.ip = ip;
  frame.protocol = protocol;
  frame.payload = payload;
  frame.payloadEnd = payloadEnd;
  return true;
}
