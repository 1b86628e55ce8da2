/**
 * Reads capture records (classic pcap or pcapng) from a file or a byte stream, in large
 * chunks and with flat memory, handing them out in batches so that a consumer pays for one
 * `await` per chunk rather than one per packet.
 *
 * @module
 */

import { CaptureParser, type CaptureRecord } from "../parsers/capture_format.ts";

/** Bytes asked of the file per read; records are views into these buffers. */
const READ_CHUNK_LENGTH = 1024 * 1024;
/** A read buffer with less room than this left is replaced by a fresh one. */
const MIN_READ_ROOM = 64 * 1024;

/** Options for {@linkcode readRecordBatches} and {@linkcode readRecords}. */
export interface ReadRecordsOptions {
  /**
   * Called with a warning such as "Capture file is cut off: 17 bytes of a 98-byte record at
   * offset 4242" once the input has ended. Without it, warnings are dropped.
   */
  onWarning?: (message: string) => void;
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Deno appends ": open 'path'" and similar; the caller's message names the path itself.
  return message.replace(/: [a-z]+ '.*'$/s, "");
}

function pathText(path: string | URL): string {
  return path instanceof URL ? path.href : path;
}

/** Takes every complete record the parser has; yields a failure after what came before it. */
function drain(parser: CaptureParser, batch: CaptureRecord[]): unknown {
  try {
    for (let record = parser.next(); record !== null; record = parser.next()) batch.push(record);
  } catch (error) {
    return error;
  }
  return undefined;
}

async function* fileChunks(path: string | URL): AsyncGenerator<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new Error(`Cannot open capture file: ${describeError(error)}: ${pathText(path)}`, {
      cause: error,
    });
  }
  try {
    let buffer = new Uint8Array(READ_CHUNK_LENGTH);
    let used = 0;
    for (;;) {
      if (buffer.length - used < MIN_READ_ROOM) {
        buffer = new Uint8Array(READ_CHUNK_LENGTH);
        used = 0;
      }
      let count: number | null;
      try {
        count = await file.read(buffer.subarray(used));
      } catch (error) {
        throw new Error(`Cannot read capture file: ${describeError(error)}: ${pathText(path)}`, {
          cause: error,
        });
      }
      if (count === null) return;
      if (count === 0) continue;
      // A short read (a pipe, the end of the file) leaves room that the next read fills; the
      // bytes handed out are never written again, so records may keep pointing at them.
      yield buffer.subarray(used, used + count);
      used += count;
    }
  } finally {
    file.close();
  }
}

async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Feeds a capture file to a {@linkcode CaptureParser} one chunk at a time, yielding the parser
 * after each chunk; the caller walks the records with `parser.advance()` and
 * `parser.cursor` until `advance()` returns false. Nothing is allocated per record: this is the
 * fast path that the CLI and {@linkcode readRecordBatches} share.
 *
 * A file cut off inside a record reports the cut through `options.onWarning` at the end.
 *
 * @param source A path, or a stream of the file's bytes (its chunks must not be reused).
 * @param options Where warnings go.
 * @returns The parser, once per chunk.
 * @throws {CaptureFormatError} From `advance()`, when the input is not pcap or pcapng, or is
 *   corrupt (after the records before the corruption).
 * @throws {Error} When the file cannot be opened or read.
 *
 * @example Sum the captured bytes of a file
 * ```ts
 * import { feedParser } from "./read_records.ts";
 * import { pcapFileHeader } from "../parsers/pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * let bytes = 0;
 * for await (const parser of feedParser(ReadableStream.from([pcapFileHeader(1, 65535, false)]))) {
 *   while (parser.advance()) bytes += parser.cursor.captured;
 * }
 * assert.equal(bytes, 0);
 * ```
 */
export async function* feedParser(
  source: string | URL | ReadableStream<Uint8Array>,
  options: ReadRecordsOptions = {},
): AsyncGenerator<CaptureParser> {
  const parser = new CaptureParser();
  const chunks = source instanceof ReadableStream ? streamChunks(source) : fileChunks(source);
  for await (const chunk of chunks) {
    parser.push(chunk);
    yield parser;
  }
  const warning = parser.finish();
  if (warning !== null) options.onWarning?.(warning);
}

/**
 * Reads a capture file, yielding its records in batches (one batch per chunk read, typically
 * thousands of records). Records' `data` are views into the read buffers, which are never
 * reused, so records stay valid after the next batch.
 *
 * A file cut off inside a record yields every whole record, then reports the cut through
 * `options.onWarning`.
 *
 * @param source A path, or a stream of the file's bytes (its chunks must not be reused by the
 *   producer).
 * @param options Where warnings go.
 * @returns Batches of records, none empty.
 * @throws {CaptureFormatError} When the input is not pcap or pcapng, or is corrupt (after
 *   yielding the records before the corruption).
 * @throws {Error} When the file cannot be opened or read, e.g. "Cannot open capture file: No
 *   such file or directory (os error 2): x.pcap".
 *
 * @example Counting the packets of a file
 * ```ts
 * import { readRecordBatches } from "./read_records.ts";
 * import { pcapFileHeader } from "../parsers/pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".pcap" });
 * await Deno.writeFile(path, pcapFileHeader(1, 262144, false));
 * let packets = 0;
 * for await (const batch of readRecordBatches(path, { onWarning: console.warn })) {
 *   packets += batch.length;
 * }
 * assert.equal(packets, 0);
 * await Deno.remove(path);
 * ```
 */
export async function* readRecordBatches(
  source: string | URL | ReadableStream<Uint8Array>,
  options: ReadRecordsOptions = {},
): AsyncGenerator<CaptureRecord[]> {
  for await (const parser of feedParser(source, options)) {
    const batch: CaptureRecord[] = [];
    const failure = drain(parser, batch);
    if (batch.length > 0) yield batch;
    if (failure !== undefined) throw failure;
  }
}

/**
 * Reads a capture file one record at a time: {@linkcode readRecordBatches}, flattened. Handy
 * where speed does not matter; a tight loop should take batches.
 *
 * @param source A path, or a stream of the file's bytes.
 * @param options Where warnings go.
 * @returns The records, in file order.
 *
 * @example Reading from a stream
 * ```ts
 * import { readRecords } from "./read_records.ts";
 * import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = ReadableStream.from([
 *   pcapFileHeader(1, 262144, false),
 *   pcapRecordHeader(1700000000, 1, 1, 1),
 *   new Uint8Array([7]),
 * ]);
 * const records = await Array.fromAsync(readRecords(bytes));
 * assert.equal(records.length, 1);
 * assert.equal(records[0]?.data[0], 7);
 * ```
 */
export async function* readRecords(
  source: string | URL | ReadableStream<Uint8Array>,
  options: ReadRecordsOptions = {},
): AsyncGenerator<CaptureRecord> {
  for await (const batch of readRecordBatches(source, options)) yield* batch;
}
