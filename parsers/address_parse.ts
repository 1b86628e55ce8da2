/**
 * Addresses and byte strings from their text forms: the inverse of `address.ts`, for building
 * packets from the records the decoders print. Each parser returns `undefined` for text that is
 * not of its form, so the caller can say which field was wrong.
 *
 * @module
 */

import { IPV4_ADDRESS_LENGTH, IPV6_ADDRESS_LENGTH, MAC_LENGTH } from "./address.ts";

const HEX_PAIR = /^[0-9a-fA-F]{2}$/;
const HEX_EVEN = /^(?:[0-9a-fA-F]{2})*$/;
const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const BYTE_MAX = 0xff;
const HEX_RADIX = 16;
const GROUPS = 8;
const GROUP_BYTES = 2;

/**
 * Bytes from contiguous hex (`"dead01"`, either case), or `undefined` when the text is not an
 * even number of hex digits. The empty string gives no bytes.
 *
 * @example Parse three bytes
 * ```ts
 * import { parseHex } from "./address_parse.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseHex("DEad01")?.join(), "222,173,1");
 * assert.equal(parseHex("abc"), undefined);
 * ```
 */
export function parseHex(text: string): Uint8Array | undefined {
  if (!HEX_EVEN.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), HEX_RADIX);
  }
  return bytes;
}

/**
 * A link-layer address of any length from colon-separated hex bytes, as `linkAddressText`
 * writes it (`"02:00:00:00:99:01"`); the empty string is the empty address.
 *
 * @example A 4-byte hardware address
 * ```ts
 * import { parseLinkAddress } from "./address_parse.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseLinkAddress("01:02:03:04")?.length, 4);
 * assert.equal(parseLinkAddress("1:2"), undefined);
 * ```
 */
export function parseLinkAddress(text: string): Uint8Array | undefined {
  if (text === "") return new Uint8Array(0);
  const parts = text.split(":");
  if (!parts.every((part) => HEX_PAIR.test(part))) return undefined;
  return Uint8Array.from(parts, (part) => parseInt(part, HEX_RADIX));
}

/**
 * A 6-byte MAC address from `aa:bb:cc:dd:ee:ff` (either case).
 *
 * @example Parse a MAC address
 * ```ts
 * import { parseMac } from "./address_parse.ts";
 * import assert from "node:assert/strict";
 * assert.ok(parseMac("ff:ff:ff:ff:ff:ff")?.every((b) => b === 255));
 * assert.equal(parseMac("ff:ff"), undefined);
 * ```
 */
export function parseMac(text: string): Uint8Array | undefined {
  const bytes = parseLinkAddress(text);
  return bytes?.length === MAC_LENGTH ? bytes : undefined;
}

/**
 * A 4-byte IPv4 address from a dotted quad of decimal numbers 0-255 without leading zeros
 * (which some parsers read as octal).
 *
 * @example Parse an address
 * ```ts
 * import { parseIpv4 } from "./address_parse.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseIpv4("10.99.0.1")?.join("."), "10.99.0.1");
 * assert.equal(parseIpv4("10.099.0.1"), undefined);
 * ```
 */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== IPV4_ADDRESS_LENGTH) return undefined;
  const bytes = new Uint8Array(IPV4_ADDRESS_LENGTH);
  for (const [i, part] of parts.entries()) {
    if (!DECIMAL_OCTET.test(part) || Number(part) > BYTE_MAX) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

/** The 16-bit groups of one side of `::`, an IPv4 tail counting as two; undefined if malformed. */
function groupsOf(text: string, allowIpv4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (allowIpv4Tail && i === parts.length - 1 && part.includes(".")) {
      const ipv4 = parseIpv4(part);
      if (ipv4 === undefined) return undefined;
      groups.push((ipv4[0]! << 8) | ipv4[1]!, (ipv4[2]! << 8) | ipv4[3]!);
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, HEX_RADIX));
    } else {
      return undefined;
    }
  }
  return groups;
}

/**
 * A 16-byte IPv6 address from its text (RFC 4291 section 2.2): eight hex groups, one `::` for a
 * run of zero groups, and optionally a dotted-quad tail (`::ffff:10.0.0.1`). Zone ids (`%eth0`)
 * are not addresses and are refused.
 *
 * @example Parse compressed forms
 * ```ts
 * import { parseIpv6 } from "./address_parse.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseIpv6("fd00:99::2")?.[15], 2);
 * assert.equal(parseIpv6("::ffff:10.0.0.1")?.[12], 10);
 * assert.equal(parseIpv6("1::2::3"), undefined);
 * ```
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== GROUPS : given > GROUPS - 1) return undefined;
  const groups = [...head, ...new Array<number>(GROUPS - given).fill(0), ...tail];
  const bytes = new Uint8Array(IPV6_ADDRESS_LENGTH);
  for (const [i, group] of groups.entries()) {
    bytes[i * GROUP_BYTES] = group >> 8;
    bytes[i * GROUP_BYTES + 1] = group & BYTE_MAX;
  }
  return bytes;
}
