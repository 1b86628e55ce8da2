/**
 * The IPv6 encoder (RFC 8200) with its extension headers, writing the layouts `ipv6.ts` reads:
 *
 * ```text
 * 0 version(4) trafficClass(8) flowLabel(20) | 4 payloadLength(2) | 6 nextHeader(1)
 * 7 hopLimit(1) | 8 src(16) | 24 dst(16) | 40 extension headers, then the upper layer
 * options (hop-by-hop, destination): 0 nextHeader | 1 hdrExtLen | 2 options, padded to 8n
 * routing:  0 nextHeader | 1 hdrExtLen | 2 routingType | 3 segmentsLeft | 4 data, padded to 8n
 * fragment: 0 nextHeader | 1 reserved | 2 offset(13) res(2) M(1) | 4 id(4)
 * AH:       0 nextHeader | 1 payloadLen | 2 reserved(2) | 4 spi(4) | 8 data
 * ESP:      0 spi(4), then the payload (sequence number and ciphertext)
 * ```
 *
 * @module
 */

import { LayerFields } from "./build_fields.ts";
import { onesComplementSum } from "./checksum.ts";
import { optionBytes } from "./encode_option.ts";
import { ETHERTYPE_IPV6 } from "./ethernet.ts";
import {
  decodeIpv6,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_ESP,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
  IPV6_HEADER_LENGTH,
  IPV6_OFFSET_DST,
  IPV6_OFFSET_SRC,
  newIpv6Walk,
} from "./ipv6.ts";
import { DEFAULT_TTL } from "./encode_ipv4.ts";
import { concatBytes, headerLength, type LayerPlan, writeBytes } from "./layer_plan.ts";
import type { Ipv6Extension } from "./types.ts";

/** IP protocol number of IPv6 (IPv6 in IP). */
export const IPPROTO_IPV6 = 41;
/** Largest value of the 16-bit payload length (jumbograms are not built). */
export const IPV6_MAX_PAYLOAD_LENGTH = 0xffff;

const VERSION_6 = 6;
const VERSION_SHIFT = 28;
const TRAFFIC_CLASS_SHIFT = 20;
const FLOW_LABEL_BITS = 20;
const OFFSET_PAYLOAD_LENGTH = 4;
const OFFSET_NEXT_HEADER = 6;
const OFFSET_HOP_LIMIT = 7;
const ADDRESS_LENGTH = 16;
/** Extension headers (but AH) come in units of 8 bytes; AH in units of 4. */
const EXTENSION_UNIT = 8;
const AH_UNIT = 4;
/** The largest extension header: a length byte of 255. */
const MAX_EXTENSION_LENGTH = (0xff + 1) * EXTENSION_UNIT;
const MAX_AH_LENGTH = (0xff + 2) * AH_UNIT;
const EXTENSION_HEAD_LENGTH = 2;
const ROUTING_FIXED_LENGTH = 4;
const FRAGMENT_LENGTH = 8;
const FRAGMENT_OFFSET_MAX = 0xfff8;
const FRAGMENT_UNIT = 8;
const AH_FIXED_LENGTH = 8;
const AH_SPI_OFFSET = 4;
const ESP_SPI_LENGTH = 4;
const OPTION_PAD1 = 0;
const OPTION_PADN = 1;
const OPTION_LENGTH_ADJUST = 2;

/** The Next Header value of each extension header type. */
const EXTENSION_NUMBERS: Readonly<Record<Ipv6Extension["type"], number>> = {
  hopByHop: IPPROTO_HOPOPTS,
  routing: IPPROTO_ROUTING,
  fragment: IPPROTO_FRAGMENT,
  destinationOptions: IPPROTO_DSTOPTS,
  ah: IPPROTO_AH,
  esp: IPPROTO_ESP,
};

function isExtensionType(type: unknown): type is Ipv6Extension["type"] {
  return typeof type === "string" && Object.hasOwn(EXTENSION_NUMBERS, type);
}

/** Pad1 or PadN bytes filling `count` bytes of an options header. */
function padding(count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  if (count >= OPTION_LENGTH_ADJUST) {
    bytes[0] = OPTION_PADN;
    bytes[1] = count - OPTION_LENGTH_ADJUST;
  }
  return bytes;
}

/** An extension header's `length`: the record's, checked, or its content rounded up. */
function extensionLength(fields: LayerFields, content: number, unit: number, max: number): number {
  return headerLength(fields, "length", content, unit, EXTENSION_UNIT, max);
}

/** Hop-by-hop or destination options: the options, padded with Pad1/PadN to a multiple of 8. */
function optionsHeader(fields: LayerFields, nextHeader: number): Uint8Array {
  const options = concatBytes(
    fields.objects("options").map((record, i) => {
      const option = new LayerFields(record, `${fields.where} option ${i + 1}`);
      const type = option.uint("type", 8);
      const bytes = optionBytes(option, type, OPTION_LENGTH_ADJUST, type === OPTION_PAD1);
      option.finish();
      return bytes;
    }),
  );
  const content = EXTENSION_HEAD_LENGTH + options.length;
  const length = extensionLength(fields, content, EXTENSION_UNIT, MAX_EXTENSION_LENGTH);
  return concatBytes([
    Uint8Array.of(nextHeader, length / EXTENSION_UNIT - 1),
    options,
    padding(length - content),
  ]);
}

/** A routing header: type, segments left and the rest as `data`, zero-padded to a multiple of 8. */
function routingHeader(fields: LayerFields, nextHeader: number): Uint8Array {
  const routingType = fields.uint("routingType", 8);
  const segmentsLeft = fields.uint("segmentsLeft", 8, 0);
  const data = fields.hex("data", new Uint8Array(0));
  const length = extensionLength(
    fields,
    ROUTING_FIXED_LENGTH + data.length,
    EXTENSION_UNIT,
    MAX_EXTENSION_LENGTH,
  );
  const bytes = new Uint8Array(length);
  bytes.set([nextHeader, length / EXTENSION_UNIT - 1, routingType, segmentsLeft]);
  bytes.set(data, ROUTING_FIXED_LENGTH);
  return bytes;
}

/** A fragment header: offset in bytes (a multiple of 8), more-fragments flag and id. */
function fragmentHeader(fields: LayerFields, nextHeader: number): Uint8Array {
  const offset = fields.uint("offset", 16, 0);
  if (offset % FRAGMENT_UNIT !== 0 || offset > FRAGMENT_OFFSET_MAX) {
    fields.fail(`offset is in bytes and must be a multiple of 8 up to 65528, not ${offset}`);
  }
  const moreFragments = fields.bool("moreFragments", false);
  const id = fields.uint("id", 32, 0);
  extensionLength(fields, FRAGMENT_LENGTH, FRAGMENT_LENGTH, FRAGMENT_LENGTH);
  const bytes = new Uint8Array(FRAGMENT_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, nextHeader);
  view.setUint16(2, offset | (moreFragments ? 1 : 0));
  view.setUint32(4, id);
  return bytes;
}

/** An authentication header: SPI, then `data` (sequence number and ICV), in units of 4 bytes. */
function ahHeader(fields: LayerFields, nextHeader: number): Uint8Array {
  const spi = fields.uint("spi", 32, 0);
  const data = fields.hex("data", new Uint8Array(0));
  const length = headerLength(
    fields,
    "length",
    AH_FIXED_LENGTH + data.length,
    AH_UNIT,
    AH_FIXED_LENGTH,
    MAX_AH_LENGTH,
  );
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, nextHeader);
  view.setUint8(1, length / AH_UNIT - 2);
  view.setUint32(AH_SPI_OFFSET, spi);
  bytes.set(data, AH_FIXED_LENGTH);
  return bytes;
}

/** The extension headers of a record, each with its Next Header filled in. */
function extensionsBytes(
  fields: LayerFields,
  upper: number | undefined,
): { bytes: Uint8Array; first: number | undefined } {
  const records = fields.objects("extensions");
  const types = records.map((record, i) => {
    if (!isExtensionType(record.type)) {
      fields.fail(
        `extension ${i + 1} has type ${JSON.stringify(record.type)}; give one of ` +
          Object.keys(EXTENSION_NUMBERS).join(", "),
      );
    }
    return record.type;
  });
  const parts = records.map((record, i) => {
    const type = types[i]!;
    const where = `${fields.where} extension ${i + 1} (${type})`;
    const extension = new LayerFields(record, where);
    if (type === "esp") {
      if (i < records.length - 1 || upper !== undefined) {
        extension.fail("only the payload can follow esp (it is encrypted)");
      }
      extension.ignore("length");
      const spi = extension.uint("spi", 32, 0);
      extension.finish();
      const bytes = new Uint8Array(ESP_SPI_LENGTH);
      new DataView(bytes.buffer).setUint32(0, spi);
      return bytes;
    }
    const following = i + 1 < types.length ? EXTENSION_NUMBERS[types[i + 1]!] : upper;
    const nextHeader = extension.chain("nextHeader", 8, following);
    let bytes: Uint8Array;
    if (type === "routing") bytes = routingHeader(extension, nextHeader);
    else if (type === "fragment") bytes = fragmentHeader(extension, nextHeader);
    else if (type === "ah") bytes = ahHeader(extension, nextHeader);
    else bytes = optionsHeader(extension, nextHeader);
    extension.finish();
    return bytes;
  });
  return {
    bytes: concatBytes(parts),
    first: types.length > 0 ? EXTENSION_NUMBERS[types[0]!] : undefined,
  };
}

/**
 * Plans an IPv6 header and its extension headers. `src` and `dst` are required. Defaults:
 * version 6, traffic class and flow label 0, hop limit 64, each Next Header from what follows it,
 * payload length to the end of the packet. Extension headers are padded to their units (options
 * with Pad1/PadN); a `length` given must hold their fields.
 *
 * @example UDP with a hop-by-hop router alert
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planIpv6 } from "./encode_ipv6.ts";
 * import assert from "node:assert/strict";
 * const fields = new LayerFields({
 *   type: "ipv6", src: "fd00::1", dst: "fd00::2",
 *   extensions: [{ type: "hopByHop", options: [{ type: 5, data: "0000" }] }],
 * }, "layer 1");
 * const plan = planIpv6(fields, { type: "udp", size: 8, ipProtocol: 17, write() {} });
 * const view = new DataView(new ArrayBuffer(plan.size + 8));
 * plan.write(view, 0);
 * plan.fillLengths?.(view, 0, plan.size + 8);
 * assert.ok(view.getUint8(6) === 0 && view.getUint8(40) === 17 && view.getUint16(4) === 16);
 * ```
 */
export function planIpv6(fields: LayerFields, next: LayerPlan | undefined): LayerPlan {
  const src = fields.ipv6("src");
  const dst = fields.ipv6("dst");
  const version = fields.uint("version", 4, VERSION_6);
  const trafficClass = fields.uint("trafficClass", 8, 0);
  const flowLabel = fields.uint("flowLabel", FLOW_LABEL_BITS, 0);
  const payloadLength = fields.optionalUint("payloadLength", 16);
  const hopLimit = fields.uint("hopLimit", 8, DEFAULT_TTL);
  const extensions = extensionsBytes(fields, next?.ipProtocol);
  const nextHeader = fields.chain("nextHeader", 8, extensions.first ?? next?.ipProtocol);
  fields.finish();
  const size = IPV6_HEADER_LENGTH + extensions.bytes.length;
  return {
    type: "ipv6",
    size,
    etherType: ETHERTYPE_IPV6,
    ipProtocol: IPPROTO_IPV6,
    write(view, offset) {
      view.setUint32(
        offset,
        ((version << VERSION_SHIFT) | (trafficClass << TRAFFIC_CLASS_SHIFT) | flowLabel) >>> 0,
      );
      view.setUint16(offset + OFFSET_PAYLOAD_LENGTH, payloadLength ?? 0);
      view.setUint8(offset + OFFSET_NEXT_HEADER, nextHeader);
      view.setUint8(offset + OFFSET_HOP_LIMIT, hopLimit);
      writeBytes(view, offset + IPV6_OFFSET_SRC, src);
      writeBytes(view, offset + IPV6_OFFSET_DST, dst);
      writeBytes(view, offset + IPV6_HEADER_LENGTH, extensions.bytes);
    },
    fillLengths(view, offset, end) {
      let length = payloadLength;
      if (length === undefined) {
        length = end - offset - IPV6_HEADER_LENGTH;
        if (length > IPV6_MAX_PAYLOAD_LENGTH) {
          fields.fail(
            `the payload is ${length} bytes, more than an IPv6 payload length can say ` +
              `(${IPV6_MAX_PAYLOAD_LENGTH}); send it as fragments`,
          );
        }
        view.setUint16(offset + OFFSET_PAYLOAD_LENGTH, length);
      }
      return Math.min(end, Math.max(offset + size, offset + IPV6_HEADER_LENGTH + length));
    },
    ipContext(view, offset, end) {
      // The decoder's walk finds the destination the checksum uses (the final one when routed).
      const walk = newIpv6Walk();
      decodeIpv6(view, offset, end, end, walk);
      return {
        version: VERSION_6,
        addressSum: onesComplementSum(
          view,
          offset + IPV6_OFFSET_SRC,
          offset + IPV6_OFFSET_SRC + ADDRESS_LENGTH,
        ) + onesComplementSum(view, walk.finalDstOffset, walk.finalDstOffset + ADDRESS_LENGTH),
      };
    },
  };
}
