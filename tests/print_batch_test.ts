/**
 * Batches for print workers: records that a parser stitched across two reads travel with the
 * read after them, and every record prints as it does decoded on its own.
 */

import assert from "node:assert/strict";
import { LineCollector } from "../format/ascii.ts";
import { makePrinter } from "../format/printer.ts";
import { BatchBuilder, type PrintBatch, printBatch } from "../io/print_batch.ts";
import { decodeCursor } from "../io/read_capture.ts";
import { CaptureParser } from "../parsers/capture_format.ts";
import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
import { fixture } from "./helpers.ts";
import { FIXTURES } from "./fixtures.ts";

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
      assert.deepEqual(printed.lines, lines, `${name} in reads of ${chunk} bytes`);
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
  const file = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    file.set(part, at);
    at += part.length;
  }
  return file;
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
  assert.deepEqual(printed.lines, lines);
  // Buffers too small for the batch are left alone.
  const small = { bytes: new Uint8Array(8), meta: new Float64Array(1), count: 0 };
  const fresh = again(small);
  assert.notEqual(fresh.bytes.buffer, small.bytes.buffer);
  assert.notEqual(fresh.meta.buffer, small.meta.buffer);
  assert.deepEqual(fresh.bytes, reused.bytes);
});
