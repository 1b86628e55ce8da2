/**
 * TCP headers (RFC 9293) and their options.
 *
 * ```text
 * 0 srcPort(2) | 2 dstPort(2) | 4 seq(4) | 8 ack(4)
 * 12 dataOffset(4) flags(12) | 14 window(2) | 16 checksum(2) | 18 urgentPointer(2) | 20 options
 * ```
 *
 * @module
 */

import { hexBytes } from "./address.ts";
import { checksumVerifies, onesComplementSum } from "./checksum.ts";
import { decodeError, type FieldSpec, partialLayer } from "./decode_error.ts";
import type { DecodeError, PartialLayer, TcpLayer, TcpOption } from "./types.ts";

/** Length of a TCP header without options. */
export const TCP_MIN_HEADER_LENGTH = 20;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;

/** Option kind: end of option list. */
export const TCP_OPTION_EOL = 0;
/** Option kind: no operation. */
export const TCP_OPTION_NOP = 1;
/** Option kind: maximum segment size. */
export const TCP_OPTION_MSS = 2;
/** Option kind: window scale. */
export const TCP_OPTION_WINDOW_SCALE = 3;
/** Option kind: SACK permitted. */
export const TCP_OPTION_SACK_PERMITTED = 4;
/** Option kind: SACK blocks. */
export const TCP_OPTION_SACK = 5;
/** Option kind: timestamps. */
export const TCP_OPTION_TIMESTAMP = 8;

export const MSS_LENGTH = 4;
export const WINDOW_SCALE_LENGTH = 3;
export const SACK_PERMITTED_LENGTH = 2;
export const TIMESTAMP_LENGTH = 10;
export const SACK_BLOCK_LENGTH = 8;

/** Flag bits of the 12-bit flags field. */
export const TCP_FLAGS = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  AE: 0x100,
} as const;

const FIELDS: readonly FieldSpec[] = [
  ["srcPort", 2, (v, o) => v.getUint16(o)],
  ["dstPort", 4, (v, o) => v.getUint16(o + 2)],
  ["seq", 8, (v, o) => v.getUint32(o + 4)],
  ["ack", 12, (v, o) => v.getUint32(o + 8)],
  ["headerLength", 13, (v, o) => (v.getUint8(o + 12) >> 4) * 4],
  ["flags", 14, (v, o) => v.getUint16(o + 12) & 0x0fff],
  ["window", 16, (v, o) => v.getUint16(o + 14)],
  ["checksum", 18, (v, o) => v.getUint16(o + 16)],
  ["urgentPointer", 20, (v, o) => v.getUint16(o + 18)],
];

function knownOption(view: DataView, i: number, kind: number, length: number): TcpOption | null {
  switch (kind) {
    case TCP_OPTION_MSS:
      return length === MSS_LENGTH ? { kind, length, mss: view.getUint16(i + 2) } : null;
    case TCP_OPTION_WINDOW_SCALE:
      return length === WINDOW_SCALE_LENGTH ? { kind, length, shift: view.getUint8(i + 2) } : null;
    case TCP_OPTION_SACK_PERMITTED:
      return length === SACK_PERMITTED_LENGTH ? { kind, length } : null;
    case TCP_OPTION_TIMESTAMP:
      return length === TIMESTAMP_LENGTH
        ? { kind, length, tsval: view.getUint32(i + 2), tsecr: view.getUint32(i + 6) }
        : null;
    case TCP_OPTION_SACK: {
      if ((length - 2) % SACK_BLOCK_LENGTH !== 0) return null;
      const blocks: [number, number][] = [];
      for (let b = i + 2; b < i + length; b += SACK_BLOCK_LENGTH) {
        blocks.push([view.getUint32(b), view.getUint32(b + 4)]);
      }
      return { kind, length, blocks };
    }
    default:
      return null;
  }
}

/**
 * Lists the options in `[start, end)`. Each byte after an EOL is walked too, as tshark does, so the
 * zero padding after EOL shows as further EOLs. Unknown kinds, and known kinds of the wrong length, keep
 * their bytes as hex in `data`; an option whose length byte is missing, below 2 or past the end
 * is listed with what there is and ends the walk.
 *
 * @example MSS then NOP
 * ```ts
 * import { decodeTcpOptions } from "./tcp.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array([2, 4, 5, 0xb4, 1]).buffer);
 * assert.ok(JSON.stringify(decodeTcpOptions(view, 0, 5)) ===
 *   '[{"kind":2,"length":4,"mss":1460},{"kind":1}]');
 * ```
 */
export function decodeTcpOptions(view: DataView, start: number, end: number): TcpOption[] {
  const options: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const kind = view.getUint8(i);
    if (kind === TCP_OPTION_EOL || kind === TCP_OPTION_NOP) {
      options.push({ kind });
      i++;
      continue;
    }
    if (i + 1 >= end) {
      options.push({ kind, data: "" });
      break;
    }
    const length = view.getUint8(i + 1);
    if (length < 2 || i + length > end) {
      options.push({ kind, length, data: hexBytes(view, i + 2, Math.max(0, end - i - 2)) });
      break;
    }
    options.push(
      knownOption(view, i, kind, length) ??
        { kind, length, data: hexBytes(view, i + 2, length - 2) },
    );
    i += length;
  }
  return options;
}

/**
 * Decodes a TCP header at `offset`. `end` is the end of the captured bytes of the segment and
 * `limit` the end of the segment by the IP length; `addressSum` is the pseudo header's address
 * sum (see `checksum.ts`). The checksum is verified only when the whole segment is captured and
 * `verify` is true.
 *
 * @example Decode a SYN
 * ```ts
 * import { decodeTcp } from "./tcp.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(20);
 * bytes[1] = 80; bytes[12] = 0x50; bytes[13] = 0x02;
 * const tcp = decodeTcp(new DataView(bytes.buffer), 0, 20, 20, 0);
 * assert.ok("flags" in tcp && tcp.flags === 0x002 && tcp.srcPort === 80);
 * ```
 */
export function decodeTcp(
  view: DataView,
  offset: number,
  end: number,
  limit: number,
  addressSum: number,
  verify = true,
): TcpLayer | PartialLayer | (DecodeError & { partial?: PartialLayer }) {
  const available = end - offset;
  if (available < TCP_MIN_HEADER_LENGTH) {
    return partialLayer("tcp", FIELDS, view, offset, available);
  }
  const headerLength = (view.getUint8(offset + 12) >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LENGTH) {
    const error: DecodeError & { partial?: PartialLayer } = decodeError(
      "tcp",
      `header length ${headerLength} is below the minimum ${TCP_MIN_HEADER_LENGTH}`,
      offset,
    );
    error.partial = partialLayer("tcp", FIELDS, view, offset, 13);
    return error;
  }
  const segmentLength = limit - offset;
  let checksumValid: boolean | null = null;
  if (end === limit && verify) {
    const sum = onesComplementSum(view, offset, limit, addressSum) + IPPROTO_TCP + segmentLength;
    checksumValid = checksumVerifies(sum);
  }
  return {
    type: "tcp",
    srcPort: view.getUint16(offset),
    dstPort: view.getUint16(offset + 2),
    seq: view.getUint32(offset + 4),
    ack: view.getUint32(offset + 8),
    headerLength,
    flags: view.getUint16(offset + 12) & 0x0fff,
    window: view.getUint16(offset + 14),
    checksum: view.getUint16(offset + 16),
    checksumValid,
    urgentPointer: view.getUint16(offset + 18),
    payloadLength: Math.max(0, segmentLength - headerLength),
    options: headerLength > TCP_MIN_HEADER_LENGTH
      ? decodeTcpOptions(
        view,
        offset + TCP_MIN_HEADER_LENGTH,
        Math.min(offset + headerLength, end),
      )
      : [],
  };
}
