/**
 * Buffered text output for a million lines a second: strings are gathered, encoded to UTF-8 in
 * large batches and written in large chunks, so that syscalls stay rare.
 *
 * @module
 */

import { AsciiBuffer, type LineOutput } from "../format/ascii.ts";

/** Where an {@linkcode OutputWriter} writes: `Deno.stdout`, a `Deno.FsFile`, or a test double. */
export interface SyncWriter {
  /** Writes some prefix of `p` and returns how many bytes that was. */
  writeSync(p: Uint8Array): number;
}

/** Options for {@linkcode OutputWriter}. */
export interface OutputWriterOptions {
  /** Bytes gathered before a write to the sink; default 1 MiB, at least 4. */
  bufferSize?: number;
}

/** Default size of the byte buffer. */
const DEFAULT_BUFFER_SIZE = 1024 * 1024;
/** The longest UTF-8 encoding of one character, so a buffer can always take one. */
const MIN_BUFFER_SIZE = 4;
/**
 * Characters gathered before they are encoded: this fraction of the buffer size. Kept small so
 * the gathered strings are encoded while still young: long-lived ones cost the garbage collector.
 */
const PENDING_FRACTION = 64;
/** Writes to the sink are made once the buffer is this fraction full. */
const DRAIN_FRACTION = 2;
/**
 * Lines at least this long are encoded one by one rather than joined first: past about 300
 * characters the copy a join makes costs more than a call to the encoder.
 */
const DIRECT_LINE_LENGTH = 320;
/** A sink that accepts nothing this many times in a row is treated as broken. */
const MAX_EMPTY_WRITES = 16;
/** The first buffer of a ByteCollector or LineBytes; it doubles as needed. */
const INITIAL_COLLECTOR_BYTES = 1 << 22;

/**
 * Thrown by {@linkcode OutputWriter} when the reader has gone (EPIPE, as when `snout ... | head`
 * has printed enough): a quiet end of output, not a failure.
 */
export class OutputClosedError extends Error {
  /** Builds the error; `cause` is the operating system's error. */
  constructor(options?: ErrorOptions) {
    super("Cannot write output: the reader has closed the pipe", options);
    this.name = "OutputClosedError";
  }
}

function isBrokenPipe(error: unknown): boolean {
  if (error instanceof Deno.errors.BrokenPipe) return true;
  return typeof error === "object" && error !== null && "code" in error &&
    error.code === "EPIPE";
}

/**
 * Gathers text and writes it to a {@linkcode SyncWriter} as UTF-8 in chunks of about half the
 * buffer size. Nothing reaches the sink before the buffer fills or {@linkcode OutputWriter.flush}
 * is called. Partial writes are continued; strings larger than the buffer are written in pieces.
 * Lines can also be written as bytes, straight into the buffer, between
 * {@linkcode OutputWriter.beginLine} and {@linkcode OutputWriter.endLine}.
 *
 * When the reader has closed the pipe, the call that finds out throws
 * {@linkcode OutputClosedError}, {@linkcode OutputWriter.closed} becomes true, and every later
 * call does nothing, so that cleanup code can still call `flush()`. Other write errors are
 * thrown as `Error("Cannot write output: ...")` with the bytes not yet written kept for the next
 * flush.
 *
 * @example Write lines to a sink
 * ```ts
 * import { OutputWriter } from "./output.ts";
 * import assert from "node:assert/strict";
 * const chunks: Uint8Array[] = [];
 * const sink = { writeSync: (p: Uint8Array) => (chunks.push(p.slice()), p.length) };
 * const out = new OutputWriter(sink);
 * out.writeLine("first");
 * out.write("second");
 * out.write("\n");
 * assert.equal(chunks.length, 0);
 * out.flush();
 * assert.equal(new TextDecoder().decode(chunks[0]), "first\nsecond\n");
 * ```
 *
 * @example Write a line as bytes, after one given as a string
 * ```ts
 * import { OutputWriter } from "./output.ts";
 * import assert from "node:assert/strict";
 * const chunks: Uint8Array[] = [];
 * const sink = { writeSync: (p: Uint8Array) => (chunks.push(p.slice()), p.length) };
 * const out = new OutputWriter(sink);
 * out.writeLine("seq");
 * out.beginLine().decimal(4082233688);
 * out.endLine();
 * out.flush();
 * assert.equal(new TextDecoder().decode(chunks[0]), "seq\n4082233688\n");
 * ```
 *
 * @example Stop quietly when the reader goes away
 * ```ts
 * import { OutputClosedError, OutputWriter } from "./output.ts";
 * import assert from "node:assert/strict";
 * const sink = {
 *   writeSync(_p: Uint8Array): number {
 *     throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
 *   },
 * };
 * const out = new OutputWriter(sink);
 * out.writeLine("lost");
 * try {
 *   out.flush();
 * } catch (error) {
 *   assert.ok(error instanceof OutputClosedError);
 * }
 * assert.ok(out.closed);
 * out.flush();
 * ```
 */
export class OutputWriter implements LineOutput {
  readonly #sink: SyncWriter;
  /** Encoded output not yet written to the sink: `#buffer.length` bytes of `#buffer.bytes`. */
  readonly #buffer: AsciiBuffer;
  readonly #encoder = new TextEncoder();
  readonly #pendingLimit: number;
  readonly #drainAt: number;
  /** Text not yet encoded. */
  #pending = "";
  #closed = false;

  /** Makes a writer for `sink` (usually `Deno.stdout`). */
  constructor(sink: SyncWriter, options: OutputWriterOptions = {}) {
    const size = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(size) || size < MIN_BUFFER_SIZE) {
      throw new RangeError(
        `Cannot create output writer: bufferSize must be an integer of at least ${MIN_BUFFER_SIZE}, got ${size}`,
      );
    }
    this.#sink = sink;
    this.#buffer = new AsciiBuffer(new Uint8Array(size));
    this.#pendingLimit = Math.max(1, Math.floor(size / PENDING_FRACTION));
    this.#drainAt = Math.max(1, Math.floor(size / DRAIN_FRACTION));
  }

  /** True once the reader has closed the pipe; from then on writes are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Adds `text` to the output. Throws {@linkcode OutputClosedError} if the reader has gone. */
  write(text: string): void {
    if (this.#closed) return;
    this.#pending += text;
    if (this.#pending.length >= this.#pendingLimit) this.#encodePending();
  }

  /** Adds `text` and a newline to the output. */
  writeLine(text: string): void {
    if (this.#closed) return;
    if (text.length < DIRECT_LINE_LENGTH) {
      this.#pending += text + "\n";
      if (this.#pending.length >= this.#pendingLimit) this.#encodePending();
      return;
    }
    // A long line (a JSON record) is encoded as it is: joined to the pending text, it would be
    // copied once more when the join is flattened for the encoder.
    if (this.#pending !== "") this.#encodePending();
    this.#pending = text;
    try {
      this.#encodePending();
    } catch (error) {
      // What was not written is kept for the next flush; its line break goes with it.
      if (!this.#closed) this.#pending += "\n";
      throw error;
    }
    this.#buffer.newline();
  }

  /**
   * Starts a line written as bytes into the returned buffer, after everything written before;
   * {@linkcode OutputWriter.endLine} ends it. Write nothing else to the writer in between.
   */
  beginLine(): AsciiBuffer {
    if (this.#pending !== "") this.#encodePending();
    return this.#buffer;
  }

  /** Ends a line started by {@linkcode OutputWriter.beginLine}. */
  endLine(): void {
    const buffer = this.#buffer;
    buffer.newline();
    // After the reader has gone, lines are dropped as they end.
    if (this.#closed) buffer.length = 0;
    else if (buffer.length >= this.#drainAt) this.#drain();
  }

  /** Writes everything gathered so far to the sink. */
  flush(): void {
    if (this.#closed) return;
    if (this.#pending !== "") this.#encodePending();
    if (this.#buffer.length > 0) this.#drain();
  }

  /** Flushes, unless the reader has gone. */
  [Symbol.dispose](): void {
    this.flush();
  }

  /** Encodes the pending text into the buffer, draining the buffer whenever it fills. */
  #encodePending(): void {
    let text = this.#pending;
    this.#pending = "";
    const buffer = this.#buffer;
    for (;;) {
      const bytes = buffer.bytes;
      const room = buffer.length === 0 ? bytes : bytes.subarray(buffer.length);
      const { read, written } = this.#encoder.encodeInto(text, room);
      buffer.length += written;
      if (read === text.length) break;
      text = text.slice(read);
      try {
        this.#drain();
      } catch (error) {
        // Keep the text not yet encoded for the next flush, unless the reader has gone.
        if (!this.#closed) this.#pending = text;
        throw error;
      }
    }
    if (buffer.length >= this.#drainAt) this.#drain();
  }

  /**
   * Writes bytes already encoded (such as a print worker's output), after everything gathered
   * before them. Throws {@linkcode OutputClosedError} if the reader has gone.
   */
  writeBytes(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.flush();
    this.#writeOut(bytes, bytes.length, (written) => {
      // Keep what was not written (as much as the buffer holds) for the next flush.
      const buffer = this.#buffer;
      const rest = bytes.subarray(written, written + buffer.bytes.length);
      buffer.bytes.set(rest);
      buffer.length = rest.length;
    });
  }

  /** Writes the buffer to the sink, continuing partial writes. */
  #drain(): void {
    const buffer = this.#buffer;
    const bytes = buffer.bytes;
    const used = buffer.length;
    this.#writeOut(bytes, used, (offset) => {
      // Keep what was not written for the next flush.
      bytes.copyWithin(0, offset, used);
      buffer.length = used - offset;
    });
    buffer.length = 0;
  }

  /**
   * Writes `bytes[0, end)` to the sink. On a write error other than a closed pipe (which throws
   * OutputClosedError) it calls `keep` with how far it got, then throws.
   */
  #writeOut(bytes: Uint8Array, end: number, keep: (written: number) => void): void {
    let offset = 0;
    let emptyWrites = 0;
    try {
      while (offset < end) {
        const written = this.#sink.writeSync(bytes.subarray(offset, end));
        if (written > 0) {
          offset += written;
          emptyWrites = 0;
        } else if (++emptyWrites >= MAX_EMPTY_WRITES) {
          throw new Error(`the sink accepted no bytes ${MAX_EMPTY_WRITES} times in a row`);
        }
      }
    } catch (error) {
      if (isBrokenPipe(error)) {
        this.#closed = true;
        this.#buffer.length = 0;
        this.#pending = "";
        throw new OutputClosedError({ cause: error });
      }
      keep(offset);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot write output: ${message}`, { cause: error });
    }
  }
}

/**
 * A {@linkcode SyncWriter} that keeps what is written in one growing buffer, which can be given
 * away to another thread with no copy: how a capture worker collects a batch's pcap records
 * before it sends them back.
 *
 * @example Collect two writes, give them away, collect again in the buffer handed back
 * ```ts
 * import { ByteCollector } from "./output.ts";
 * import assert from "node:assert/strict";
 * const collector = new ByteCollector();
 * collector.writeSync(new Uint8Array([1, 2]));
 * collector.writeSync(new Uint8Array([3]));
 * const given = collector.giveAway();
 * assert.deepEqual([...given], [1, 2, 3]);
 * collector.reuse(given);
 * collector.writeSync(new Uint8Array([4]));
 * assert.deepEqual([...collector.giveAway()], [4]);
 * ```
 */
export class ByteCollector implements SyncWriter {
  /** The buffer; its first `used` bytes are the output. */
  bytes: Uint8Array = new Uint8Array(INITIAL_COLLECTOR_BYTES);
  /** Bytes collected so far. */
  used = 0;

  /** Appends a chunk, growing the buffer when it is full. */
  writeSync(chunk: Uint8Array): number {
    if (this.used + chunk.length > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.used + chunk.length));
      bigger.set(this.bytes.subarray(0, this.used));
      this.bytes = bigger;
    }
    this.bytes.set(chunk, this.used);
    this.used += chunk.length;
    return chunk.length;
  }

  /**
   * What was collected, as a view of the buffer itself, with no copy: for a transfer. Call
   * {@linkcode ByteCollector.reuse} before collecting again.
   */
  giveAway(): Uint8Array {
    const bytes = this.bytes.subarray(0, this.used);
    this.bytes = new Uint8Array(0);
    this.used = 0;
    return bytes;
  }

  /**
   * Starts empty, collecting into `buffer` (one given away before, now free again) or, without
   * one, into a new buffer when the current one has been given away.
   */
  reuse(buffer?: Uint8Array): void {
    if (buffer !== undefined) this.bytes = new Uint8Array(buffer.buffer);
    else if (this.bytes.byteLength === 0) this.bytes = new Uint8Array(INITIAL_COLLECTOR_BYTES);
    this.used = 0;
  }
}

/**
 * Lines gathered as bytes in one growing buffer, which can be given away to another thread with
 * no copy: what a print worker prints into. Lines given as strings are encoded as UTF-8; lines
 * written as bytes ({@linkcode LineBytes.beginLine}) go straight in.
 *
 * @example Gather lines, give them away, gather again in a buffer handed back
 * ```ts
 * import { LineBytes } from "./output.ts";
 * import assert from "node:assert/strict";
 * const lines = new LineBytes();
 * lines.writeLine("first");
 * lines.beginLine().decimal(2);
 * lines.endLine();
 * const given = lines.giveAway();
 * assert.equal(new TextDecoder().decode(given), "first\n2\n");
 * lines.reuse(given);
 * lines.writeLine("third");
 * assert.equal(new TextDecoder().decode(lines.giveAway()), "third\n");
 * ```
 */
export class LineBytes implements LineOutput {
  #buffer = new AsciiBuffer(new Uint8Array(INITIAL_COLLECTOR_BYTES));

  /** Adds a line given as a string. */
  writeLine(text: string): void {
    this.#buffer.utf8(text);
    this.#buffer.newline();
  }

  /** Starts a line written as bytes, straight into the buffer. */
  beginLine(): AsciiBuffer {
    return this.#buffer;
  }

  /** Ends the line started by {@linkcode LineBytes.beginLine}. */
  endLine(): void {
    this.#buffer.newline();
  }

  /**
   * Starts empty, gathering into `buffer` (one given away before, now free again) or, without
   * one, into a new buffer when the current one has been given away.
   */
  reuse(buffer?: Uint8Array): void {
    if (buffer !== undefined) this.#buffer = new AsciiBuffer(new Uint8Array(buffer.buffer));
    else if (this.#buffer.bytes.byteLength === 0) {
      this.#buffer = new AsciiBuffer(new Uint8Array(INITIAL_COLLECTOR_BYTES));
    }
    this.#buffer.length = 0;
  }

  /**
   * The lines gathered, as a view of the buffer itself, with no copy: for a transfer. Call
   * {@linkcode LineBytes.reuse} before gathering again.
   */
  giveAway(): Uint8Array {
    const buffer = this.#buffer;
    const lines = buffer.bytes.subarray(0, buffer.length);
    this.#buffer = new AsciiBuffer(new Uint8Array(0));
    return lines;
  }
}
