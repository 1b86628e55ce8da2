/**
 * JSON written from a frame's bytes (format/json_frame.ts) against JSON.stringify of the decoded
 * record: the same text, byte for byte, for every frame the writer takes, from the recorded
 * fixtures and from corrupted copies of them; and nothing at all written for a frame it leaves
 * to the decoders.
 *
 * The seed of the corruptions is random and printed with every failure; set SNOUT_FUZZ_SEED (and
 * grant --allow-env=SNOUT_FUZZ_SEED) to replay one.
 */

import assert from "node:assert/strict";
import { AsciiBuffer, LineCollector } from "../format/ascii.ts";
import { writeJsonFrame } from "../format/json_frame.ts";
import { makePrinter, PrintGroup } from "../format/printer.ts";
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

/** Writes `cursor` as frame `number`, checking that a frame left alone leaves no trace. */
function written(cursor: RecordCursor, number: number): string | undefined {
  return writtenBy((out) => writeJsonFrame(cursor, number, out));
}

Deno.test("writeJsonFrame() writes JSON.stringify of the decoded record for every fixture frame it takes", () => {
  const taken = new Map<string, number>();
  for (const name of FIXTURES) {
    const frames = framesOf(name);
    frames.forEach((cursor, i) => {
      const line = written(cursor, i + 1);
      if (line === undefined) return;
      assert.equal(line, JSON.stringify(decodeCursor(cursor, i + 1)), `${name} frame ${i + 1}`);
      taken.set(name, (taken.get(name) ?? 0) + 1);
    });
  }
  // TCP over both IP versions, UDP, ICMP and ICMPv6 echo, ARP: the writer must take these.
  for (const name of ["tcp_session.pcap", "tcp6_session.pcap", "tcp_sack.pcap", "arp_ping.pcap"]) {
    assert.equal(taken.get(name), framesOf(name).length, `Not every frame of ${name} was taken`);
  }
  assert.ok((taken.get("ping6_ndp.pcap") ?? 0) > 0, "No ICMPv6 echo was taken");
  assert.ok((taken.get("refused.pcap") ?? 0) > 0, "No frame of refused.pcap was taken");
  // Other link types, IPv4 options, IPv6 extension headers and fragments go to the decoders.
  for (const name of ["any_sll.pcap", "ipv4_options.pcap", "ipv6_ext_headers.pcap"]) {
    assert.equal(taken.get(name), undefined, `${name} should be left to the decoders`);
  }
});

Deno.test("writeJsonFrame() agrees with the decoders on corrupted, cut and lengthened fixture frames", () => {
  const { compared, refused } = compareOnCorruptedFrames(
    random(11),
    PER_FRAME,
    written,
    (cursor, number) => JSON.stringify(decodeCursor(cursor, number)),
  );
  // Both outcomes happen often, so both are tested.
  // About 10,100-10,300 and 16,400-16,600 of them (12 seeds): a bound of 10,000 once failed (9,998).
  assert.ok(compared > 5_000 && refused > 5_000, `compared ${compared}, refused ${refused}`);
});

Deno.test("writeJsonFrame() writes the frame's facts as decodeCursor() does", () => {
  const [tcp] = framesOf("tcp_session.pcap");
  for (const fact of [{ interface: 3 }, ...TIME_FACTS]) {
    const cursor = cursorOn(tcp!.bytes, fact);
    for (const number of [1, 2 ** 31 - 1, 2 ** 31, 4_294_967_295, 123_456_789_012]) {
      assert.equal(written(cursor, number), JSON.stringify(decodeCursor(cursor, number)));
    }
  }
});

Deno.test("writeJsonFrame() writes in place after earlier lines, growing the buffer", () => {
  const frames = framesOf("tcp_sack.pcap");
  const out = new AsciiBuffer(new Uint8Array(16));
  const lines: string[] = [];
  for (let round = 0; round < 20; round++) {
    frames.forEach((cursor, i) => {
      assert.ok(writeJsonFrame(cursor, i + 1, out));
      out.newline();
      lines.push(JSON.stringify(decodeCursor(cursor, i + 1)));
    });
  }
  assert.equal(out.toString(), lines.join("\n") + "\n");
});

Deno.test("PrintGroup.addCursor() prints frames written from bytes and decoded ones in order", () => {
  const frames = FIXTURES.flatMap(framesOf);
  const group = new PrintGroup(makePrinter({ mode: "json", hex: 0, color: false }));
  const out = new LineCollector();
  frames.forEach((cursor, i) => group.addCursor(cursor, i + 1, undefined, () => cursor.bytes, out));
  group.end(out);
  assert.deepEqual(out.lines, frames.map((c, i) => JSON.stringify(decodeCursor(c, i + 1))));
});

Deno.test("PrintGroup.addCursor() decodes when checksums are not to be verified", () => {
  const [tcp] = framesOf("tcp_session.pcap");
  const group = new PrintGroup(makePrinter({ mode: "json", hex: 0, color: false }));
  const out = new LineCollector();
  group.addCursor(tcp!, 1, { checksums: false }, () => tcp!.bytes, out);
  group.end(out);
  assert.deepEqual(out.lines, [JSON.stringify(decodeCursor(tcp!, 1, { checksums: false }))]);
  assert.ok(out.lines[0]!.includes('"checksumValid":null'));
});

Deno.test("writeJsonFrame() writes a UDP checksum of 0 as not known over IPv4 and wrong over IPv6", () => {
  const udp = [0x30, 0x39, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0x61, 0x62];
  const ipv4 = [0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
  const ipv6 = [
    0x60,
    0,
    0,
    0,
    0,
    10,
    17,
    64,
    ...new Array(15).fill(0),
    1,
    ...new Array(15).fill(0),
    2,
  ];
  const mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const frames = [
    new Uint8Array([...mac, 0x08, 0x00, ...ipv4, ...udp, ...new Array(14).fill(0)]),
    new Uint8Array([...mac, 0x86, 0xdd, ...ipv6, ...udp]),
  ];
  const lines = frames.map((frame) => written(cursorOn(frame), 1));
  assert.equal(lines[0], JSON.stringify(decodeCursor(cursorOn(frames[0]!), 1)));
  assert.equal(lines[1], JSON.stringify(decodeCursor(cursorOn(frames[1]!), 1)));
  assert.ok(lines[0]!.includes('"checksum":0,"checksumValid":null}'));
  assert.ok(lines[1]!.includes('"checksum":0,"checksumValid":false}'));
});
