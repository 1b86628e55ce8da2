/**
 * Packet records as NDJSON lines.
 *
 * @module
 */

import type { PacketRecord } from "../parsers/types.ts";
import type { AsciiBuffer } from "./ascii.ts";

/** The highest character a line may hold unescaped (JSON.stringify escapes those below 0x20). */
const LAST_ASCII = 0x7e;
/** Radix and width of a `\uXXXX` escape. */
const HEX_RADIX = 16;
const ESCAPE_DIGITS = 4;
/** Characters checked at once by encoding into a scratch buffer (one byte each when ASCII). */
const SCRATCH_LENGTH = 64 * 1024;
const DEL = "\x7f";

const encoder = new TextEncoder();
const scratch = new Uint8Array(SCRATCH_LENGTH);

/** True when `json` holds only characters up to 0x7e; native code does the scanning. */
function isAscii(json: string): boolean {
  const length = json.length;
  if (length <= SCRATCH_LENGTH) {
    const { read, written } = encoder.encodeInto(json, scratch);
    return read === length && written === length && !json.includes(DEL);
  }
  for (let i = 0; i < length; i++) if (json.charCodeAt(i) > LAST_ASCII) return false;
  return true;
}

/** `json` with every character above 0x7e written as a `\uXXXX` escape. */
function escapeNonAscii(json: string): string {
  let out = "";
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    out += code <= LAST_ASCII
      ? json[i]
      : "\\u" + code.toString(HEX_RADIX).padStart(ESCAPE_DIGITS, "0");
  }
  return out;
}

/**
 * One NDJSON line (without the newline) for a packet: exactly the keys `frame`, `layers`,
 * `truncated` and, when set, `error`, in that order. Anything else on the object, such as a
 * {@linkcode CapturedPacket}'s raw `data`, is left out. The line is pure ASCII: control
 * characters and everything above 0x7e in strings are `\u` escapes, so no packet byte can
 * reach a terminal raw.
 *
 * @example A packet with raw bytes attached
 * ```ts
 * import { formatJson } from "./json.ts";
 * import assert from "node:assert/strict";
 * const line = formatJson({
 *   frame: { number: 1, time: "1700000000.000001", length: 1, captured: 1, linkType: 1 },
 *   layers: [],
 *   truncated: true,
 *   error: { layer: "ethernet", reason: "header needs 14 bytes, 1 captured", offset: 0 },
 *   data: new Uint8Array([0x1b]),
 * } as import("../parsers/types.ts").CapturedPacket);
 * assert.ok(line.startsWith('{"frame":{"number":1,'));
 * assert.ok(!line.includes('"data"'));
 * ```
 */
export function formatJson(pkt: PacketRecord): string {
  const error = pkt.error;
  const json = JSON.stringify(
    error === undefined
      ? { frame: pkt.frame, layers: pkt.layers, truncated: pkt.truncated }
      : { frame: pkt.frame, layers: pkt.layers, truncated: pkt.truncated, error },
  );
  return isAscii(json) ? json : escapeNonAscii(json);
}

/** Every record's text starts with this, and it occurs nowhere else in a record's text. */
const RECORD_START = '{"frame":';
/** Where two records meet in the text of an array of them. */
const ARRAY_JOIN = "}," + RECORD_START;
const NEWLINE = 0x0a;

/**
 * Writes the NDJSON lines of records made by snout's decoders to `out`, one per record, joined by
 * newlines (no final newline): the same text as `JSON.stringify` of each in turn, made by one
 * call for all of them, which costs less than a call each. The text goes into `out` with one
 * call to the encoder, and the commas between records become newlines in place. The records
 * should be decoders' own, whose text is ASCII (they make every string from numbers): nothing is
 * escaped or left out, unlike {@linkcode formatJson}, so a {@linkcode CapturedPacket}'s `data`
 * would be written too (use `formatJson` for those).
 *
 * Why the joins can be found by search: a record's text starts with `{"frame":`, which can occur
 * nowhere inside one, since no layer has a `frame` key and a quote inside a string is escaped.
 *
 * @example Two records, two lines
 * ```ts
 * import { writeJsonLines } from "./json.ts";
 * import { AsciiBuffer } from "./ascii.ts";
 * import { decodePacket } from "../parsers/decode.ts";
 * import assert from "node:assert/strict";
 * const records = [decodePacket(new Uint8Array(60), 1), decodePacket(new Uint8Array(8), 1)];
 * const out = new AsciiBuffer();
 * writeJsonLines(records, out);
 * assert.deepEqual(out.toString().split("\n"), records.map((record) => JSON.stringify(record)));
 * ```
 */
export function writeJsonLines(records: readonly PacketRecord[], out: AsciiBuffer): void {
  if (records.length === 0) return;
  const array = JSON.stringify(records);
  const text = array.slice(1, -1);
  const start = out.length;
  if (out.utf8(text) !== text.length) {
    // Not all ASCII, so bytes and characters do not line up: join the lines as text instead.
    out.length = start;
    out.utf8(text.replaceAll(ARRAY_JOIN, "}\n" + RECORD_START));
    return;
  }
  const bytes = out.bytes;
  // Character i of the text is byte start + i, and a join's comma is its second character.
  for (let at = text.indexOf(ARRAY_JOIN); at !== -1; at = text.indexOf(ARRAY_JOIN, at + 1)) {
    bytes[start + at + 1] = NEWLINE;
  }
}
