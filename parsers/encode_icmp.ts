/**
 * The ICMP (RFC 792) and ICMPv6 (RFC 4443, neighbour discovery RFC 4861) encoders, writing the
 * layouts `icmp.ts` reads:
 *
 * ```text
 * 0 type(1) | 1 code(1) | 2 checksum(2) | 4 id(2) seq(2), or restOfHeader(4) | 8 body
 * NS/NA:    8 target(16) | 24 options       redirect: 8 target | 24 destination | 40 options
 * RA:       8 reachableTime(4) | 12 retransTimer(4) | 16 options        RS: 8 options
 * ND option: 0 type(1) | 1 length(1, units of 8 bytes) | 2 data, zero-padded to the length
 * ```
 *
 * @module
 */

import { LayerFields } from "./build_fields.ts";
import { onesComplementSum } from "./checksum.ts";
import {
  ICMP_HEADER_LENGTH,
  icmpHasEchoFields,
  ICMPV6_TYPES,
  icmpv6HasEchoFields,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
} from "./icmp.ts";
import {
  concatBytes,
  type LayerPlan,
  roundUp,
  upperLayerSum,
  writeBytes,
  writeChecksum,
} from "./layer_plan.ts";

const OFFSET_CHECKSUM = 2;
const OFFSET_REST = 4;
const ND_OPTION_UNIT = 8;
const ND_OPTION_HEAD = 2;
const ND_OPTION_MAX_LENGTH = 0xff * ND_OPTION_UNIT;
const RA_TIMERS_LENGTH = 8;
const SHORT_BITS = 16;

/** Bytes 4-7: id and seq for echo messages, restOfHeader for the rest. */
function headerWord(fields: LayerFields, echo: boolean, echoTypes: string): number {
  const type = fields.record.messageType;
  if (echo) {
    if (fields.has("restOfHeader")) {
      fields.fail(`restOfHeader is for messages other than echo; type ${type} carries id and seq`);
    }
    return ((fields.uint("id", SHORT_BITS, 0) << SHORT_BITS) |
      fields.uint("seq", SHORT_BITS, 0)) >>>
      0;
  }
  if (fields.has("id") || fields.has("seq")) {
    fields.fail(
      `id and seq are only for ${echoTypes}; type ${type} carries restOfHeader (bytes 4-7)`,
    );
  }
  return fields.uint("restOfHeader", 32, 0);
}

/** Neighbour discovery options, each padded to its length in units of 8 bytes. */
function ndOptionsBytes(fields: LayerFields): Uint8Array {
  return concatBytes(
    fields.objects("ndOptions").map((record, i) => {
      const option = new LayerFields(record, `${fields.where} ndOption ${i + 1}`);
      const type = option.uint("type", 8);
      const data = option.hex("data", new Uint8Array(0));
      if (!option.has("data") && !option.has("length")) option.fail("needs data (hex) or length");
      const length = option.optionalUint("length", SHORT_BITS) ??
        roundUp(ND_OPTION_HEAD + data.length, ND_OPTION_UNIT);
      if (length % ND_OPTION_UNIT !== 0 || length > ND_OPTION_MAX_LENGTH) {
        option.fail(
          `length must be a multiple of ${ND_OPTION_UNIT} up to ${ND_OPTION_MAX_LENGTH}, not ${length}`,
        );
      }
      option.finish();
      const bytes = new Uint8Array(Math.max(length, ND_OPTION_HEAD + data.length));
      bytes[0] = type;
      bytes[1] = length / ND_OPTION_UNIT;
      bytes.set(data, ND_OPTION_HEAD);
      return bytes;
    }),
  );
}

/** The ICMPv6 body the record's fields describe after the 8-byte header. */
function icmpv6Body(fields: LayerFields, messageType: number): Uint8Array {
  const targeted = messageType === ICMPV6_TYPES.NEIGHBOR_SOLICITATION ||
    messageType === ICMPV6_TYPES.NEIGHBOR_ADVERTISEMENT || messageType === ICMPV6_TYPES.REDIRECT;
  const redirect = messageType === ICMPV6_TYPES.REDIRECT;
  const advertisement = messageType === ICMPV6_TYPES.ROUTER_ADVERTISEMENT;
  const discovery = targeted || advertisement ||
    messageType === ICMPV6_TYPES.ROUTER_SOLICITATION;
  const refuse = (name: string, carried: boolean, carriers: string) => {
    if (!carried && fields.has(name)) {
      fields.fail(`${name} is only for ${carriers}, not type ${messageType}`);
    }
  };
  refuse("target", targeted, "neighbour solicitation, advertisement and redirect (135-137)");
  refuse("destination", redirect, "redirect (type 137)");
  refuse("reachableTime", advertisement, "router advertisement (type 134)");
  refuse("retransTimer", advertisement, "router advertisement (type 134)");
  refuse("ndOptions", discovery, "neighbour discovery messages (types 133-137)");
  const parts: Uint8Array[] = [];
  if (targeted) parts.push(fields.ipv6("target"));
  if (redirect) parts.push(fields.ipv6("destination"));
  if (advertisement) {
    const timers = new DataView(new ArrayBuffer(RA_TIMERS_LENGTH));
    timers.setUint32(0, fields.uint("reachableTime", 32, 0));
    timers.setUint32(4, fields.uint("retransTimer", 32, 0));
    parts.push(new Uint8Array(timers.buffer));
  }
  if (discovery) parts.push(ndOptionsBytes(fields));
  return concatBytes(parts);
}

/**
 * Plans an ICMP or ICMPv6 header (`version` 4 or 6). `messageType` is required; `code` defaults
 * to 0. Echo messages (and ICMP timestamps) carry `id` and `seq` (default 0), every other type
 * `restOfHeader` (default 0). ICMPv6 neighbour discovery messages take their `target`,
 * `destination`, router advertisement timers and `ndOptions` (each `{type, data}` in hex, padded
 * to a multiple of 8). The checksum covers everything to the end of the IP datagram, with the
 * IPv6 pseudo header for ICMPv6; a `checksum` given is written as given.
 *
 * @example An echo request
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planIcmp } from "./encode_icmp.ts";
 * import assert from "node:assert/strict";
 * const plan = planIcmp(
 *   new LayerFields({ type: "icmp", messageType: 8, id: 7, seq: 1 }, "layer 2"),
 *   4,
 * );
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * plan.fillChecksum?.(view, 0, plan.size, undefined);
 * assert.ok(view.getUint16(4) === 7 && view.getUint16(2) === 0xf7f7);
 * ```
 */
export function planIcmp(fields: LayerFields, version: 4 | 6): LayerPlan {
  fields.ignore("checksumValid");
  const v6 = version === 6;
  const messageType = fields.uint("messageType", 8);
  const code = fields.uint("code", 8, 0);
  const checksum = fields.optionalUint("checksum", SHORT_BITS);
  const word = v6
    ? headerWord(fields, icmpv6HasEchoFields(messageType), "echo messages (types 128, 129)")
    : headerWord(
      fields,
      icmpHasEchoFields(messageType),
      "echo and timestamp messages (types 0, 8, 13, 14)",
    );
  const body = v6 ? icmpv6Body(fields, messageType) : new Uint8Array(0);
  fields.finish();
  return {
    type: v6 ? "icmpv6" : "icmp",
    size: ICMP_HEADER_LENGTH + body.length,
    ipProtocol: v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
    write(view, offset) {
      view.setUint8(offset, messageType);
      view.setUint8(offset + 1, code);
      view.setUint16(offset + OFFSET_CHECKSUM, checksum ?? 0);
      view.setUint32(offset + OFFSET_REST, word);
      writeBytes(view, offset + ICMP_HEADER_LENGTH, body);
    },
    fillChecksum(view, offset, end, ip) {
      if (checksum !== undefined) return;
      if (v6 && ip === undefined) fields.fail("needs an IPv6 layer before it for its checksum");
      const sum = v6
        ? upperLayerSum(view, offset, end, ip!, IPPROTO_ICMPV6)
        : onesComplementSum(view, offset, end);
      writeChecksum(view, offset + OFFSET_CHECKSUM, sum, false);
    },
  };
}
