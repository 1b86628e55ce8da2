/**
 * Batches of capture records packed for printing elsewhere (a print worker): their bytes in one
 * buffer and their facts in a Float64Array, so a batch crosses to a worker as two transfers.
 *
 * @module
 */

import type { RecordCursor } from "../parsers/capture_format.ts";
import type { LineOutput } from "../format/ascii.ts";
import { type Printer, PrintGroup } from "../format/printer.ts";
import type { DecodeOptions } from "../parsers/decode.ts";

/**
 * Numbers kept per record: offset, captured, length, seconds, nanos, digits, link type,
 * interface, frame number (a filter leaves gaps between frame numbers).
 */
export const META_FIELDS = 9;
const META_BYTES = Float64Array.BYTES_PER_ELEMENT;

/** A packed batch of records. */
export interface PrintBatch {
  /** The records' captured bytes, one after another. */
  bytes: Uint8Array;
  /** META_FIELDS numbers per record. */
  meta: Float64Array;
  /** Records in the batch. */
  count: number;
}

/**
 * Bytes of records from an earlier buffer that a batch copies aside rather than end: a record a
 * parser stitched together across two reads sits alone in a buffer of its own, and ending the
 * batch there would send a worker a batch of one record for every read.
 */
const CARRY_MAX_BYTES = 64 * 1024;

/**
 * Gathers records from a parser's cursor into a {@linkcode PrintBatch}. The records of a batch
 * come from one buffer, whose range they span the batch copies once, after at most
 * {@linkcode CARRY_MAX_BYTES} of records from earlier buffers, copied aside.
 */
export class BatchBuilder {
  #source: Uint8Array | undefined;
  #start = 0;
  #end = 0;
  /** Ranges of earlier buffers, copied, that come before the source's in the batch's bytes. */
  #carried: Uint8Array[] = [];
  #carriedLength = 0;
  #meta = new Float64Array(1024 * META_FIELDS);
  #count = 0;

  /** Records gathered so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Notes the record under `cursor` as frame `number`. Returns false, and notes nothing, when
   * the record lies in another buffer than the batch's and the batch has too many bytes to copy
   * aside: take() the batch, then add it again.
   */
  add(cursor: RecordCursor, number: number): boolean {
    if (this.#count === 0) {
      this.#source = cursor.bytes;
      this.#start = cursor.offset;
    } else if (cursor.bytes !== this.#source) {
      if (this.#carriedLength + this.#end - this.#start > CARRY_MAX_BYTES) return false;
      this.#carried.push(this.#source!.slice(this.#start, this.#end));
      this.#carriedLength += this.#end - this.#start;
      this.#source = cursor.bytes;
      this.#start = cursor.offset;
    }
    if ((this.#count + 1) * META_FIELDS > this.#meta.length) {
      const bigger = new Float64Array(this.#meta.length * 2);
      bigger.set(this.#meta);
      this.#meta = bigger;
    }
    const at = this.#count * META_FIELDS;
    const meta = this.#meta;
    meta[at] = this.#carriedLength + cursor.offset - this.#start;
    meta[at + 1] = cursor.captured;
    meta[at + 2] = cursor.length;
    meta[at + 3] = cursor.seconds;
    meta[at + 4] = cursor.nanos;
    meta[at + 5] = cursor.digits;
    meta[at + 6] = cursor.linkType;
    meta[at + 7] = cursor.interface;
    meta[at + 8] = number;
    this.#end = cursor.offset + cursor.captured;
    this.#count++;
    return true;
  }

  /**
   * Hands out the batch gathered so far (its buffers are the caller's) and starts a new one.
   * The batch is copied into the buffers of `used`, an earlier batch done with, where they are
   * large enough: memory that is already mapped, where fresh buffers cost page faults.
   */
  take(used?: PrintBatch): PrintBatch {
    const metaLength = this.#count * META_FIELDS;
    const meta = used !== undefined && used.meta.buffer.byteLength >= metaLength * META_BYTES
      ? new Float64Array(used.meta.buffer, 0, metaLength)
      : new Float64Array(metaLength);
    meta.set(this.#meta.subarray(0, metaLength));
    const batch: PrintBatch = { bytes: this.#bytes(used?.bytes.buffer), meta, count: this.#count };
    this.#source = undefined;
    this.#carried = [];
    this.#carriedLength = 0;
    this.#count = 0;
    return batch;
  }

  /** The batch's bytes, in `spare` if it is large enough: what was copied aside, then the source's range. */
  #bytes(spare: ArrayBufferLike | undefined): Uint8Array {
    if (this.#source === undefined) return new Uint8Array(0);
    const length = this.#carriedLength + this.#end - this.#start;
    const bytes = spare !== undefined && spare.byteLength >= length
      ? new Uint8Array(spare, 0, length)
      : new Uint8Array(length);
    let at = 0;
    for (const carried of this.#carried) {
      bytes.set(carried, at);
      at += carried.length;
    }
    bytes.set(this.#source.subarray(this.#start, this.#end), at);
    return bytes;
  }
}

/**
 * Decodes (with `options`) and prints every record of a batch to `out`: one line (or block) per
 * record, each ending in a newline.
 *
 * @example Print an empty batch
 * ```ts
 * import { BatchBuilder, printBatch } from "./print_batch.ts";
 * import { makePrinter } from "../format/printer.ts";
 * import { LineCollector } from "../format/ascii.ts";
 * import assert from "node:assert/strict";
 * const out = new LineCollector();
 * const batch = new BatchBuilder().take();
 * printBatch(batch, makePrinter({ mode: "json", hex: 0, color: false }), out);
 * assert.equal(out.lines.length, 0);
 * ```
 */
export function printBatch(
  batch: PrintBatch,
  print: Printer,
  out: LineOutput,
  options?: DecodeOptions,
): void {
  const bytes = batch.bytes;
  const meta = batch.meta;
  const cursor: RecordCursor = {
    bytes,
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    offset: 0,
    captured: 0,
    length: 0,
    seconds: 0,
    nanos: 0,
    digits: 0,
    linkType: 0,
    interface: -1,
  };
  const frame = () => bytes.subarray(cursor.offset, cursor.offset + cursor.captured);
  const group = new PrintGroup(print);
  for (let i = 0; i < batch.count; i++) {
    const at = i * META_FIELDS;
    cursor.offset = meta[at]!;
    cursor.captured = meta[at + 1]!;
    cursor.length = meta[at + 2]!;
    cursor.seconds = meta[at + 3]!;
    cursor.nanos = meta[at + 4]!;
    cursor.digits = meta[at + 5]!;
    cursor.linkType = meta[at + 6]!;
    cursor.interface = meta[at + 7]!;
    group.addCursor(cursor, meta[at + 8]!, options, frame, out);
  }
  group.end(out);
}
