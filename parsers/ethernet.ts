/**
 * Ethernet II headers and 802.1Q / 802.1ad VLAN tags.
 *
 * ```text
 * Ethernet:  0 dst(6) | 6 src(6) | 12 etherType(2) | 14 payload
 * VLAN tag:  0 pcp(3) dei(1) id(12) | 2 etherType(2) | 4 payload   (after the TPID)
 * ```
 *
 * @module
 */

import { macText } from "./address.ts";
import { type FieldSpec, partialLayer } from "./decode_error.ts";
import type { EthernetLayer, PartialLayer, VlanLayer } from "./types.ts";

/** Length of an Ethernet II header. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Length of a VLAN tag after its TPID (TCI and the inner EtherType). */
export const VLAN_TAG_LENGTH = 4;

/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType of RARP. */
export const ETHERTYPE_RARP = 0x8035;
/** EtherType (TPID) of an 802.1Q customer tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** EtherType (TPID) of an 802.1ad service tag. */
export const ETHERTYPE_QINQ = 0x88a8;
/** Pre-standard QinQ TPID still seen in the wild. */
export const ETHERTYPE_QINQ_OLD = 0x9100;
/** EtherType values below this are 802.3 length fields. */
export const ETHERTYPE_MIN = 0x0600;

const OFFSET_DST = 0;
const OFFSET_SRC = 6;
const OFFSET_TYPE = 12;

const ETHERNET_FIELDS: readonly FieldSpec[] = [
  ["dst", OFFSET_DST + 6, (v, o) => macText(v, o + OFFSET_DST)],
  ["src", OFFSET_SRC + 6, (v, o) => macText(v, o + OFFSET_SRC)],
];

/**
 * Decodes an Ethernet II header at `offset`; a header cut short gives a partial layer.
 *
 * @example Decode a header
 * ```ts
 * import { decodeEthernet } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(14);
 * bytes[12] = 0x08;
 * const layer = decodeEthernet(new DataView(bytes.buffer), 0, 14);
 * assert.equal("etherType" in layer && layer.etherType, 0x0800);
 * ```
 */
export function decodeEthernet(
  view: DataView,
  offset: number,
  end: number,
): EthernetLayer | PartialLayer {
  if (end - offset < ETHERNET_HEADER_LENGTH) {
    return partialLayer("ethernet", ETHERNET_FIELDS, view, offset, end - offset);
  }
  return {
    type: "ethernet",
    src: macText(view, offset + OFFSET_SRC),
    dst: macText(view, offset + OFFSET_DST),
    etherType: view.getUint16(offset + OFFSET_TYPE),
  };
}

/**
 * Whether an EtherType is a VLAN TPID (802.1Q, 802.1ad, or the old 0x9100).
 *
 * @example Recognise a tag
 * ```ts
 * import { isVlanTpid } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isVlanTpid(0x8100) && isVlanTpid(0x88a8) && !isVlanTpid(0x0800));
 * ```
 */
export function isVlanTpid(etherType: number): boolean {
  return etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ ||
    etherType === ETHERTYPE_QINQ_OLD;
}

const VLAN_FIELDS: readonly FieldSpec[] = [
  ["pcp", 2, (v, o) => v.getUint8(o) >> 5],
  ["dei", 2, (v, o) => (v.getUint8(o) >> 4) & 1],
  ["id", 2, (v, o) => v.getUint16(o) & 0x0fff],
];

/**
 * Decodes the 4 bytes that follow a VLAN TPID (`tpid` is the EtherType that announced them).
 *
 * @example Decode VLAN 165
 * ```ts
 * import { decodeVlan } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([0x00, 0xa5, 0x08, 0x00]).buffer);
 * const tag = decodeVlan(view, 0, 4, 0x8100);
 * assert.equal("id" in tag && tag.id, 165);
 * ```
 */
export function decodeVlan(
  view: DataView,
  offset: number,
  end: number,
  tpid: number,
): VlanLayer | PartialLayer {
  if (end - offset < VLAN_TAG_LENGTH) {
    const layer = partialLayer("vlan", VLAN_FIELDS, view, offset, end - offset);
    (layer as { tpid?: number }).tpid = tpid;
    return layer;
  }
  const tci = view.getUint16(offset);
  return {
    type: "vlan",
    tpid,
    pcp: tci >> 13,
    dei: (tci >> 12) & 1,
    id: tci & 0x0fff,
    etherType: view.getUint16(offset + 2),
  };
}
