/**
 * Summary lines (snout's default output, tcpdump -n's text) written straight from a frame's
 * bytes, with no record in between, for the frames most traffic is made of: those that
 * frame_text.ts's `ipFrame` takes, carrying TCP or UDP. Decoding a frame into a record costs more
 * than writing its summary; for these frames it is skipped.
 *
 * TCP segments are taken when every option is one of NOP, MSS, window scale, SACK permitted,
 * SACK (one block or more) and timestamps, each of its usual length. {@linkcode writeSummaryFrame}
 * writes nothing for any other frame and leaves it to the decoders. For a frame it writes, the
 * text is byte for byte what `writeSummary` writes for the decoded record (without colour):
 * tests/summary_frame_test.ts holds the two side by side on every recorded fixture and on
 * thousands of corrupted copies of them.
 *
 * @module
 */

import { ipv6Text } from "../parsers/address.ts";
import type { RecordCursor } from "../parsers/capture_format.ts";
import { ETHERTYPE_IPV4 } from "../parsers/ethernet.ts";
import { IPV4_OFFSET_DST, IPV4_OFFSET_SRC } from "../parsers/ipv4.ts";
import { IPV6_OFFSET_DST, IPV6_OFFSET_SRC } from "../parsers/ipv6.ts";
import {
  IPPROTO_TCP,
  MSS_LENGTH,
  SACK_BLOCK_LENGTH,
  SACK_PERMITTED_LENGTH,
  TCP_MIN_HEADER_LENGTH,
  TCP_OPTION_MSS,
  TCP_OPTION_NOP,
  TCP_OPTION_SACK,
  TCP_OPTION_SACK_PERMITTED,
  TCP_OPTION_TIMESTAMP,
  TCP_OPTION_WINDOW_SCALE,
  TIMESTAMP_LENGTH,
  WINDOW_SCALE_LENGTH,
} from "../parsers/tcp.ts";
import { IPPROTO_UDP, UDP_HEADER_LENGTH } from "../parsers/udp.ts";
import {
  type AsciiBuffer,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  DOT,
  OPEN_BRACE,
  SPACE,
} from "./ascii.ts";
import {
  type IpFrame,
  ipFrame,
  OPTION_HEAD_LENGTH,
  Piece,
  put,
  putIpv4,
  putNumber,
  putSmall,
  putText,
  putTime,
  reserve,
  target,
} from "./frame_text.ts";
import {
  TCP_ACK,
  TCP_FIN,
  TCP_FLAGS_TEXT,
  TCP_NAMED_FLAGS,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from "./summary.ts";

const IP = new Piece(" IP ");
const IP6 = new Piece(" IP6 ");
const TO = new Piece(" > ");
const UDP_LENGTH = new Piece(" UDP, length ");
/** ` Flags [...]` for every combination of the flag bits tcpdump names. */
const FLAGS = TCP_FLAGS_TEXT.map((text) => new Piece(" " + text));
const SEQ = new Piece(", seq ");
const ACK = new Piece(", ack ");
const WIN = new Piece(", win ");
const URG = new Piece(", urg ");
const OPTIONS = new Piece(", options [");
const LENGTH = new Piece(", length ");
const NOP = new Piece("nop");
const MSS = new Piece("mss ");
const WSCALE = new Piece("wscale ");
const SACK_OK = new Piece("sackOK");
const SACK = new Piece("sack ");
const TS_VAL = new Piece("TS val ");
const TS_ECR = new Piece(" ecr ");

/** Whether every TCP option in `[start, end)` (whole, as `ipFrame` checked) is written here. */
function optionsWritten(view: DataView, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const kind = view.getUint8(i);
    if (kind === TCP_OPTION_NOP) {
      i++;
      continue;
    }
    const length = view.getUint8(i + 1);
    switch (kind) {
      case TCP_OPTION_MSS:
        if (length !== MSS_LENGTH) return false;
        break;
      case TCP_OPTION_WINDOW_SCALE:
        if (length !== WINDOW_SCALE_LENGTH) return false;
        break;
      case TCP_OPTION_SACK_PERMITTED:
        if (length !== SACK_PERMITTED_LENGTH) return false;
        break;
      case TCP_OPTION_TIMESTAMP:
        if (length !== TIMESTAMP_LENGTH) return false;
        break;
      case TCP_OPTION_SACK: {
        const data = length - OPTION_HEAD_LENGTH;
        if (data === 0 || data % SACK_BLOCK_LENGTH !== 0) return false;
        break;
      }
      default:
        // End of list (what follows it is padding to tcpdump) and every other kind.
        return false;
    }
    i += length;
  }
  return true;
}

/** `, options [...]`, the options in `[start, end)` being of the kinds written here. */
function putOptions(at: number, view: DataView, start: number, end: number): number {
  let i = put(at, OPTIONS);
  let position = start;
  while (position < end) {
    if (position > start) target[i++] = COMMA;
    const kind = view.getUint8(position);
    if (kind === TCP_OPTION_NOP) {
      i = put(i, NOP);
      position++;
      continue;
    }
    const length = view.getUint8(position + 1);
    if (kind === TCP_OPTION_MSS) {
      i = putNumber(put(i, MSS), view.getUint16(position + 2));
    } else if (kind === TCP_OPTION_WINDOW_SCALE) {
      i = putSmall(put(i, WSCALE), view.getUint8(position + 2));
    } else if (kind === TCP_OPTION_SACK_PERMITTED) {
      i = put(i, SACK_OK);
    } else if (kind === TCP_OPTION_TIMESTAMP) {
      i = putNumber(put(i, TS_VAL), view.getUint32(position + 2));
      i = putNumber(put(i, TS_ECR), view.getUint32(position + 6));
    } else {
      const blocks = (length - OPTION_HEAD_LENGTH) / SACK_BLOCK_LENGTH;
      i = putSmall(put(i, SACK), blocks);
      target[i++] = SPACE;
      for (let b = position + OPTION_HEAD_LENGTH; b < position + length; b += SACK_BLOCK_LENGTH) {
        target[i++] = OPEN_BRACE;
        i = putNumber(i, view.getUint32(b));
        target[i++] = COLON;
        i = putNumber(i, view.getUint32(b + 4));
        target[i++] = CLOSE_BRACE;
      }
    }
    position += length;
  }
  target[i++] = CLOSE_BRACKET;
  return i;
}

/**
 * A TCP header of `headerLength` bytes at `offset`, its segment ending at `end`: from ` Flags` to
 * `length N`.
 */
function putTcp(
  at: number,
  view: DataView,
  offset: number,
  headerLength: number,
  end: number,
): number {
  const flags = view.getUint16(offset + 12) & TCP_NAMED_FLAGS;
  const payload = end - offset - headerLength;
  const seq = view.getUint32(offset + 4);
  let i = put(at, FLAGS[flags]!);
  if (payload > 0) {
    i = putNumber(put(i, SEQ), seq);
    target[i++] = COLON;
    // `>>> 0` wraps the end at 2^32, as the decoded record's text does.
    i = putNumber(i, (seq + payload) >>> 0);
  } else if (flags & (TCP_SYN | TCP_FIN | TCP_RST)) {
    i = putNumber(put(i, SEQ), seq);
  }
  if (flags & TCP_ACK) i = putNumber(put(i, ACK), view.getUint32(offset + 8));
  i = putNumber(put(i, WIN), view.getUint16(offset + 14));
  if (flags & TCP_URG) i = putNumber(put(i, URG), view.getUint16(offset + 18));
  if (headerLength > TCP_MIN_HEADER_LENGTH) {
    i = putOptions(i, view, offset + TCP_MIN_HEADER_LENGTH, offset + headerLength);
  }
  return putNumber(put(i, LENGTH), payload);
}

/** Where the layers of the frame being written are. */
const shape: IpFrame = { etherType: 0, ip: 0, protocol: 0, payload: 0, payloadEnd: 0 };

/**
 * Writes the summary line (without its line break, and without colour) of the record under
 * `cursor` straight from its bytes, and returns true; or, for a frame of any other kind than
 * those this module writes (see above), writes nothing and returns false. The text is that of
 * `writeSummary(decodeCursor(cursor, number))`.
 *
 * @example A UDP datagram, and an ICMP echo left to the decoders
 * ```ts
 * import { writeSummaryFrame } from "./summary_frame.ts";
 * import { AsciiBuffer } from "./ascii.ts";
 * import type { RecordCursor } from "../parsers/capture_format.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(42);
 * bytes.set([0x08, 0x00, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
 *   0x30, 0x39, 0, 53, 0, 8, 0, 0], 12);
 * const cursor: RecordCursor = { bytes, view: new DataView(bytes.buffer), offset: 0,
 *   captured: 42, length: 42, seconds: 1700000000, nanos: 0, digits: 6, linkType: 1,
 *   interface: -1 };
 * const out = new AsciiBuffer();
 * assert.ok(writeSummaryFrame(cursor, out));
 * assert.equal(out.toString(), "1700000000.000000 IP 10.0.0.1.12345 > 10.0.0.2.53: UDP, length 0");
 * bytes[12 + 11] = 1; // ICMP
 * assert.ok(!writeSummaryFrame(cursor, out));
 * ```
 */
export function writeSummaryFrame(cursor: RecordCursor, out: AsciiBuffer): boolean {
  const frame = shape;
  if (!ipFrame(cursor, frame)) return false;
  const { etherType, ip, protocol, payload, payloadEnd } = frame;
  if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return false;
  const view = cursor.view;
  let headerLength = 0;
  if (protocol === IPPROTO_TCP) {
    headerLength = (view.getUint8(payload + 12) >> 4) * 4;
    if (!optionsWritten(view, payload + TCP_MIN_HEADER_LENGTH, payload + headerLength)) {
      return false;
    }
  }
  let i = putTime(reserve(out), cursor.seconds, cursor.nanos, cursor.digits);
  if (etherType === ETHERTYPE_IPV4) {
    i = putIpv4(put(i, IP), view, ip + IPV4_OFFSET_SRC);
    target[i++] = DOT;
    i = putNumber(i, view.getUint16(payload));
    i = putIpv4(put(i, TO), view, ip + IPV4_OFFSET_DST);
  } else {
    i = putText(put(i, IP6), ipv6Text(view, ip + IPV6_OFFSET_SRC));
    target[i++] = DOT;
    i = putNumber(i, view.getUint16(payload));
    i = putText(put(i, TO), ipv6Text(view, ip + IPV6_OFFSET_DST));
  }
  target[i++] = DOT;
  i = putNumber(i, view.getUint16(payload + 2));
  target[i++] = COLON;
  if (protocol === IPPROTO_TCP) {
    i = putTcp(i, view, payload, headerLength, payloadEnd);
  } else {
    i = putNumber(put(i, UDP_LENGTH), view.getUint16(payload + 4) - UDP_HEADER_LENGTH);
  }
  out.length = i;
  return true;
}
