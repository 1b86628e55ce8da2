/**
 * The TCP encoder (RFC 9293), writing the layout `tcp.ts` reads:
 *
 * ```text
 * 0 srcPort(2) | 2 dstPort(2) | 4 seq(4) | 8 ack(4)
 * 12 dataOffset(4) flags(12) | 14 window(2) | 16 checksum(2) | 18 urgentPointer(2)
 * 20 options, zero-padded (EOL) to dataOffset * 4
 * ```
 *
 * @module
 */

import { LayerFields } from "./build_fields.ts";
import { optionBytes } from "./encode_option.ts";
import {
  concatBytes,
  headerLength as headerLengthOf,
  type LayerPlan,
  upperLayerSum,
  writeBytes,
  writeChecksum,
} from "./layer_plan.ts";
import {
  IPPROTO_TCP,
  TCP_FLAGS,
  TCP_MIN_HEADER_LENGTH,
  TCP_OPTION_EOL,
  TCP_OPTION_MSS,
  TCP_OPTION_NOP,
  TCP_OPTION_SACK,
  TCP_OPTION_SACK_PERMITTED,
  TCP_OPTION_TIMESTAMP,
  TCP_OPTION_WINDOW_SCALE,
} from "./tcp.ts";

/** The largest TCP header: data offset 15. */
const TCP_MAX_HEADER_LENGTH = 60;
/** Flags of a record that gives none: a SYN, as Scapy's TCP() is. */
export const DEFAULT_TCP_FLAGS = TCP_FLAGS.SYN;
/** Window of a record that gives none. */
export const DEFAULT_TCP_WINDOW = 0xffff;

const DATA_OFFSET_UNIT = 4;
const DATA_OFFSET_SHIFT = 12;
const FLAG_BITS = 12;
const OFFSET_SEQ = 4;
const OFFSET_ACK = 8;
const OFFSET_FLAGS = 12;
const OFFSET_WINDOW = 14;
const OFFSET_CHECKSUM = 16;
const OFFSET_URGENT = 18;
const OPTION_HEAD_LENGTH = 2;
/** Standard sizes of the known options, for their length bytes. */
const MSS_LENGTH = 4;
const WINDOW_SCALE_LENGTH = 3;
const SACK_PERMITTED_LENGTH = 2;
const TIMESTAMP_LENGTH = 10;

/** Scapy's flag letters, for records that spell flags out: `"S"`, `"SA"`, `"FPA"`. */
const FLAG_LETTERS: Readonly<Record<string, number>> = {
  F: TCP_FLAGS.FIN,
  S: TCP_FLAGS.SYN,
  R: TCP_FLAGS.RST,
  P: TCP_FLAGS.PSH,
  A: TCP_FLAGS.ACK,
  U: TCP_FLAGS.URG,
  E: TCP_FLAGS.ECE,
  C: TCP_FLAGS.CWR,
  N: TCP_FLAGS.AE,
};

/** `flags` as the 12-bit number, or as Scapy's letters. */
function flagsOf(fields: LayerFields): number {
  const value = fields.raw("flags");
  if (typeof value !== "string") return fields.uint("flags", FLAG_BITS, DEFAULT_TCP_FLAGS);
  let flags = 0;
  for (const letter of value) {
    const bit = FLAG_LETTERS[letter];
    if (bit === undefined) {
      fields.fail(
        `flags must be a number or letters of ${Object.keys(FLAG_LETTERS).join("")}, ` +
          `not "${value}"`,
      );
    }
    flags |= bit;
  }
  return flags;
}

/** A known option's bytes: kind, length (as given, or the standard one), then its value. */
function knownOption(option: LayerFields, kind: number, standard: number, value: Uint8Array) {
  const length = option.uint("length", 8, standard);
  return concatBytes([Uint8Array.of(kind, length), value]);
}

function u16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

/** The SACK blocks of a record: `[[left, right], ...]`. */
function sackBlocks(option: LayerFields): Uint8Array {
  const blocks = option.raw("blocks");
  if (!Array.isArray(blocks) || blocks.length === 0) {
    option.fail("needs blocks: a list of [left edge, right edge] pairs");
  }
  return concatBytes(blocks.map((block, i) => {
    if (!Array.isArray(block) || block.length !== 2) {
      option.fail(`block ${i + 1} must be a [left edge, right edge] pair`);
    }
    const max = 2 ** 32 - 1;
    return concatBytes([
      u32(option.checkUint(`block ${i + 1} left edge`, block[0], max)),
      u32(option.checkUint(`block ${i + 1} right edge`, block[1], max)),
    ]);
  }));
}

/** One option's bytes from its record. */
function tcpOption(option: LayerFields): Uint8Array {
  const kind = option.uint("kind", 8);
  if (option.has("data")) return optionBytes(option, kind, 0, false);
  switch (kind) {
    case TCP_OPTION_MSS:
      return knownOption(option, kind, MSS_LENGTH, u16(option.uint("mss", 16)));
    case TCP_OPTION_WINDOW_SCALE:
      return knownOption(option, kind, WINDOW_SCALE_LENGTH, Uint8Array.of(option.uint("shift", 8)));
    case TCP_OPTION_SACK_PERMITTED:
      return knownOption(option, kind, SACK_PERMITTED_LENGTH, new Uint8Array(0));
    case TCP_OPTION_TIMESTAMP:
      return knownOption(
        option,
        kind,
        TIMESTAMP_LENGTH,
        concatBytes([u32(option.uint("tsval", 32)), u32(option.uint("tsecr", 32, 0))]),
      );
    case TCP_OPTION_SACK: {
      const blocks = sackBlocks(option);
      return knownOption(option, kind, OPTION_HEAD_LENGTH + blocks.length, blocks);
    }
    default:
      return optionBytes(option, kind, 0, kind === TCP_OPTION_EOL || kind === TCP_OPTION_NOP);
  }
}

/**
 * Plans a TCP header. `srcPort` and `dstPort` are required. Defaults: seq and ack 0, flags SYN
 * (a number, or Scapy's letters such as `"SA"`), window 65535, urgent pointer 0, header length
 * from the options (zero-padded to a multiple of 4), and the checksum computed over the IPv4 or
 * IPv6 pseudo header and everything to the end of the IP datagram. Known options (MSS, window
 * scale, SACK-permitted, SACK, timestamps) are written from their fields; any option with `data`
 * (hex) is written as kind, length and data.
 *
 * @example A SYN with an MSS option
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { planTcp } from "./encode_tcp.ts";
 * import assert from "node:assert/strict";
 * const plan = planTcp(new LayerFields({
 *   type: "tcp", srcPort: 40000, dstPort: 80, options: [{ kind: 2, mss: 1460 }],
 * }, "layer 2"));
 * const view = new DataView(new ArrayBuffer(plan.size));
 * plan.write(view, 0);
 * assert.ok(plan.size === 24 && view.getUint8(12) === 0x60 && view.getUint16(22) === 1460);
 * ```
 */
export function planTcp(fields: LayerFields): LayerPlan {
  fields.ignore("checksumValid", "payloadLength");
  const srcPort = fields.uint("srcPort", 16);
  const dstPort = fields.uint("dstPort", 16);
  const seq = fields.uint("seq", 32, 0);
  const ack = fields.uint("ack", 32, 0);
  const flags = flagsOf(fields);
  const window = fields.uint("window", 16, DEFAULT_TCP_WINDOW);
  const checksum = fields.optionalUint("checksum", 16);
  const urgentPointer = fields.uint("urgentPointer", 16, 0);
  const options = concatBytes(
    fields.objects("options").map((record, i) => {
      const option = new LayerFields(record, `${fields.where} option ${i + 1}`);
      const bytes = tcpOption(option);
      option.finish();
      return bytes;
    }),
  );
  const headerLength = headerLengthOf(
    fields,
    "headerLength",
    TCP_MIN_HEADER_LENGTH + options.length,
    DATA_OFFSET_UNIT,
    TCP_MIN_HEADER_LENGTH,
    TCP_MAX_HEADER_LENGTH,
  );
  fields.finish();
  return {
    type: "tcp",
    size: headerLength,
    ipProtocol: IPPROTO_TCP,
    write(view, offset) {
      view.setUint16(offset, srcPort);
      view.setUint16(offset + 2, dstPort);
      view.setUint32(offset + OFFSET_SEQ, seq);
      view.setUint32(offset + OFFSET_ACK, ack);
      view.setUint16(
        offset + OFFSET_FLAGS,
        ((headerLength / DATA_OFFSET_UNIT) << DATA_OFFSET_SHIFT) | flags,
      );
      view.setUint16(offset + OFFSET_WINDOW, window);
      view.setUint16(offset + OFFSET_CHECKSUM, checksum ?? 0);
      view.setUint16(offset + OFFSET_URGENT, urgentPointer);
      writeBytes(view, offset + TCP_MIN_HEADER_LENGTH, options);
    },
    fillChecksum(view, offset, end, ip) {
      if (checksum !== undefined) return;
      if (ip === undefined) fields.fail("needs an IP layer before it for its checksum");
      const sum = upperLayerSum(view, offset, end, ip, IPPROTO_TCP);
      writeChecksum(view, offset + OFFSET_CHECKSUM, sum, false);
    },
  };
}
