/**
 * Summary lines written from a frame's bytes (format/summary_frame.ts) against writeSummary of
 * the decoded record: the same text, byte for byte, for every frame the writer takes, from the
 * recorded fixtures and from corrupted copies of them; and nothing at all written for a frame
 * it leaves to the decoders.
 *
 * The seed of the corruptions is random and printed with every failure; set SNOUT_FUZZ_SEED (and
 * grant --allow-env=SNOUT_FUZZ_SEED) to replay one.
 */

import assert from "node:assert/strict";
import { AsciiBuffer, LineCollector } from "../format/ascii.ts";
import { decodeOptions, makePrinter, PrintGroup } from "../format/printer.ts";
import { writeSummary } from "../format/summary.ts";
import { writeSummaryFrame } from "../format/summary_frame.ts";
import type { RecordCursor } from "../parsers/capture_format.ts";
import { decodeCursor } from "../parsers/decode.ts";
import {
  compareOnCorruptedFrames,
  cursorOn,
  framesOf,
  TIME_FACTS,
  writtenBy,
} from "./frame_cursors.ts";
import { FIXTURES } from "./fixtures.ts";
import { random } from "./seeded_random.ts";

const PER_FRAME = 300;
const SUMMARY = { mode: "summary", hex: 0, color: false } as const;

/** The summary line of the decoded record, as printing it would write it. */
function decodedLine(cursor: RecordCursor, number: number): string {
  const out = new AsciiBuffer();
  writeSummary(decodeCursor(cursor, number, decodeOptions(SUMMARY)), out);
  return out.toString();
}

function written(cursor: RecordCursor): string | undefined {
  return writtenBy((out) => writeSummaryFrame(cursor, out));
}

Deno.test("writeSummaryFrame() writes the decoded record's summary for every fixture frame it takes", () => {
  const taken = new Map<string, number>();
  for (const name of FIXTURES) {
    framesOf(name).forEach((cursor, i) => {
      const line = written(cursor);
      if (line === undefined) return;
      assert.equal(line, decodedLine(cursor, i + 1), `${name} frame ${i + 1}`);
      taken.set(name, (taken.get(name) ?? 0) + 1);
    });
  }
  // TCP over both IP versions, with SACK blocks and timestamps: the writer must take these.
  for (const name of ["tcp_session.pcap", "tcp6_session.pcap", "tcp_sack.pcap"]) {
    assert.equal(taken.get(name), framesOf(name).length, `Not every frame of ${name} was taken`);
  }
  assert.ok((taken.get("refused.pcap") ?? 0) > 0, "No frame of refused.pcap was taken");
  // ARP, ICMP, other link types, IPv4 options, IPv6 extension headers and fragments go to the
  // decoders.
  for (
    const name of [
      "arp_ping.pcap",
      "any_sll.pcap",
      "ipv4_options.pcap",
      "ipv6_ext_headers.pcap",
      "ip_fragments.pcap",
    ]
  ) {
    assert.equal(taken.get(name), undefined, `${name} should be left to the decoders`);
  }
});

Deno.test("writeSummaryFrame() agrees with the decoders on corrupted, cut and lengthened fixture frames", () => {
  const { compared, refused } = compareOnCorruptedFrames(
    random(12),
    PER_FRAME,
    written,
    decodedLine,
  );
  // Both outcomes happen often, so both are tested.
  assert.ok(compared > 5_000 && refused > 5_000, `compared ${compared}, refused ${refused}`);
});

Deno.test("writeSummaryFrame() writes the time as the decoded record gives it", () => {
  const [tcp] = framesOf("tcp_session.pcap");
  for (const fact of TIME_FACTS) {
    const cursor = cursorOn(tcp!.bytes, fact);
    assert.equal(written(cursor), decodedLine(cursor, 1));
  }
});

Deno.test("writeSummaryFrame() writes a sequence number range that wraps at 2^32", () => {
  const [data] = framesOf("tcp_session.pcap").filter((cursor) => {
    const line = written(cursor);
    return line !== undefined && /, seq \d+:\d+/.test(line);
  });
  assert.ok(data !== undefined, "tcp_session.pcap has a segment with data");
  const bytes = data.bytes.slice();
  // The sequence number (IPv4 without options: TCP starts at 34) just below 2^32.
  new DataView(bytes.buffer).setUint32(14 + 20 + 4, 0xffff_fffe);
  const cursor = cursorOn(bytes);
  const line = written(cursor);
  assert.match(line!, /, seq 4294967294:\d+, /);
  assert.equal(line, decodedLine(cursor, 1));
});

Deno.test("PrintGroup.addCursor() prints summaries written from bytes and decoded ones in order", () => {
  const frames = FIXTURES.flatMap(framesOf);
  const group = new PrintGroup(makePrinter(SUMMARY));
  const out = new LineCollector();
  frames.forEach((cursor, i) =>
    group.addCursor(cursor, i + 1, decodeOptions(SUMMARY), () => cursor.bytes, out)
  );
  group.end(out);
  assert.deepEqual(out.lines, frames.map((cursor, i) => decodedLine(cursor, i + 1)));
});

Deno.test("makePrinter() writes summaries from bytes only without colour", () => {
  assert.notEqual(makePrinter(SUMMARY).direct, undefined);
  assert.equal(makePrinter({ ...SUMMARY, color: true }).direct, undefined);
  assert.equal(makePrinter({ ...SUMMARY, hex: 1 }).direct, undefined);
});
