/**
 * BSD loopback headers: a 4-byte address family, in the capturing host's byte order for
 * LINKTYPE_NULL and in network byte order for LINKTYPE_LOOP.
 *
 * @module
 */

import { type FieldSpec, partialLayer } from "./decode_error.ts";
import type { LoopbackLayer, PartialLayer } from "./types.ts";

/** Length of the loopback header. */
export const LOOPBACK_HEADER_LENGTH = 4;

/** Address family of IPv4 on every BSD. */
export const BSD_AF_INET = 2;
/** Address families that mean IPv6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin. */
export const BSD_AF_INET6: ReadonlySet<number> = new Set([10, 24, 28, 30]);

const NO_FIELDS: readonly FieldSpec[] = [];

/**
 * Decodes a loopback header. With `hostOrder` (LINKTYPE_NULL) the family's byte order is guessed
 * as libpcap does: a value with its low 16 bits zero was written by the other byte order.
 *
 * @example A little-endian AF_INET
 * ```ts
 * import { decodeLoopback } from "./loopback.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([2, 0, 0, 0]).buffer);
 * const layer = decodeLoopback(view, 0, 4, true);
 * assert.equal("family" in layer && layer.family, 2);
 * ```
 */
export function decodeLoopback(
  view: DataView,
  offset: number,
  end: number,
  hostOrder: boolean,
): LoopbackLayer | PartialLayer {
  if (end - offset < LOOPBACK_HEADER_LENGTH) {
    return partialLayer("loopback", NO_FIELDS, view, offset, 0);
  }
  let family = view.getUint32(offset);
  if (hostOrder && (family & 0xffff) === 0) family = view.getUint32(offset, true);
  return { type: "loopback", family };
}
