/**
 * LINKTYPE_ values (https://www.tcpdump.org/linktypes.html) that snout decodes.
 *
 * @module
 */

/** BSD loopback: a 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
/** Ethernet II and 802.3. */
export const LINKTYPE_ETHERNET = 1;
/** Raw IP as DLT_RAW on most systems (12 in some pcap files). */
export const LINKTYPE_RAW_12 = 12;
/** Raw IP as DLT_RAW on OpenBSD (14 in some pcap files). */
export const LINKTYPE_RAW_14 = 14;
/** Raw IP, version taken from the packet. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: a 4-byte address family in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Linux cooked capture v1. */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6 only. */
export const LINKTYPE_IPV6 = 229;
/** Linux cooked capture v2. */
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, "NULL (BSD loopback)"],
  [LINKTYPE_ETHERNET, "EN10MB (Ethernet)"],
  [LINKTYPE_RAW_12, "RAW (Raw IP)"],
  [LINKTYPE_RAW_14, "RAW (Raw IP)"],
  [LINKTYPE_RAW, "RAW (Raw IP)"],
  [LINKTYPE_LOOP, "LOOP (OpenBSD loopback)"],
  [LINKTYPE_LINUX_SLL, "LINUX_SLL (Linux cooked v1)"],
  [LINKTYPE_IPV4, "IPV4 (Raw IPv4)"],
  [LINKTYPE_IPV6, "IPV6 (Raw IPv6)"],
  [LINKTYPE_LINUX_SLL2, "LINUX_SLL2 (Linux cooked v2)"],
]);

/**
 * Whether snout can decode frames of this link type.
 *
 * @example Ethernet is supported
 * ```ts
 * import { isSupportedLinkType, LINKTYPE_ETHERNET } from "./link_type.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isSupportedLinkType(LINKTYPE_ETHERNET));
 * assert.ok(!isSupportedLinkType(147));
 * ```
 */
export function isSupportedLinkType(linkType: number): boolean {
  return NAMES.has(linkType);
}

/**
 * tcpdump's name for a link type, or `LINKTYPE N` for others.
 *
 * @example Name a link type
 * ```ts
 * import { linkTypeName } from "./link_type.ts";
 * import assert from "node:assert/strict";
 * assert.equal(linkTypeName(1), "EN10MB (Ethernet)");
 * ```
 */
export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `LINKTYPE ${linkType}`;
}
