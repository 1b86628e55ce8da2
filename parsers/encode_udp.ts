/**
 * The UDP encoder (RFC 768), writing the layout `udp.ts` reads:
 *
 * ```text
 * 0 srcPort(2) | 2 dstPort(2) | 4 length(2) | 6 checksum(2) | 8 payload
 * ```
 *
 * @module
 */

import type { LayerFields } from "./build_fields.ts";
import { type LayerPlan, upperLayerSum, writeChecksum } from "./layer_plan.ts";
import { IPPROTO_UDP, UDP_HEADER_LENGTH } from "./udp.ts";

const OFFSET_LENGTH = 4;
const OFFSET_CHECKSUM = 6;
const MAX_LENGTH = 0xffff;

/**
 * Plans a UDP header. `srcPort` and `dstPort` are required; `length` defaults to the end of the
 * IP datagram, and the checksum is computed over the pseudo header and `length` bytes (a computed
 * zero is written as 0xffff). A `checksum` given, 0 included ("none", over IPv4), is written as
 * given.
 *
 * @example A DNS query's header
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planUdp } from "./encode_udp.ts";
 * import assert from "node:assert/strict";
 * const plan = planUdp(new LayerFields({ type: "udp", srcPort: 5353, dstPort: 53 }, "layer 2"));
 * const view = new DataView(new ArrayBuffer(20));
 * plan.write(view, 0);
 * plan.fillLengths?.(view, 0, 20);
 * assert.equal(view.getUint16(4), 20);
 * ```
 */
export function planUdp(fields: LayerFields): LayerPlan {
  fields.ignore("checksumValid");
  const srcPort = fields.uint("srcPort", 16);
  const dstPort = fields.uint("dstPort", 16);
  const length = fields.optionalUint("length", 16);
  const checksum = fields.optionalUint("checksum", 16);
  fields.finish();
  return {
    type: "udp",
    size: UDP_HEADER_LENGTH,
    ipProtocol: IPPROTO_UDP,
    write(view, offset) {
      view.setUint16(offset, srcPort);
      view.setUint16(offset + 2, dstPort);
      view.setUint16(offset + OFFSET_LENGTH, length ?? 0);
      view.setUint16(offset + OFFSET_CHECKSUM, checksum ?? 0);
    },
    fillLengths(view, offset, end) {
      if (length === undefined) {
        if (end - offset > MAX_LENGTH) {
          fields.fail(
            `the datagram is ${end - offset} bytes, more than a UDP length can say (${MAX_LENGTH})`,
          );
        }
        view.setUint16(offset + OFFSET_LENGTH, end - offset);
      }
      return end;
    },
    fillChecksum(view, offset, end, ip) {
      if (checksum !== undefined) return;
      if (ip === undefined) fields.fail("needs an IP layer before it for its checksum");
      const udpLength = view.getUint16(offset + OFFSET_LENGTH);
      const covered = Math.min(offset + udpLength, end);
      const sum = upperLayerSum(view, offset, covered, ip, IPPROTO_UDP, udpLength);
      writeChecksum(view, offset + OFFSET_CHECKSUM, sum, true);
    },
  };
}
