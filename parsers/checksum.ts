/**
 * The Internet checksum (RFC 1071) as small composable sums. Nothing here is called implicitly:
 * decoders add up the pieces they need and compare.
 *
 * @module
 */

/**
 * Adds the bytes `[start, end)` as big-endian 16-bit words to `initial` (an odd final byte is
 * padded with zero). The result is an unfolded sum; pass it to {@link foldChecksum}.
 *
 * @example Sum of two words
 * ```ts
 * import { onesComplementSum } from "./checksum.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([0x00, 0x01, 0xf2, 0x03]).buffer);
 * assert.equal(onesComplementSum(view, 0, 4), 0xf204);
 * ```
 */
export function onesComplementSum(view: DataView, start: number, end: number, initial = 0): number {
  // 32-bit words fold to the same ones' complement sum as 16-bit ones (2^16 = 1 mod 2^16 - 1),
  // in half the steps; a double holds the running total exactly for any packet size.
  let wide = 0;
  let i = start;
  for (; i + 3 < end; i += 4) wide += view.getUint32(i);
  let sum = initial + Math.floor(wide / 0x10000) + (wide % 0x10000);
  if (i + 1 < end) {
    sum += view.getUint16(i);
    i += 2;
  }
  if (i < end) sum += view.getUint8(i) << 8;
  return sum;
}

/**
 * Folds a sum to 16 bits, adding the carries back in.
 *
 * @example Fold a carry
 * ```ts
 * import { foldChecksum } from "./checksum.ts";
 * import assert from "node:assert/strict";
 * assert.equal(foldChecksum(0x1fffe), 0xffff);
 * ```
 */
export function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The checksum a sender puts in the header: the complement of the folded sum.
 *
 * @example Complement of a folded sum
 * ```ts
 * import { internetChecksum } from "./checksum.ts";
 * import assert from "node:assert/strict";
 * assert.equal(internetChecksum(0xf204), 0x0dfb);
 * ```
 */
export function internetChecksum(sum: number): number {
  return ~foldChecksum(sum) & 0xffff;
}

/**
 * Whether data summed together with its own checksum field verifies (folds to 0xffff).
 *
 * @example A verifying sum
 * ```ts
 * import { checksumVerifies } from "./checksum.ts";
 * import assert from "node:assert/strict";
 * assert.ok(checksumVerifies(0xf204 + 0x0dfb));
 * ```
 */
export function checksumVerifies(sum: number): boolean {
  return foldChecksum(sum) === 0xffff;
}

/**
 * Sum of the IPv4 pseudo header (RFC 793): source and destination addresses, protocol and the
 * transport length.
 *
 * @example Pseudo-header sum
 * ```ts
 * import { ipv4PseudoHeaderSum } from "./checksum.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2]).buffer);
 * assert.equal(ipv4PseudoHeaderSum(view, 0, 4, 17, 8), 0x0a00 + 1 + 0x0a00 + 2 + 17 + 8);
 * ```
 */
export function ipv4PseudoHeaderSum(
  view: DataView,
  srcOffset: number,
  dstOffset: number,
  protocol: number,
  length: number,
): number {
  return view.getUint16(srcOffset) + view.getUint16(srcOffset + 2) + view.getUint16(dstOffset) +
    view.getUint16(dstOffset + 2) + protocol + length;
}

/**
 * Sum of the IPv6 pseudo header (RFC 8200 section 8.1): addresses, upper-layer length and next
 * header.
 *
 * @example Pseudo-header sum of all-zero addresses
 * ```ts
 * import { ipv6PseudoHeaderSum } from "./checksum.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array(32).buffer);
 * assert.equal(ipv6PseudoHeaderSum(view, 0, 16, 58, 8), 58 + 8);
 * ```
 */
export function ipv6PseudoHeaderSum(
  view: DataView,
  srcOffset: number,
  dstOffset: number,
  nextHeader: number,
  length: number,
): number {
  return onesComplementSum(view, srcOffset, srcOffset + 16) +
    onesComplementSum(view, dstOffset, dstOffset + 16) + Math.floor(length / 0x10000) +
    (length & 0xffff) + nextHeader;
}
