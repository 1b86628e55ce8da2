/**
 * A buffered writer of classic pcap files (little-endian, microsecond or nanosecond), readable
 * by tcpdump, tshark and libpcap.
 *
 * @module
 */

import {
  PCAP_FILE_HEADER_LENGTH,
  PCAP_RECORD_HEADER_LENGTH,
  writePcapFileHeader,
  writePcapRecordHeader,
} from "../parsers/pcap_write.ts";

/** Bytes gathered before they are handed to the output. */
const BUFFER_LENGTH = 1024 * 1024;
/** Written buffers kept for reuse, at most. */
const MAX_SPARE_BUFFERS = 2;
/** Packets up to this long are copied byte by byte: cheaper than a subarray for set(). */
const SHORT_PACKET = 128;
/** Snap length written when none is given: libpcap's maximum for most link types. */
const DEFAULT_SNAP_LENGTH = 262144;
const MAX_SNAP_LENGTH = 0x7fffffff;
const MAX_LINK_TYPE_FIELD = 0xffffffff;
const NANOS_PER_MICRO = 1000;

/** Anything with a Deno-style `write`, such as a `Deno.FsFile` or `Deno.stdout`. */
export interface PcapSink {
  /** Writes some of `p`, returning how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** Where a {@linkcode PcapWriter} writes: a path, an open file, or a byte stream. */
export type PcapWriterTarget = string | URL | PcapSink | WritableStream<Uint8Array>;

/** Options for {@linkcode PcapWriter.create}. */
export interface PcapWriterOptions {
  /** LINKTYPE_ value of the packets (the whole 32-bit 'network' header field). */
  linkType: number;
  /** Largest captured length; longer packets are cut to it. Default 262144. */
  snapLength?: number;
  /** Write nanosecond timestamps (magic a1b23c4d); default microseconds (a1b2c3d4). */
  nanosecond?: boolean;
}

/** The packet fields a {@linkcode PcapWriter} needs: a `CaptureRecord` will do. */
export interface PcapPacket {
  /** Whole seconds since the epoch. */
  seconds: number;
  /** Nanoseconds into the second (truncated to microseconds in a microsecond file). */
  nanos: number;
  /** Original length on the wire. */
  length: number;
  /** Captured bytes. */
  data: Uint8Array;
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/: [a-z]+ '.*'$/s, "");
}

async function writeAll(sink: PcapSink, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await sink.write(bytes.subarray(done));
}

/**
 * Writes packets to a classic pcap file through a 1 MiB buffer. The file header is written
 * with the first packet, or at close for a file without packets.
 *
 * {@linkcode PcapWriter.write} copies the packet at once, so its bytes may be reused as soon
 * as it returns. It returns nothing while the packet fits the buffer and a promise when the
 * buffer went to the output; awaiting that promise (where there is one) keeps memory flat.
 *
 * A path is opened (created or truncated) and closed by the writer; a stream is closed by
 * {@linkcode PcapWriter.close}; a {@linkcode PcapSink} such as a `Deno.FsFile` stays open and
 * remains the caller's to close.
 *
 * @example Writing a packet and reading it back
 * ```ts
 * import { PcapWriter } from "./pcap_writer.ts";
 * import { readRecords } from "./read_records.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".pcap" });
 * {
 *   await using writer = await PcapWriter.create(path, { linkType: 1 });
 *   await writer.write({ seconds: 1700000000, nanos: 5000, length: 3, data: new Uint8Array(3) });
 * }
 * const records = await Array.fromAsync(readRecords(path));
 * assert.equal(records[0]?.nanos, 5000);
 * await Deno.remove(path);
 * ```
 */
export class PcapWriter {
  #buffer = new Uint8Array(BUFFER_LENGTH);
  #view = new DataView(this.#buffer.buffer);
  #used = 0;
  #headerWritten = false;
  #closing: Promise<void> | undefined;
  /** The chain of output writes, in order; a failed write fails everything after it. */
  #tail: Promise<void> = Promise.resolve();
  readonly #linkType: number;
  readonly #snapLength: number;
  readonly #nanosecond: boolean;
  readonly #sink: (bytes: Uint8Array) => Promise<void>;
  readonly #end: () => Promise<void>;
  /** Whether the sink is done with a buffer once its write resolves (files and PcapSinks). */
  readonly #reuse: boolean;
  /** Buffers whose writes are done, ready to be filled again. */
  readonly #spare: Uint8Array<ArrayBuffer>[] = [];

  private constructor(
    options: PcapWriterOptions,
    sink: (bytes: Uint8Array) => Promise<void>,
    end: () => Promise<void>,
    reuse: boolean,
  ) {
    this.#reuse = reuse;
    this.#linkType = options.linkType;
    this.#snapLength = options.snapLength ?? DEFAULT_SNAP_LENGTH;
    this.#nanosecond = options.nanosecond ?? false;
    this.#sink = sink;
    this.#end = end;
  }

  /**
   * Opens a writer.
   *
   * @param target A path (created or truncated), an open file or other {@linkcode PcapSink},
   *   or a `WritableStream`.
   * @param options Link type, snap length and timestamp resolution.
   * @returns The writer.
   * @throws {RangeError} When an option is out of range.
   * @throws {Error} When the file cannot be opened, e.g. "Cannot open pcap output file:
   *   Permission denied (os error 13): /x.pcap".
   *
   * @example A nanosecond file on a stream
   * ```ts
   * import { PcapWriter } from "./pcap_writer.ts";
   * import assert from "node:assert/strict";
   *
   * const chunks: Uint8Array[] = [];
   * const stream = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
   * const writer = await PcapWriter.create(stream, { linkType: 101, nanosecond: true });
   * await writer.close();
   * assert.equal(chunks[0]?.length, 24);
   * ```
   */
  static async create(target: PcapWriterTarget, options: PcapWriterOptions): Promise<PcapWriter> {
    const { linkType, snapLength = DEFAULT_SNAP_LENGTH } = options;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > MAX_LINK_TYPE_FIELD) {
      throw new RangeError(
        `Cannot create pcap writer: linkType must be an integer from 0 to ` +
          `${MAX_LINK_TYPE_FIELD}, got ${linkType}`,
      );
    }
    if (!Number.isInteger(snapLength) || snapLength < 1 || snapLength > MAX_SNAP_LENGTH) {
      throw new RangeError(
        `Cannot create pcap writer: snapLength must be an integer from 1 to ` +
          `${MAX_SNAP_LENGTH}, got ${snapLength}`,
      );
    }
    if (typeof target === "string" || target instanceof URL) {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(target, { write: true, create: true, truncate: true });
      } catch (error) {
        const path = target instanceof URL ? target.href : target;
        throw new Error(`Cannot open pcap output file: ${describeError(error)}: ${path}`, {
          cause: error,
        });
      }
      return new PcapWriter(options, (bytes) => writeAll(file, bytes), () => {
        file.close();
        return Promise.resolve();
      }, true);
    }
    if (target instanceof WritableStream) {
      const writer = target.getWriter();
      return new PcapWriter(options, (bytes) => writer.write(bytes), () => writer.close(), false);
    }
    return new PcapWriter(
      options,
      (bytes) => writeAll(target, bytes),
      () => Promise.resolve(),
      true,
    );
  }

  /**
   * Adds one packet, cut to the snap length. Returns a promise only when the buffer was handed
   * to the output; await it to keep memory flat.
   *
   * @param packet Timestamp, original length and captured bytes (copied before returning).
   * @throws {Error} When the writer is closed.
   */
  write(packet: PcapPacket): Promise<void> | void {
    const data = packet.data;
    return this.writeFrom(data, 0, data.length, packet.length, packet.seconds, packet.nanos);
  }

  /**
   * Adds one packet from `captured` bytes of `bytes` at `start`, cut to the snap length: for
   * frames read in place, such as a live capture's batches. Returns a promise only when the
   * buffer was handed to the output; await it to keep memory flat.
   *
   * @throws {Error} When the writer is closed.
   */
  writeFrom(
    bytes: Uint8Array,
    start: number,
    captured: number,
    length: number,
    seconds: number,
    nanos: number,
  ): Promise<void> | void {
    if (this.#closing !== undefined) {
      throw new Error("Cannot write packet: the pcap writer is closed");
    }
    if (captured > this.#snapLength) captured = this.#snapLength;
    const needed = PCAP_RECORD_HEADER_LENGTH + captured +
      (this.#headerWritten ? 0 : PCAP_FILE_HEADER_LENGTH);
    let flushed: Promise<void> | undefined;
    if (this.#used + needed > this.#buffer.length) {
      flushed = this.#handOff();
      if (needed > this.#buffer.length) {
        // Larger than a whole buffer: give the packet a buffer of its own.
        this.#buffer = new Uint8Array(needed);
        this.#view = new DataView(this.#buffer.buffer);
      }
    }
    if (!this.#headerWritten) this.#writeFileHeader();
    const fraction = this.#nanosecond ? nanos : Math.floor(nanos / NANOS_PER_MICRO);
    writePcapRecordHeader(this.#view, this.#used, seconds, fraction, captured, length);
    this.#used += PCAP_RECORD_HEADER_LENGTH;
    const buffer = this.#buffer;
    let used = this.#used;
    if (captured <= SHORT_PACKET) {
      for (let i = 0; i < captured; i++) buffer[used + i] = bytes[start + i]!;
    } else {
      buffer.set(bytes.subarray(start, start + captured), used);
    }
    used += captured;
    this.#used = used;
    if (this.#buffer.length > BUFFER_LENGTH) flushed = this.#handOff();
    return flushed;
  }

  /**
   * Adds records already in this writer's format (a 16-byte little-endian record header at this
   * writer's timestamp resolution, then the bytes, cut to its snap length), as capture workers
   * send them. Returns a promise when the buffer was handed to the output.
   *
   * @throws {Error} When the writer is closed.
   */
  writeRecords(records: Uint8Array): Promise<void> | void {
    if (this.#closing !== undefined) {
      throw new Error("Cannot write packet: the pcap writer is closed");
    }
    // Nothing was written before the file header, so it fits in the buffer.
    if (!this.#headerWritten) this.#writeFileHeader();
    this.#handOff();
    const sink = this.#sink;
    const tail = this.#tail.then(() => sink(records));
    tail.catch(() => {}); // failures reach flush() and close(), as in #handOff
    this.#tail = tail;
    return tail;
  }

  /** Hands the buffered bytes to the output and waits until every write so far is done. */
  async flush(): Promise<void> {
    this.#handOff();
    await this.#tail;
  }

  /**
   * Writes the file header if no packet did, flushes, and closes what the writer opened (a
   * path's file, a stream). Calling it again returns the first call's promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Closes the writer: `await using writer = await PcapWriter.create(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    if (!this.#headerWritten) this.#writeFileHeader();
    this.#handOff();
    try {
      await this.#tail;
    } catch (error) {
      // The write failure is the news; a failure to close after it is not.
      await this.#end().catch(() => {});
      throw error;
    }
    await this.#end();
  }

  #writeFileHeader(): void {
    writePcapFileHeader(this.#view, this.#used, this.#linkType, this.#snapLength, this.#nanosecond);
    this.#used += PCAP_FILE_HEADER_LENGTH;
    this.#headerWritten = true;
  }

  /**
   * Queues the buffered bytes for output and starts a fresh buffer: one whose write is done,
   * where the sink lets go of what it wrote (files, not streams), else a new one.
   */
  #handOff(): Promise<void> {
    if (this.#used === 0) return this.#tail;
    const full = this.#buffer;
    const bytes = full.subarray(0, this.#used);
    this.#buffer = this.#spare.pop() ?? new Uint8Array(BUFFER_LENGTH);
    this.#view = new DataView(this.#buffer.buffer);
    this.#used = 0;
    const sink = this.#sink;
    const spare = this.#spare;
    const reuse = this.#reuse && full.length === BUFFER_LENGTH;
    const tail = this.#tail.then(async () => {
      await sink(bytes);
      if (reuse && spare.length < MAX_SPARE_BUFFERS) spare.push(full);
    });
    // Marks the chain handled: a caller that ignores write()'s promise still sees the failure
    // from flush() or close() instead of an unhandled rejection.
    tail.catch(() => {});
    this.#tail = tail;
    return tail;
  }
}
