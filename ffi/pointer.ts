/**
 * Addresses of memory handed to the kernel: a buffer's address, and 64-bit pointers stored in
 * kernel structs (iovecs, msghdr) as JS numbers, which hold any user-space address exactly.
 *
 * @module
 */

const TWO_TO_32 = 2 ** 32;

/**
 * The address of `buffer`'s first byte.
 *
 * @example The address of a buffer (needs --allow-ffi)
 * ```ts ignore
 * import { bufferAddress } from "./pointer.ts";
 * console.log(bufferAddress(new Uint8Array(8)) > 0n);
 * ```
 */
export function bufferAddress(buffer: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/**
 * Stores `address` as a little-endian 64-bit pointer at `at`, without a BigInt: for hot paths.
 *
 * @example Round trip
 * ```ts
 * import { getAddress, setAddress } from "./pointer.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new ArrayBuffer(8));
 * setAddress(view, 0, 0x7f12_3456_7890);
 * assert.equal(getAddress(view, 0), 0x7f12_3456_7890);
 * ```
 */
export function setAddress(view: DataView, at: number, address: number): void {
  // A subtraction, not `%`: a remainder of doubles is a call to fmod, several times slower.
  const high = Math.floor(address / TWO_TO_32);
  view.setUint32(at, address - high * TWO_TO_32, true);
  view.setUint32(at + 4, high, true);
}

/** Reads a little-endian 64-bit pointer stored at `at` as a number. */
export function getAddress(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_TO_32;
}
