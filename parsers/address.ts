/**
 * Text forms of link and network addresses, read straight from a frame's DataView.
 *
 * @module
 */

/** Two lower-case hex digits for every byte value. */
export const HEX_BYTE: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/** Decimal text for every byte value. */
const DEC_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

const CACHE_BITS = 16;
const CACHE_SLOTS = 1 << CACHE_BITS;

/**
 * A direct-mapped cache of address text: a capture sees the same few thousand addresses again and
 * again, and one shared string per address spares both the formatting and the garbage. A slot
 * holds the last address that hashed to it, as `words` 32-bit words of key and its text.
 */
class TextCache {
  readonly keys: Int32Array;
  readonly values: (string | undefined)[] = new Array(CACHE_SLOTS).fill(undefined);

  constructor(words: number) {
    this.keys = new Int32Array(CACHE_SLOTS * words);
  }
}

// Made on first use: together they take 3.4 MB, which a capture written to a file, or JSON and
// summaries written from the frame's bytes, never need; building them cost every start 5-10 ms.
let ipv4Cache: TextCache | undefined;
let ipv6Cache: TextCache | undefined;
let macCache: TextCache | undefined;

/** A slot for a 32-bit hash: the top bits of a Fibonacci multiplication. */
function slotOf(hash: number): number {
  return Math.imul(hash, 0x9e3779b1) >>> (32 - CACHE_BITS);
}

/** Length of an Ethernet MAC address. */
export const MAC_LENGTH = 6;
/** Length of an IPv4 address. */
export const IPV4_ADDRESS_LENGTH = 4;
/** Length of an IPv6 address. */
export const IPV6_ADDRESS_LENGTH = 16;

/**
 * Two lower-case hex digits for a byte.
 *
 * @example Format one byte
 * ```ts
 * import { hexByte } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hexByte(0x0a), "0a");
 * ```
 */
export function hexByte(value: number): string {
  return HEX_BYTE[value & 0xff]!;
}

/**
 * Bytes `[offset, offset + length)` as contiguous lower-case hex.
 *
 * @example Hex of three bytes
 * ```ts
 * import { hexBytes } from "./address.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([0xde, 0xad, 0x01]).buffer);
 * assert.equal(hexBytes(view, 0, 3), "dead01");
 * ```
 */
export function hexBytes(view: DataView, offset: number, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += HEX_BYTE[view.getUint8(offset + i)]!;
  return text;
}

/**
 * A 6-byte MAC address as `aa:bb:cc:dd:ee:ff`.
 *
 * @example Format a MAC address
 * ```ts
 * import { macText } from "./address.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([2, 0, 0, 0, 0x99, 1]).buffer);
 * assert.equal(macText(view, 0), "02:00:00:00:99:01");
 * ```
 */
export function macText(view: DataView, offset: number): string {
  const high = view.getUint16(offset);
  const low = view.getInt32(offset + 2);
  const slot = slotOf(low ^ high);
  const { keys, values } = macCache ??= new TextCache(2);
  const cached = values[slot];
  if (cached !== undefined && keys[slot * 2] === high && keys[slot * 2 + 1] === low) {
    return cached;
  }
  const text = formatMac(view, offset);
  keys[slot * 2] = high;
  keys[slot * 2 + 1] = low;
  values[slot] = text;
  return text;
}

function formatMac(view: DataView, offset: number): string {
  // join() makes one flat string; a chain of + would leave a rope that every later use walks.
  return [
    HEX_BYTE[view.getUint8(offset)],
    HEX_BYTE[view.getUint8(offset + 1)],
    HEX_BYTE[view.getUint8(offset + 2)],
    HEX_BYTE[view.getUint8(offset + 3)],
    HEX_BYTE[view.getUint8(offset + 4)],
    HEX_BYTE[view.getUint8(offset + 5)],
  ].join(":");
}

/**
 * A link-layer address of any length: MAC text when 6 bytes long, colon-separated hex otherwise.
 *
 * @example A 4-byte hardware address
 * ```ts
 * import { linkAddressText } from "./address.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([1, 2, 3, 4]).buffer);
 * assert.equal(linkAddressText(view, 0, 4), "01:02:03:04");
 * ```
 */
export function linkAddressText(view: DataView, offset: number, length: number): string {
  if (length === MAC_LENGTH) return macText(view, offset);
  let text = "";
  for (let i = 0; i < length; i++) {
    if (i > 0) text += ":";
    text += HEX_BYTE[view.getUint8(offset + i)]!;
  }
  return text;
}

/**
 * A 4-byte IPv4 address as a dotted quad.
 *
 * @example Format an IPv4 address
 * ```ts
 * import { ipv4Text } from "./address.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([10, 99, 0, 1]).buffer);
 * assert.equal(ipv4Text(view, 0), "10.99.0.1");
 * ```
 */
export function ipv4Text(view: DataView, offset: number): string {
  const key = view.getInt32(offset);
  const slot = slotOf(key);
  const { keys, values } = ipv4Cache ??= new TextCache(1);
  const cached = values[slot];
  if (cached !== undefined && keys[slot] === key) return cached;
  const text = formatIpv4(view, offset);
  keys[slot] = key;
  values[slot] = text;
  return text;
}

function formatIpv4(view: DataView, offset: number): string {
  return [
    DEC_BYTE[view.getUint8(offset)],
    DEC_BYTE[view.getUint8(offset + 1)],
    DEC_BYTE[view.getUint8(offset + 2)],
    DEC_BYTE[view.getUint8(offset + 3)],
  ].join(".");
}

/**
 * A 16-byte IPv6 address in RFC 5952 text: lower case, no leading zeros, the longest run of two
 * or more zero groups (the first of equal runs) as `::`, and IPv4-mapped addresses as
 * `::ffff:a.b.c.d`.
 *
 * @example Compress the longest zero run
 * ```ts
 * import { ipv6Text } from "./address.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(16);
 * bytes[0] = 0xfd; bytes[15] = 1;
 * assert.equal(ipv6Text(new DataView(bytes.buffer), 0), "fd00::1");
 * ```
 */
export function ipv6Text(view: DataView, offset: number): string {
  const a = view.getInt32(offset);
  const b = view.getInt32(offset + 4);
  const c = view.getInt32(offset + 8);
  const d = view.getInt32(offset + 12);
  const slot = slotOf(a ^ b ^ c ^ d);
  const at = slot * 4;
  const { keys, values } = ipv6Cache ??= new TextCache(4);
  const cached = values[slot];
  if (
    cached !== undefined && keys[at] === a && keys[at + 1] === b && keys[at + 2] === c &&
    keys[at + 3] === d
  ) {
    return cached;
  }
  const text = formatIpv6(view, offset);
  keys[at] = a;
  keys[at + 1] = b;
  keys[at + 2] = c;
  keys[at + 3] = d;
  values[slot] = text;
  return text;
}

function formatIpv6(view: DataView, offset: number): string {
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (view.getUint16(offset + i * 2) === 0) {
      if (runStart < 0) runStart = i;
      const length = i - runStart + 1;
      if (length > bestLength) {
        bestStart = runStart;
        bestLength = length;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart === 0 && bestLength === 5 && view.getUint16(offset + 10) === 0xffff) {
    return ["::ffff:", formatIpv4(view, offset + 12)].join("");
  }
  // Parts joined once, so the text is one flat string (see formatMac).
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push(i === 0 ? "::" : ":");
      i += bestLength - 1;
      continue;
    }
    parts.push(view.getUint16(offset + i * 2).toString(16));
    if (i < 7) parts.push(":");
  }
  return parts.join("");
}
