/**
 * Frames for the tests of text written from bytes (json_frame_test.ts, summary_frame_test.ts):
 * cursors on the recorded fixtures' frames, and corrupted, cut and lengthened copies of them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AsciiBuffer } from "../format/ascii.ts";
import { CaptureParser, type RecordCursor } from "../parsers/capture_format.ts";
import { fixture } from "./helpers.ts";
import { FIXTURES } from "./fixtures.ts";
import { type Random, SEED } from "./seeded_random.ts";

const LINKTYPE_ETHERNET = 1;

/** A standalone cursor on a copy of `data`, with the facts a parser would give it. */
export function cursorOn(data: Uint8Array, facts: Partial<RecordCursor> = {}): RecordCursor {
  const bytes = data.slice();
  return {
    bytes,
    view: new DataView(bytes.buffer),
    offset: 0,
    captured: bytes.length,
    length: bytes.length,
    seconds: 1_700_000_000,
    nanos: 123_456_000,
    digits: 6,
    linkType: LINKTYPE_ETHERNET,
    interface: -1,
    ...facts,
  };
}

/**
 * Times to write a frame with: fraction digits from 0 to 9, seconds before 1970 and past 2^31
 * and 2^32, and fractions that are zero, carry leading zeros or are cut short.
 */
export const TIME_FACTS: readonly Partial<RecordCursor>[] = [
  { digits: 9, nanos: 5 },
  { digits: 0, seconds: 0, nanos: 0 },
  { seconds: -2, nanos: 500_000_000 },
  { digits: 3, nanos: 999_999_999 },
  { digits: 1, nanos: 987_654_321 },
  { digits: 8, nanos: 7 },
  { digits: 6, nanos: 0 },
  { seconds: 2 ** 31, nanos: 120_000 },
  { seconds: 4_300_000_000, nanos: 999_999 },
];

/** Every frame of a fixture, each copied out with its facts. */
export function framesOf(name: string): RecordCursor[] {
  const parser = new CaptureParser();
  parser.push(Deno.readFileSync(fixture(name)));
  const frames: RecordCursor[] = [];
  while (parser.advance()) {
    const c = parser.cursor;
    frames.push(cursorOn(c.bytes.subarray(c.offset, c.offset + c.captured), {
      length: c.length,
      seconds: c.seconds,
      nanos: c.nanos,
      digits: c.digits,
      linkType: c.linkType,
      interface: c.interface,
    }));
  }
  return frames;
}

/**
 * Runs `write` on a buffer that already holds some text. Returns the line written, or undefined
 * when the writer left the frame alone (and then checks it wrote nothing).
 */
export function writtenBy(write: (out: AsciiBuffer) => boolean): string | undefined {
  const out = new AsciiBuffer();
  out.text("before");
  const taken = write(out);
  const text = out.toString();
  assert.ok(text.startsWith("before"), "The writer overwrote what the buffer held");
  if (!taken) {
    assert.equal(text, "before", "The writer wrote part of a frame it left to the decoders");
    return undefined;
  }
  return text.slice("before".length);
}

/** A corrupted copy of a fixture frame, and how it was made. */
export interface CorruptedFrame {
  /** The fixture. */
  name: string;
  cursor: RecordCursor;
  /** The frame's bytes after corruption, before the cut. */
  data: Uint8Array;
  /** Bytes captured, and the length on the wire the cursor gives. */
  cut: number;
  length: number;
  /** A frame number for it. */
  number: number;
}

/**
 * `perFrame` corrupted copies of every Ethernet frame of every fixture: one to three bytes
 * flipped, most often in the headers, a quarter of them cut short, an eighth with a length on
 * the wire longer than what is captured.
 */
export function* corruptedFrames(
  rng: Random,
  perFrame: number,
): Generator<CorruptedFrame> {
  for (const name of FIXTURES) {
    for (const original of framesOf(name)) {
      if (original.linkType !== LINKTYPE_ETHERNET) continue;
      for (let k = 0; k < perFrame; k++) {
        const data = original.bytes.slice();
        for (let flips = 1 + rng.int(3); flips > 0; flips--) {
          const at = rng.int(Math.min(data.length, 80));
          data[at] = rng.int(4) === 0 ? data[at]! ^ (1 << rng.int(8)) : rng.int(256);
        }
        const cut = rng.int(4) === 0 ? rng.int(data.length + 1) : data.length;
        const length = rng.int(8) === 0 ? cut + 1 + rng.int(100) : cut;
        const cursor = cursorOn(data.subarray(0, cut), {
          length,
          interface: rng.int(2) === 0 ? -1 : rng.int(5),
        });
        yield { name, cursor, data, cut, length, number: k + 1 };
      }
    }
  }
}

/**
 * Writes each of {@linkcode corruptedFrames} with `write` (undefined: left to the decoders) and
 * holds every line it takes to `want` for the same frame, failing with the frame's bytes and the
 * seed that replays it; a frame cut short must never be taken. Returns how many lines were
 * compared and how many frames were refused.
 */
export function compareOnCorruptedFrames(
  rng: Random,
  perFrame: number,
  write: (cursor: RecordCursor, number: number) => string | undefined,
  want: (cursor: RecordCursor, number: number) => string,
): { compared: number; refused: number } {
  const seed = `seed ${SEED} (SNOUT_FUZZ_SEED=${SEED})`;
  let compared = 0;
  let refused = 0;
  for (const { name, cursor, data, cut, length, number } of corruptedFrames(rng, perFrame)) {
    const line = write(cursor, number);
    if (line === undefined) {
      refused++;
      continue;
    }
    compared++;
    const expected = want(cursor, number);
    if (line !== expected) {
      const hex = Array.from(data.subarray(0, cut), (b) => b.toString(16).padStart(2, "0"));
      assert.fail(
        `${seed}: ${name}, length ${length}, bytes ${hex.join("")}\n got ${line}\nwant ${expected}`,
      );
    }
    assert.ok(cut === length, `${seed}: a frame cut short was written from its bytes`);
  }
  return { compared, refused };
}
