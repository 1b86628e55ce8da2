/**
 * The IPv4 encoder (RFC 791), writing the layout `ipv4.ts` reads:
 *
 * ```text
 * 0 version(4) ihl(4) | 1 dscp(6) ecn(2) | 2 totalLength(2) | 4 id(2)
 * 6 flags(3) fragmentOffset(13) | 8 ttl(1) | 9 protocol(1) | 10 checksum(2)
 * 12 src(4) | 16 dst(4) | 20 options, zero-padded to ihl * 4
 * ```
 *
 * @module
 */

import { LayerFields } from "./build_fields.ts";
import { onesComplementSum } from "./checksum.ts";
import { optionBytes } from "./encode_option.ts";
import { ETHERTYPE_IPV4 } from "./ethernet.ts";
import {
  IPV4_MIN_HEADER_LENGTH,
  IPV4_OFFSET_DST,
  IPV4_OFFSET_SRC,
  IPV4_OPTION_EOL,
  IPV4_OPTION_NOP,
} from "./ipv4.ts";
import {
  concatBytes,
  headerLength as headerLengthOf,
  type LayerPlan,
  writeBytes,
  writeChecksum,
} from "./layer_plan.ts";

/** IP protocol number of IPv4 itself (IP in IP). */
export const IPPROTO_IPIP = 4;
/** The largest IPv4 header: IHL 15. */
export const IPV4_MAX_HEADER_LENGTH = 60;
/** Largest value of the 16-bit total length. */
export const IPV4_MAX_TOTAL_LENGTH = 0xffff;
/** TTL (and IPv6 hop limit) of a record that gives none, as Linux and Scapy default to. */
export const DEFAULT_TTL = 64;
/** Identification of a record that gives none, as Scapy's (0 asks the kernel to pick one). */
export const DEFAULT_IPV4_ID = 1;

const IHL_UNIT = 4;
const FRAGMENT_UNIT = 8;
const FRAGMENT_OFFSET_BITS = 13;
const FLAG_RESERVED = 0x8000;
const FLAG_DONT_FRAGMENT = 0x4000;
const FLAG_MORE_FRAGMENTS = 0x2000;
const OFFSET_TOTAL_LENGTH = 2;
const OFFSET_ID = 4;
const OFFSET_FLAGS = 6;
const OFFSET_TTL = 8;
const OFFSET_PROTOCOL = 9;
const OFFSET_CHECKSUM = 10;
const VERSION_4 = 4;
const ADDRESS_LENGTH = 4;

/** The options of a record, one after another. */
function optionsBytes(fields: LayerFields): Uint8Array {
  const parts = fields.objects("options").map((record, i) => {
    const option = new LayerFields(record, `${fields.where} option ${i + 1}`);
    const type = option.uint("type", 8);
    const bytes = optionBytes(
      option,
      type,
      0,
      type === IPV4_OPTION_EOL || type === IPV4_OPTION_NOP,
    );
    option.finish();
    return bytes;
  });
  return concatBytes(parts);
}

/**
 * Plans an IPv4 header. `src` and `dst` are required. Defaults: version 4, dscp and ecn 0, id 1,
 * no flags, fragment offset 0, TTL 64, protocol from the next layer, header length from the
 * options (zero-padded to a multiple of 4, as after an EOL), total length to the end of the
 * packet, and the header checksum computed. A `checksum` given is written as given.
 *
 * @example A UDP datagram's IP header
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planIpv4 } from "./encode_ipv4.ts";
 * import assert from "node:assert/strict";
 * const fields = new LayerFields({ type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, "layer 1");
 * const plan = planIpv4(fields, { type: "udp", size: 8, ipProtocol: 17, write() {} });
 * const view = new DataView(new ArrayBuffer(28));
 * plan.write(view, 0);
 * plan.fillLengths?.(view, 0, 28);
 * plan.fillChecksum?.(view, 0, 28, undefined);
 * assert.ok(view.getUint16(2) === 28 && view.getUint8(9) === 17 && view.getUint8(8) === 64);
 * ```
 */
export function planIpv4(fields: LayerFields, next: LayerPlan | undefined): LayerPlan {
  fields.ignore("checksumValid");
  const src = fields.ipv4("src");
  const dst = fields.ipv4("dst");
  const version = fields.uint("version", 4, VERSION_4);
  const dscp = fields.uint("dscp", 6, 0);
  const ecn = fields.uint("ecn", 2, 0);
  const totalLength = fields.optionalUint("totalLength", 16);
  const id = fields.uint("id", 16, DEFAULT_IPV4_ID);
  const reserved = fields.bool("reservedFlag", false);
  const dontFragment = fields.bool("dontFragment", false);
  const moreFragments = fields.bool("moreFragments", false);
  const fragmentOffset = fields.uint("fragmentOffset", FRAGMENT_OFFSET_BITS + 3, 0);
  if (fragmentOffset % FRAGMENT_UNIT !== 0) {
    fields.fail(`fragmentOffset is in bytes and must be a multiple of 8, not ${fragmentOffset}`);
  }
  const ttl = fields.uint("ttl", 8, DEFAULT_TTL);
  const protocol = fields.chain("protocol", 8, next?.ipProtocol);
  const checksum = fields.optionalUint("checksum", 16);
  const options = optionsBytes(fields);
  const headerLength = headerLengthOf(
    fields,
    "headerLength",
    IPV4_MIN_HEADER_LENGTH + options.length,
    IHL_UNIT,
    IPV4_MIN_HEADER_LENGTH,
    IPV4_MAX_HEADER_LENGTH,
  );
  fields.finish();
  const flags = (reserved ? FLAG_RESERVED : 0) | (dontFragment ? FLAG_DONT_FRAGMENT : 0) |
    (moreFragments ? FLAG_MORE_FRAGMENTS : 0);
  return {
    type: "ipv4",
    size: headerLength,
    etherType: ETHERTYPE_IPV4,
    ipProtocol: IPPROTO_IPIP,
    write(view, offset) {
      view.setUint8(offset, (version << 4) | (headerLength / IHL_UNIT));
      view.setUint8(offset + 1, (dscp << 2) | ecn);
      view.setUint16(offset + OFFSET_TOTAL_LENGTH, totalLength ?? 0);
      view.setUint16(offset + OFFSET_ID, id);
      view.setUint16(offset + OFFSET_FLAGS, flags | (fragmentOffset / FRAGMENT_UNIT));
      view.setUint8(offset + OFFSET_TTL, ttl);
      view.setUint8(offset + OFFSET_PROTOCOL, protocol);
      view.setUint16(offset + OFFSET_CHECKSUM, checksum ?? 0);
      writeBytes(view, offset + IPV4_OFFSET_SRC, src);
      writeBytes(view, offset + IPV4_OFFSET_DST, dst);
      writeBytes(view, offset + IPV4_MIN_HEADER_LENGTH, options);
    },
    fillLengths(view, offset, end) {
      let length = totalLength;
      if (length === undefined) {
        length = end - offset;
        if (length > IPV4_MAX_TOTAL_LENGTH) {
          fields.fail(
            `the datagram is ${length} bytes, more than an IPv4 total length can say ` +
              `(${IPV4_MAX_TOTAL_LENGTH}); send it as fragments`,
          );
        }
        view.setUint16(offset + OFFSET_TOTAL_LENGTH, length);
      }
      return Math.min(end, Math.max(offset + headerLength, offset + length));
    },
    fillChecksum(view, offset) {
      if (checksum !== undefined) return;
      const sum = onesComplementSum(view, offset, offset + headerLength);
      writeChecksum(view, offset + OFFSET_CHECKSUM, sum, false);
    },
    ipContext(view, offset) {
      return {
        version: VERSION_4,
        addressSum: onesComplementSum(
          view,
          offset + IPV4_OFFSET_SRC,
          offset + IPV4_OFFSET_DST + ADDRESS_LENGTH,
        ),
      };
    },
  };
}
