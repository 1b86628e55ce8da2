/**
 * Reads a capture file into decoded packet records: the container reader and the layer decoders
 * put together.
 *
 * @module
 */

import { type CaptureRecord, formatTime } from "../parsers/capture_format.ts";
import { decodeAt, decodeCursor } from "../parsers/decode.ts";
import type { CapturedPacket, Frame } from "../parsers/types.ts";
import { feedParser } from "./read_records.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import { RecordFilter } from "../filter/record_filter.ts";

/** Options of {@linkcode readCapture} and {@linkcode readCaptureBatches}. */
export interface ReadCaptureOptions {
  /** Called with a warning once input has ended, e.g. when the file is cut off mid-record. */
  onWarning?: (message: string) => void;
  /** Stop after this many packets (counting only those the filter keeps). */
  count?: number;
  /**
   * Keep only the packets this filter accepts: an expression in tcpdump's language (compiled for
   * each link type the file holds) or a program compiled for the file's link type. Kept packets
   * keep their place in the file as `frame.number`, so they can be found again in the file.
   */
  filter?: string | BpfProgram;
}

/**
 * Decodes one capture record as frame `number`.
 *
 * @example Decode a record by hand
 * ```ts
 * import { decodeRecord } from "./read_capture.ts";
 * import assert from "node:assert/strict";
 * const pkt = decodeRecord({
 *   linkType: 101, seconds: 1700000000, nanos: 5000, digits: 6, length: 1,
 *   data: new Uint8Array([0x45]),
 * }, 1);
 * assert.ok(pkt.frame.time === "1700000000.000005" && pkt.truncated);
 * ```
 */
export function decodeRecord(record: CaptureRecord, number: number): CapturedPacket {
  const data = record.data;
  const frame: Frame = {
    number,
    time: formatTime(record.seconds, record.nanos, record.digits),
    length: record.length,
    captured: data.length,
    linkType: record.linkType,
  };
  if (record.interface !== undefined) frame.interface = record.interface;
  const packet = decodeAt(
    new DataView(data.buffer, data.byteOffset, data.byteLength),
    0,
    frame,
  ) as CapturedPacket;
  packet.data = data;
  return packet;
}

/**
 * Reads a pcap or pcapng file (a path, or a stream of its bytes) as batches of decoded packets,
 * one batch per chunk read. Memory stays flat however large the file. Throws a
 * `CaptureFormatError` for a file that is not a capture, an `Error` for one that cannot be
 * opened, and a `FilterError` for a filter that does not compile.
 *
 * @example Count the packets of a capture
 * ```ts
 * import { readCaptureBatches } from "./read_capture.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
 *   0, 0, 4, 0, 101, 0, 0, 0]);
 * let packets = 0;
 * for await (const batch of readCaptureBatches(ReadableStream.from([bytes]))) {
 *   packets += batch.length;
 * }
 * assert.equal(packets, 0);
 * ```
 */
export async function* readCaptureBatches(
  source: string | URL | ReadableStream<Uint8Array>,
  options: ReadCaptureOptions = {},
): AsyncGenerator<CapturedPacket[]> {
  const count = options.count ?? Infinity;
  const filter = options.filter === undefined ? undefined : new RecordFilter(options.filter);
  let number = 0;
  let kept = 0;
  const readOptions = options.onWarning === undefined ? {} : { onWarning: options.onWarning };
  for await (const parser of feedParser(source, readOptions)) {
    const cursor = parser.cursor;
    const batch: CapturedPacket[] = [];
    let failure: unknown;
    try {
      while (kept < count && parser.advance()) {
        number++;
        if (filter !== undefined && !filter.matches(cursor, parser.littleEndian)) continue;
        kept++;
        const packet = decodeCursor(cursor, number) as CapturedPacket;
        packet.data = cursor.bytes.subarray(cursor.offset, cursor.offset + cursor.captured);
        batch.push(packet);
      }
    } catch (error) {
      failure = error; // the records before a corrupt one still go out first
    }
    if (batch.length > 0) yield batch;
    if (failure !== undefined) throw failure;
    if (kept >= count) return;
  }
}

/**
 * Reads a pcap or pcapng file as decoded packets, one at a time, each with its raw bytes in
 * `data`. With a `filter`, only the packets it accepts.
 *
 * @example Print the layers of every packet
 * ```ts ignore
 * import { readCapture } from "./read_capture.ts";
 * for await (const pkt of readCapture("tests/testdata/tcp_session.pcap")) {
 *   console.log(pkt.frame.number, pkt.layers.map((layer) => layer.type).join("/"));
 * }
 * ```
 *
 * @example Only the UDP packets: frame numbers stay places in the file
 * ```ts
 * import { readCapture } from "./read_capture.ts";
 * import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
 * import assert from "node:assert/strict";
 * const ipv4 = (protocol: number) => {
 *   const packet = new Uint8Array(28);
 *   packet[0] = 0x45;
 *   packet[9] = protocol;
 *   return [pcapRecordHeader(1700000000, 0, 28, 28), packet];
 * };
 * const file = ReadableStream.from([pcapFileHeader(228, 65535, false), ...ipv4(6), ...ipv4(17)]);
 * const numbers = [];
 * for await (const pkt of readCapture(file, { filter: "udp" })) numbers.push(pkt.frame.number);
 * assert.deepEqual(numbers, [2]);
 * ```
 */
export async function* readCapture(
  source: string | URL | ReadableStream<Uint8Array>,
  options: ReadCaptureOptions = {},
): AsyncGenerator<CapturedPacket> {
  for await (const batch of readCaptureBatches(source, options)) yield* batch;
}
