/**
 * The ARP and RARP encoder (RFC 826), writing the layout `arp.ts` reads:
 *
 * ```text
 * 0 hardwareType(2) | 2 protocolType(2) | 4 hln(1) | 5 pln(1) | 6 opcode(2)
 * 8 senderHardware(hln) | senderProtocol(pln) | targetHardware(hln) | targetProtocol(pln)
 * ```
 *
 * @module
 */

import { parseIpv4, parseLinkAddress } from "./address_parse.ts";
import { ARP_FIXED_LENGTH, ARP_REQUEST } from "./arp.ts";
import type { LayerFields } from "./build_fields.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "./ethernet.ts";
import { type LayerPlan, writeBytes } from "./layer_plan.ts";

/** ARPHRD_ETHER: hardware type 1. */
const HARDWARE_ETHERNET = 1;
const BYTE_BITS = 8;

/** A protocol address: a dotted quad, or colon-separated hex bytes as the decoder prints others. */
function protocolAddress(fields: LayerFields, name: string): Uint8Array {
  const text = fields.text(name);
  const bytes = parseIpv4(text) ?? parseLinkAddress(text);
  if (bytes === undefined) {
    fields.fail(`${name} must be an IPv4 address or colon-separated hex bytes, not "${text}"`);
  }
  return bytes;
}

/** Checks that an address has the size the header announces. */
function sized(
  fields: LayerFields,
  name: string,
  bytes: Uint8Array,
  size: number,
  sizeName: string,
) {
  if (bytes.length !== size) {
    fields.fail(`${name} has ${bytes.length} bytes but ${sizeName} is ${size}`);
  }
}

/**
 * Plans an ARP packet. `senderMac`, `senderIp` and `targetIp` are required; `opcode` defaults to
 * 1 (request), `targetMac` to zeros, the types to Ethernet and IPv4, and the sizes to those of
 * the sender's addresses.
 *
 * @example A who-has request
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planArp } from "./encode_arp.ts";
 * import assert from "node:assert/strict";
 * const plan = planArp(new LayerFields({
 *   type: "arp", senderMac: "02:00:00:00:00:01", senderIp: "10.0.0.1", targetIp: "10.0.0.2",
 * }, "layer 2"));
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.ok(plan.size === 28 && view.getUint8(27) === 2);
 * ```
 */
export function planArp(fields: LayerFields): LayerPlan {
  const hardwareType = fields.uint("hardwareType", 16, HARDWARE_ETHERNET);
  const protocolType = fields.uint("protocolType", 16, ETHERTYPE_IPV4);
  const opcode = fields.uint("opcode", 16, ARP_REQUEST);
  const senderMac = fields.linkAddress("senderMac");
  const senderIp = protocolAddress(fields, "senderIp");
  const hardwareSize = fields.uint("hardwareSize", BYTE_BITS, senderMac.length);
  const protocolSize = fields.uint("protocolSize", BYTE_BITS, senderIp.length);
  const targetMac = fields.has("targetMac")
    ? fields.linkAddress("targetMac")
    : new Uint8Array(hardwareSize);
  const targetIp = protocolAddress(fields, "targetIp");
  sized(fields, "senderMac", senderMac, hardwareSize, "hardwareSize");
  sized(fields, "targetMac", targetMac, hardwareSize, "hardwareSize");
  sized(fields, "senderIp", senderIp, protocolSize, "protocolSize");
  sized(fields, "targetIp", targetIp, protocolSize, "protocolSize");
  fields.finish();
  return {
    type: "arp",
    size: ARP_FIXED_LENGTH + 2 * (hardwareSize + protocolSize),
    etherType: ETHERTYPE_ARP,
    write(view, offset) {
      view.setUint16(offset, hardwareType);
      view.setUint16(offset + 2, protocolType);
      view.setUint8(offset + 4, hardwareSize);
      view.setUint8(offset + 5, protocolSize);
      view.setUint16(offset + 6, opcode);
      let at = offset + ARP_FIXED_LENGTH;
      for (const address of [senderMac, senderIp, targetMac, targetIp]) {
        writeBytes(view, at, address);
        at += address.length;
      }
    },
  };
}
