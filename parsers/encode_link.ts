/**
 * Encoders of link-layer headers: Ethernet II, VLAN tags, Linux cooked headers (SLL and SLL2)
 * and the BSD loopback header; the byte layouts are those of `ethernet.ts`, `sll.ts` and
 * `loopback.ts`.
 *
 * @module
 */

import type { LayerFields } from "./build_fields.ts";
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_VLAN, VLAN_TAG_LENGTH } from "./ethernet.ts";
import { type LayerPlan, writeBytes } from "./layer_plan.ts";
import { BSD_AF_INET, LOOPBACK_HEADER_LENGTH } from "./loopback.ts";
import { SLL2_HEADER_LENGTH, SLL_HEADER_LENGTH } from "./sll.ts";

const MAC_OFFSET_SRC = 6;
const ETHERTYPE_OFFSET = 12;
const VLAN_PCP_SHIFT = 13;
const VLAN_DEI_SHIFT = 12;
const PCP_BITS = 3;
const DEI_BITS = 1;
const VLAN_ID_BITS = 12;
/** Room for the link-layer address in both cooked headers. */
const SLL_ADDRESS_ROOM = 8;
/** ARPHRD_ETHER: the default hardware type of a cooked header. */
const ARPHRD_ETHER = 1;
/** PACKET_HOST: the default packet type of a cooked header (to us). */
const PACKET_HOST = 0;
/** The IPv6 family a loopback header gets by default: 24, which every BSD reader accepts. */
const BSD_AF_INET6_PORTABLE = 24;

/**
 * Plans an Ethernet II header: `dst` and `src` are required; `etherType` defaults to the next
 * layer's.
 *
 * @example A broadcast ARP frame's header
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planEthernet } from "./encode_link.ts";
 * import assert from "node:assert/strict";
 * const plan = planEthernet(
 *   new LayerFields({ type: "ethernet", dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:01" }, "layer 1"),
 *   { type: "arp", size: 28, etherType: 0x0806, write() {} },
 * );
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.equal(view.getUint16(12), 0x0806);
 * ```
 */
export function planEthernet(fields: LayerFields, next: LayerPlan | undefined): LayerPlan {
  const dst = fields.mac("dst");
  const src = fields.mac("src");
  const etherType = fields.chain("etherType", 16, next?.etherType);
  fields.finish();
  return {
    type: "ethernet",
    size: ETHERNET_HEADER_LENGTH,
    write(view, offset) {
      writeBytes(view, offset, dst);
      writeBytes(view, offset + MAC_OFFSET_SRC, src);
      view.setUint16(offset + ETHERTYPE_OFFSET, etherType);
    },
  };
}

/**
 * Plans a VLAN tag: `id` is required; `pcp` and `dei` default to 0, `tpid` (the EtherType that
 * announces the tag) to 0x8100, and `etherType` to the next layer's.
 *
 * @example VLAN 100 in front of IPv4
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planVlan } from "./encode_link.ts";
 * import assert from "node:assert/strict";
 * const plan = planVlan(new LayerFields({ type: "vlan", id: 100 }, "layer 2"), {
 *   type: "ipv4", size: 20, etherType: 0x0800, write() {},
 * });
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.ok(plan.etherType === 0x8100 && view.getUint16(0) === 100);
 * ```
 */
export function planVlan(fields: LayerFields, next: LayerPlan | undefined): LayerPlan {
  const tpid = fields.uint("tpid", 16, ETHERTYPE_VLAN);
  const pcp = fields.uint("pcp", PCP_BITS, 0);
  const dei = fields.uint("dei", DEI_BITS, 0);
  const id = fields.uint("id", VLAN_ID_BITS);
  const etherType = fields.chain("etherType", 16, next?.etherType);
  fields.finish();
  return {
    type: "vlan",
    size: VLAN_TAG_LENGTH,
    etherType: tpid,
    write(view, offset) {
      view.setUint16(offset, (pcp << VLAN_PCP_SHIFT) | (dei << VLAN_DEI_SHIFT) | id);
      view.setUint16(offset + 2, etherType);
    },
  };
}

/** The fields both cooked headers have: packet type (of `packetTypeBits`), ARPHRD type, address, protocol. */
function cookedFields(fields: LayerFields, next: LayerPlan | undefined, packetTypeBits: number) {
  const packetType = fields.uint("packetType", packetTypeBits, PACKET_HOST);
  const arphrdType = fields.uint("arphrdType", 16, ARPHRD_ETHER);
  const address = fields.linkAddress("address", "");
  if (address.length > SLL_ADDRESS_ROOM) {
    fields.fail(`address has ${address.length} bytes; a cooked header holds ${SLL_ADDRESS_ROOM}`);
  }
  const protocol = fields.chain("protocol", 16, next?.etherType);
  return { packetType, arphrdType, address, protocol };
}

/**
 * Plans a Linux cooked (SLL) header:
 * `0 packetType(2) | 2 arphrdType(2) | 4 addressLength(2) | 6 address(8) | 14 protocol(2)`.
 * `packetType` defaults to 0 (to us), `arphrdType` to 1 (Ethernet), `address` to none, and
 * `protocol` to the next layer's EtherType.
 *
 * @example A cooked header for IPv4 from a MAC address
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planSll } from "./encode_link.ts";
 * import assert from "node:assert/strict";
 * const plan = planSll(
 *   new LayerFields({ type: "sll", address: "02:00:00:00:00:01", protocol: 0x0800 }, "layer 1"),
 *   undefined,
 * );
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.ok(view.getUint16(4) === 6 && view.getUint16(14) === 0x0800);
 * ```
 */
export function planSll(fields: LayerFields, next: LayerPlan | undefined): LayerPlan {
  const cooked = cookedFields(fields, next, 16);
  fields.finish();
  return {
    type: "sll",
    size: SLL_HEADER_LENGTH,
    write(view, offset) {
      view.setUint16(offset, cooked.packetType);
      view.setUint16(offset + 2, cooked.arphrdType);
      view.setUint16(offset + 4, cooked.address.length);
      writeBytes(view, offset + 6, cooked.address);
      view.setUint16(offset + 14, cooked.protocol);
    },
  };
}

/**
 * Plans a Linux cooked v2 (SLL2) header: `0 protocol(2) | 2 reserved(2) | 4 interfaceIndex(4) |
 * 8 arphrdType(2) | 10 packetType(1) | 11 addressLength(1) | 12 address(8)`, with the defaults
 * of {@linkcode planSll} and `interfaceIndex` 0.
 *
 * @example An SLL2 header for interface 2
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planSll2 } from "./encode_link.ts";
 * import assert from "node:assert/strict";
 * const plan = planSll2(
 *   new LayerFields({ type: "sll2", interfaceIndex: 2, protocol: 0x86dd }, "layer 1"),
 *   undefined,
 * );
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.ok(view.getUint32(4) === 2 && view.getUint16(0) === 0x86dd);
 * ```
 */
export function planSll2(fields: LayerFields, next: LayerPlan | undefined): LayerPlan {
  const cooked = cookedFields(fields, next, 8);
  const interfaceIndex = fields.uint("interfaceIndex", 32, 0);
  fields.finish();
  return {
    type: "sll2",
    size: SLL2_HEADER_LENGTH,
    write(view, offset) {
      view.setUint16(offset, cooked.protocol);
      view.setUint32(offset + 4, interfaceIndex);
      view.setUint16(offset + 8, cooked.arphrdType);
      view.setUint8(offset + 10, cooked.packetType);
      view.setUint8(offset + 11, cooked.address.length);
      writeBytes(view, offset + 12, cooked.address);
    },
  };
}

/**
 * Plans a BSD loopback header: the address `family` as 4 bytes, little-endian (host order, as
 * LINKTYPE_NULL captures on x86 and arm write it) unless `bigEndian` (LINKTYPE_LOOP). `family`
 * defaults to 2 before IPv4 and 24 before IPv6.
 *
 * @example IPv4 over loopback, host order
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planLoopback } from "./encode_link.ts";
 * import assert from "node:assert/strict";
 * const plan = planLoopback(new LayerFields({ type: "loopback" }, "layer 1"), {
 *   type: "ipv4", size: 20, write() {},
 * }, false);
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.equal(view.getUint32(0, true), 2);
 * ```
 */
export function planLoopback(
  fields: LayerFields,
  next: LayerPlan | undefined,
  bigEndian: boolean,
): LayerPlan {
  const nextFamily = next?.type === "ipv4"
    ? BSD_AF_INET
    : next?.type === "ipv6"
    ? BSD_AF_INET6_PORTABLE
    : undefined;
  const family = fields.chain("family", 32, nextFamily);
  fields.finish();
  return {
    type: "loopback",
    size: LOOPBACK_HEADER_LENGTH,
    write(view, offset) {
      view.setUint32(offset, family, !bigEndian);
    },
  };
}
