/**
 * Batches for print workers: records that a parser stitched across two reads travel with the
 * read after them, and every record prints as it does decoded on its own. And the groups JSON is
 * printed in: the same lines as one record at a time, each printed once.
 */

import assert from "node:assert/strict";
import { AsciiBuffer, LineCollector, type LineOutput } from "../format/ascii.ts";
import { writeJsonLines } from "../format/json.ts";
import { makePrinter, PrintGroup } from "../format/printer.ts";
import { BatchBuilder, type PrintBatch, printBatch } from "../io/print_batch.ts";
import { decodeCursor } from "../parsers/decode.ts";
import { decodePacket } from "../parsers/decode.ts";
import type { PacketRecord } from "../parsers/types.ts";
import { CaptureParser } from "../parsers/capture_format.ts";
import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
import { fixture } from "./helpers.ts";
import { concat, FIXTURES } from "./fixtures.ts";

const LINKTYPE_ETHERNET = 1;
const printer = makePrinter({ mode: "json", hex: 0, color: false });

/** Feeds `file` in reads of `chunk` bytes, batching as cli.ts does: one batch per read. */
function batchesOf(file: Uint8Array, chunk: number): { batches: PrintBatch[]; lines: string[] } {
  const parser = new CaptureParser();
  const builder = new BatchBuilder();
  const batches: PrintBatch[] = [];
  const lines = new LineCollector();
  let number = 0;
  for (let at = 0; at < file.length; at += chunk) {
    parser.push(file.slice(at, at + chunk));
    while (parser.advance()) {
      number++;
      printer(decodeCursor(parser.cursor, number), () => new Uint8Array(0), lines);
      if (!builder.add(parser.cursor, number)) {
        batches.push(builder.take());
        assert.ok(builder.add(parser.cursor, number));
      }
    }
    if (builder.count > 0) batches.push(builder.take());
  }
  return { batches, lines: lines.lines };
}

Deno.test("BatchBuilder carries records stitched across reads into the next read's batch", () => {
  for (const name of FIXTURES) {
    const file = Deno.readFileSync(fixture(name));
    // Reads shorter than most records, and longer: records straddle reads either way.
    for (const chunk of [200, 1000, 4096]) {
      const { batches, lines } = batchesOf(file, chunk);
      const printed = new LineCollector();
      for (const batch of batches) printBatch(batch, printer, printed);
      // JSON comes out a group of lines at a time: the text is what counts.
      assert.equal(
        printed.lines.join("\n"),
        lines.join("\n"),
        `${name} in reads of ${chunk} bytes`,
      );
      const reads = Math.ceil(file.length / chunk);
      assert.ok(batches.length <= reads, `${name}: ${batches.length} batches for ${reads} reads`);
    }
  }
});

/** A microsecond pcap file of `count` Ethernet records of `size` zero bytes each. */
function pcapOf(count: number, size: number): Uint8Array {
  const parts = [pcapFileHeader(LINKTYPE_ETHERNET, 65535, false)];
  for (let i = 0; i < count; i++) {
    parts.push(pcapRecordHeader(i, 0, size, size), new Uint8Array(size));
  }
  return concat(...parts);
}

/** A builder holding every record of `file`, read at once. */
function builderWith(file: Uint8Array): BatchBuilder {
  const parser = new CaptureParser();
  parser.push(file);
  const builder = new BatchBuilder();
  let number = 0;
  while (parser.advance()) assert.ok(builder.add(parser.cursor, ++number));
  return builder;
}

Deno.test("BatchBuilder copies up to 64 KiB of records aside for a new buffer, then ends the batch", () => {
  const next = new CaptureParser();
  next.push(pcapOf(1, 60));
  assert.ok(next.advance());
  // 40 records of 1500 bytes (60,000 bytes) are copied aside...
  assert.equal(builderWith(pcapOf(40, 1500)).add(next.cursor, 41), true);
  // ...50 (75,000 bytes) are not: the batch must be taken first.
  assert.equal(builderWith(pcapOf(50, 1500)).add(next.cursor, 51), false);
});

Deno.test("BatchBuilder.take() copies into an earlier batch's buffers when they are large enough", () => {
  const file = Deno.readFileSync(fixture("tcp_session.pcap"));
  const { batches, lines } = batchesOf(file, file.length);
  const first = batches[0]!;
  const again = (used?: PrintBatch) => {
    const builder = new BatchBuilder();
    const parser = new CaptureParser();
    parser.push(file);
    let number = 0;
    while (parser.advance()) assert.ok(builder.add(parser.cursor, ++number));
    return builder.take(used);
  };
  const bytes = first.bytes.buffer;
  const meta = first.meta.buffer;
  const reused = again(first);
  assert.equal(reused.bytes.buffer, bytes);
  assert.equal(reused.meta.buffer, meta);
  const printed = new LineCollector();
  printBatch(reused, printer, printed);
  assert.equal(printed.lines.join("\n"), lines.join("\n"));
  // Buffers too small for the batch are left alone.
  const small = { bytes: new Uint8Array(8), meta: new Float64Array(1), count: 0 };
  const fresh = again(small);
  assert.notEqual(fresh.bytes.buffer, small.bytes.buffer);
  assert.notEqual(fresh.meta.buffer, small.meta.buffer);
  assert.deepEqual(fresh.bytes, reused.bytes);
});

Deno.test("printBatch() prints a JSON batch of many groups as one line a record, in order", () => {
  const file = pcapOf(150, 60);
  const { batches, lines } = batchesOf(file, file.length);
  assert.equal(batches.length, 1);
  const printed = new LineCollector();
  printBatch(batches[0]!, printer, printed);
  const text = printed.lines.join("\n").split("\n");
  assert.equal(text.length, 150);
  assert.deepEqual(text, lines);
  assert.deepEqual(text.map((line) => JSON.parse(line).frame.number), lines.map((_, i) => i + 1));
});

/** What writeJsonLines() writes for `records`, as text. */
function jsonLines(records: readonly PacketRecord[]): string {
  const out = new AsciiBuffer(new Uint8Array(16));
  writeJsonLines(records, out);
  return out.toString();
}

Deno.test("writeJsonLines() makes one line a record, as JSON.stringify of each, and nothing of none", () => {
  // The second is IPv4 with a header length of 4 words: a record with an error.
  const badIpv4 = new Uint8Array(60);
  badIpv4.set([0x08, 0x00, 0x44], 12);
  const records = [decodePacket(new Uint8Array(60), 1), decodePacket(badIpv4, 1)];
  assert.ok(records[1]!.error !== undefined);
  assert.equal(jsonLines(records), records.map((record) => JSON.stringify(record)).join("\n"));
  assert.equal(jsonLines([]), "");
});

Deno.test("writeJsonLines() keeps text outside ASCII, in a record not made by a decoder", () => {
  const records = zeroRecords(3);
  (records[1]!.layers[0] as { src: string }).src = 'é},{"frame":😀';
  const lines = jsonLines(records).split("\n");
  assert.deepEqual(lines, records.map((record) => JSON.stringify(record)));
});

/** `count` records of zeros, numbered from 1. */
function zeroRecords(count: number) {
  const frame = new Uint8Array(60);
  return Array.from({ length: count }, (_, i) => {
    const record = decodePacket(frame, 1);
    record.frame.number = i + 1;
    return record;
  });
}

Deno.test("PrintGroup prints JSON 64 records at a time, and the rest at end()", () => {
  const group = new PrintGroup(printer);
  const out = new LineCollector();
  const records = zeroRecords(65);
  const none = () => new Uint8Array(0);
  for (const record of records.slice(0, 63)) group.add(record, none, out);
  assert.equal(out.lines.length, 0);
  group.add(records[63]!, none, out);
  assert.equal(out.lines.length, 1);
  assert.equal(out.lines[0], jsonLines(records.slice(0, 64)));
  group.add(records[64]!, none, out);
  group.end(out);
  group.end(out);
  assert.deepEqual(out.lines.slice(1), [JSON.stringify(records[64])]);
});

Deno.test("PrintGroup prints at once through a printer that has no group form", () => {
  const summaries = makePrinter({ mode: "summary", hex: 0, color: false });
  assert.equal(summaries.many, undefined);
  const group = new PrintGroup(summaries);
  const out = new LineCollector();
  for (const record of zeroRecords(3)) group.add(record, () => new Uint8Array(60), out);
  assert.equal(out.lines.length, 3);
  group.end(out);
  assert.equal(out.lines.length, 3);
});

Deno.test("PrintGroup does not print a group again after writing it failed", () => {
  const group = new PrintGroup(printer);
  const lines: string[] = [];
  let failing = true;
  const line = new AsciiBuffer();
  const out: LineOutput = {
    writeLine: () => assert.fail("JSON is written as bytes"),
    beginLine: () => {
      line.length = 0;
      return line;
    },
    endLine: () => {
      if (failing) throw new Error("Cannot write output: EAGAIN");
      lines.push(line.toString());
    },
  };
  const [first, second] = zeroRecords(2);
  group.add(first!, () => new Uint8Array(0), out);
  assert.throws(() => group.end(out), /EAGAIN/);
  failing = false;
  group.add(second!, () => new Uint8Array(0), out);
  group.end(out);
  assert.deepEqual(lines, [JSON.stringify(second)]);
});
