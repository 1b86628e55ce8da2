/**
 * Live capture of frames, undecoded: a capture socket driven by an edge-triggered epoll loop,
 * handing out frames in place (batches, or pcap records for `-w`) or copied. capture.ts decodes
 * on top of it; this module loads neither the decoders nor the filter compiler, so a capture that
 * only writes a file starts without them (about 10 ms of a 0.2 s start).
 *
 * @module
 */

import type { RecordCursor } from "../parsers/capture_format.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_EVENT,
  EPOLLET,
  EPOLLIN,
  MAX_SNAP_LENGTH,
} from "./constants.ts";
import { check, ErrnoError, lastErrno } from "./errno.ts";
import { FrameBatch } from "./frame_batch.ts";
import { PcapRecordBatch } from "./pcap_records.ts";
import { libc } from "./libc.ts";
import { DEFAULT_BLOCK_TIMEOUT_MS, type RingGeometry } from "./packet_ring.ts";
import {
  MAX_FANOUT_GROUP,
  PacketSocket,
  type PacketSocketOptions,
  type SocketStats,
} from "./packet_socket.ts";

/** Packets taken from the socket before they are handed out as one batch. */
const MAX_BATCH = 4096;
/**
 * How long one idle wait lasts at most (ms), as tcpdump's poll: close() and aborts end a wait at
 * once through the capture's eventfd, so the wait only bounds how long a lost wake-up could last.
 * An idle capture wakes once a second; with 100 ms it cost about 3.5 ms of CPU a second here.
 */
const IDLE_WAIT_MS = 1000;
/** What close() adds to the eventfd's counter to wake a wait: a uint64 of 1. */
const WAKE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
/** A capture that handed out a batch this recently (ms) is busy: it waits on its own thread. */
const BUSY_MS = 20;
/**
 * How long one wait on the JS thread lasts (ms): as long as the ring takes at most to hand over a
 * block that is not full, so a flood costs one wait a block, and short enough that signals and
 * timers wait little.
 */
const BUSY_WAIT_MS = DEFAULT_BLOCK_TIMEOUT_MS;
/** How long a capture goes on reading after close() (ms): the ring's block timeout, twice. */
const CLOSE_FLUSH_MS = 2 * DEFAULT_BLOCK_TIMEOUT_MS;
/** While packets keep coming, the event loop gets a turn this often (ms). */
const TURN_MS = 50;
/** Nanosecond timestamps: nine decimal digits. */
export const NANO_DIGITS = 9;
const L3_PROTOCOLS = new Set(["tcp", "udp", "icmp"]);

/** Options of {@linkcode FrameCapture.open}. */
export interface FrameCaptureOptions extends PacketSocketOptions {
  /** Stop after this many packets. */
  count?: number;
  /** Stop when this signal aborts. */
  signal?: AbortSignal;
}

/** A packet as the socket delivered it, before decoding. Its `data` is the caller's to keep. */
export interface RawPacket {
  data: Uint8Array;
  length: number;
  seconds: number;
  nanos: number;
  interface: number;
}

/** Counters of a live capture, as tcpdump prints them on exit. */
export interface CaptureStats extends SocketStats {
  /** Packets handed out. */
  captured: number;
}

function validate(options: FrameCaptureOptions): void {
  const { count, snapLength, bufferSize, l3, fanout } = options;
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 1)) {
    throw new RangeError(`Invalid count ${count}: give a whole number above 0`);
  }
  if (
    snapLength !== undefined &&
    (!Number.isSafeInteger(snapLength) || snapLength < 1 || snapLength > MAX_SNAP_LENGTH)
  ) {
    throw new RangeError(`Invalid snapshot length ${snapLength}: give 1 to ${MAX_SNAP_LENGTH}`);
  }
  if (bufferSize !== undefined && (!Number.isSafeInteger(bufferSize) || bufferSize < 1)) {
    throw new RangeError(`Invalid buffer size ${bufferSize}: give a whole number of bytes`);
  }
  if (
    fanout !== undefined && (!Number.isInteger(fanout) || fanout < 0 || fanout > MAX_FANOUT_GROUP)
  ) {
    throw new RangeError(`Invalid fanout group ${fanout}: give 0 to ${MAX_FANOUT_GROUP}`);
  }
  if (fanout !== undefined && l3 !== undefined) {
    throw new RangeError(
      "Cannot join a fanout group with an l3 socket: fanout is for packet sockets",
    );
  }
  if (l3 !== undefined && !L3_PROTOCOLS.has(l3)) {
    throw new RangeError(`Invalid layer-3 protocol "${l3}": give tcp, udp or icmp`);
  }
}

/**
 * A running live capture whose frames are handed out as the socket delivered them: in batches
 * read in place, as pcap records in place, or copied. `close()` (safe twice) or `await using`
 * ends it and closes the socket, the epoll instance and its eventfd. `LiveCapture` (capture.ts)
 * adds decoding and filter expressions.
 */
export class FrameCapture {
  /** LINKTYPE_ of the captured frames. */
  readonly linkType: number;
  /** Snapshot length. */
  readonly snapLength: number;
  /** The interface captured on, or undefined for all. */
  readonly interfaceName: string | undefined;
  /** The receive ring's shape, or undefined where packets are read with recvmsg. */
  readonly ring: RingGeometry | undefined;
  /** Why the receive ring could not be set up (and recvmsg is used), or undefined. */
  readonly ringError: string | undefined;
  /** The filter, compiled for `linkType`, or undefined when every packet is kept. */
  readonly filter: BpfProgram | undefined;
  readonly #socket: PacketSocket;
  readonly #epfd: number;
  /** An eventfd in the epoll set: close() writes it to end a wait on another thread. */
  readonly #wakefd: number;
  readonly #events = new Uint8Array(EPOLL_EVENT.size);
  readonly #batch = new FrameBatch();
  readonly #records = new PcapRecordBatch();
  readonly #cursor: RecordCursor = {
    bytes: this.#batch.bytes,
    view: this.#batch.view,
    offset: 0,
    captured: 0,
    length: 0,
    seconds: 0,
    nanos: 0,
    digits: NANO_DIGITS,
    linkType: 0,
    interface: -1,
  };
  readonly #count: number;
  #captured = 0;
  #closing = false;
  #closed = false;
  #running = false;
  /**
   * The capture loop's clock (Date.now()): until when a closing capture still reads (Infinity
   * while it is not closing), and even if reads never come back empty; when the event loop
   * last had a turn, and when the last batch was handed out.
   */
  #flushUntil = Infinity;
  #stopBy = Infinity;
  #lastTurn = 0;
  #lastBatch = -Infinity;

  /**
   * Opens the socket and the epoll instance.
   *
   * @throws {RangeError} For invalid options.
   * @throws {FilterError} For a filter that does not compile for the link type.
   * @throws {CaptureSetupError} For an unknown or down interface, or missing privileges.
   */
  protected constructor(options: FrameCaptureOptions) {
    validate(options);
    // A filter to compile is compiled once the socket knows its link type, and attached before
    // it receives.
    const socket = PacketSocket.open(options);
    const c = libc();
    let epfd = -1;
    let wakefd = -1;
    try {
      epfd = check(c.epoll_create1(EPOLL_CLOEXEC), "Cannot create epoll instance", "epoll_create1");
      wakefd = check(c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "Cannot create eventfd", "eventfd");
      const event = new Uint8Array(EPOLL_EVENT.size);
      const view = new DataView(event.buffer);
      view.setUint32(EPOLL_EVENT.events, (EPOLLIN | EPOLLET) >>> 0, true);
      for (const fd of [socket.fd, wakefd]) {
        view.setInt32(EPOLL_EVENT.data, fd, true);
        const what = fd === wakefd ? "Cannot watch eventfd" : "Cannot watch socket";
        check(c.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, event), what, "epoll_ctl");
      }
    } catch (error) {
      if (wakefd >= 0) c.close(wakefd);
      if (epfd >= 0) c.close(epfd);
      socket.close();
      throw error;
    }
    this.#socket = socket;
    this.filter = socket.filter;
    this.#epfd = epfd;
    this.#wakefd = wakefd;
    this.#count = options.count ?? Infinity;
    this.linkType = socket.linkType;
    this.snapLength = socket.snapLength;
    this.interfaceName = socket.interface?.name;
    this.ring = socket.ring;
    this.ringError = socket.ringError;
    if (options.signal?.aborted) this.#closing = true;
    else options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /**
   * Starts a capture of undecoded frames. Needs root (or CAP_NET_RAW) and `--allow-ffi`.
   *
   * @throws {RangeError} For invalid options.
   * @throws {FilterError} For a filter that does not compile for the link type.
   * @throws {CaptureSetupError} For an unknown or down interface, or missing privileges.
   *
   * @example Open a capture on lo and say how it reads (root, --allow-ffi)
   * ```ts ignore
   * import { FrameCapture } from "./frame_capture.ts";
   * await using live = FrameCapture.open({ interface: "lo" });
   * console.log(live.linkType, live.ring ?? live.ringError);
   * ```
   */
  static open(options: FrameCaptureOptions = {}): FrameCapture {
    return new FrameCapture(options);
  }

  /**
   * The zero-copy path: each batch is what one read from the socket gave (from the receive
   * ring, one block of frames, read in place). A batch and every view into its bytes are valid
   * only until the iteration moves on (or the capture closes): decode with
   * `LiveCapture.decodeFrame` (capture.ts) or copy with `batch.copy(i)` what must outlive it.
   * The same {@linkcode FrameBatch} object is reused for every batch. Ends at the count, on
   * close() or on abort.
   *
   * @example Count frames and bytes without copying them (root, --allow-ffi)
   * ```ts ignore
   * import { FrameCapture } from "./frame_capture.ts";
   * await using live = FrameCapture.open({ interface: "lo", count: 1000 });
   * let bytes = 0;
   * for await (const batch of live.frames()) {
   *   for (let i = 0; i < batch.count; i++) bytes += batch.captured[i]!;
   * }
   * console.log(bytes);
   * ```
   */
  frames(): AsyncGenerator<FrameBatch> {
    const batch = this.#batch;
    return this.#reads((room) => this.#socket.read(batch, room), batch);
  }

  /**
   * The `-w` fast path, for a capture with a receive ring (`ring` is set): each batch is up to
   * 1024 pcap records (nanosecond) laid out in place in the ring, for
   * `PcapFdWriter.write`. Valid until the iteration moves on, like a batch from
   * {@linkcode FrameCapture.frames}.
   *
   * @throws {Error} When the capture reads with recvmsg.
   */
  pcapRecords(): AsyncGenerator<PcapRecordBatch> {
    const records = this.#records;
    return this.#reads((room) => this.#socket.readRecords(records, room), records);
  }

  /**
   * The `-w` fast path as one call: hands each batch of {@linkcode FrameCapture.pcapRecords} to
   * `writer.write` as soon as it is read, and resolves when the capture ends (count, close() or
   * abort). No async iteration per batch: in a steady flood that iteration cost about a fifth
   * of the CPU time of writing.
   *
   * @throws {Error} When the capture reads with recvmsg, and whatever `writer.write` throws.
   *
   * @example Write 1000 packets from lo to a file (root, --allow-ffi)
   * ```ts ignore
   * import { FrameCapture } from "./frame_capture.ts";
   * import { PcapFdWriter } from "./pcap_records.ts";
   * await using live = FrameCapture.open({ interface: "lo", count: 1000 });
   * const writer = PcapFdWriter.create("/tmp/lo.pcap", live.linkType, live.snapLength);
   * try {
   *   await live.writePcapRecords(writer);
   * } finally {
   *   writer.close();
   * }
   * ```
   */
  async writePcapRecords(writer: { write(records: PcapRecordBatch): void }): Promise<void> {
    const records = this.#records;
    const read = (room: number) => this.#socket.readRecords(records, room);
    this.#begin();
    try {
      for (;;) {
        const count = this.#next(read);
        if (count < 0) break;
        if (count > 0) {
          writer.write(records);
          const turn = this.#afterBatch();
          if (turn !== undefined) await turn;
          continue;
        }
        const waiting = this.#wait();
        if (waiting === false) break;
        if (waiting !== true) await waiting;
      }
    } finally {
      this.#end();
    }
  }

  /**
   * The capture loop as an iteration: `read` fills `batch` with up to `room` packets and says
   * how many; each filled batch is handed out. Ends at the count, on close() or on abort.
   */
  async *#reads<T>(read: (room: number) => number, batch: T): AsyncGenerator<T> {
    this.#begin();
    try {
      for (;;) {
        const count = this.#next(read);
        if (count < 0) break;
        if (count > 0) {
          yield batch;
          const turn = this.#afterBatch();
          if (turn !== undefined) await turn;
          continue;
        }
        const waiting = this.#wait();
        if (waiting === false) break;
        if (waiting !== true) await waiting;
      }
    } finally {
      this.#end();
    }
  }

  /** Starts a capture loop. */
  #begin(): void {
    if (this.#running) throw new Error("Cannot iterate a live capture twice at once");
    this.#running = true;
    this.#flushUntil = Infinity;
    this.#stopBy = Infinity;
    // Date.now() is a builtin; performance.now() a call into Deno, dear at a few per batch.
    this.#lastTurn = Date.now();
    this.#lastBatch = -Infinity;
  }

  /** Ends a capture loop, and the capture with it. */
  #end(): void {
    this.#running = false;
    this.#release();
  }

  /**
   * Reads the next batch with `read`: how many packets it holds, 0 when none is ready, or -1
   * when the capture is over. After close(), packets the kernel already took are still handed
   * out: the ring's block being filled is retired within its timeout, so reading goes on that
   * long (recvmsg reads until the socket is empty). A flood that never lets a read come back
   * empty is read for that long and no longer.
   */
  #next(read: (room: number) => number): number {
    if (this.#captured >= this.#count) return -1;
    if (this.#closing) {
      const now = Date.now();
      if (this.#flushUntil === Infinity) {
        this.#flushUntil = this.#socket.ring === undefined ? now : now + CLOSE_FLUSH_MS;
        this.#stopBy = now + CLOSE_FLUSH_MS;
      } else if (now >= this.#stopBy) {
        return -1;
      }
    }
    const count = read(Math.min(MAX_BATCH, this.#count - this.#captured));
    this.#captured += count;
    return count;
  }

  /**
   * After a batch: under a steady flood reads never come back empty, so now and then the
   * event loop needs a turn for timers, signals and messages. Returns what to await for it, or
   * undefined when none is due. A wait of 0 on another thread gives that turn for a thread hop
   * (setTimeout costs about ten times as much).
   */
  #afterBatch(): Promise<number> | undefined {
    const now = Date.now();
    this.#lastBatch = now;
    if (now - this.#lastTurn <= TURN_MS) return undefined;
    this.#lastTurn = now;
    return libc().epoll_wait_blocking(this.#epfd, this.#events, 1, 0);
  }

  /**
   * When no batch was ready: waits until the next packet (or block) raises a new edge. While
   * packets are flowing it waits briefly on this thread, returning true (a wait on another
   * thread costs a thread hop); when they stop, it returns that wait off the JS thread, to
   * await, so that timers, signals and messages run. False when the capture is over.
   */
  #wait(): boolean | Promise<number> {
    const now = Date.now();
    const left = this.#flushUntil - now;
    if (left <= 0) return false;
    const c = libc();
    const busy = now - this.#lastBatch < BUSY_MS;
    if (c.epoll_wait(this.#epfd, this.#events, 1, busy ? BUSY_WAIT_MS : 0) > 0 || busy) {
      return true;
    }
    // Its result is not needed: the waiting thread's errno is out of reach, and after EINTR or
    // a timeout the loop reads again anyway.
    return c.epoll_wait_blocking(
      this.#epfd,
      this.#events,
      1,
      Math.min(IDLE_WAIT_MS, Math.ceil(left)),
    );
  }

  /**
   * Batches of packets as the socket delivered them, each with a copy of its bytes: the
   * copying path, whose packets are the caller's to keep. Ends at the count, on close() or on
   * abort.
   */
  async *rawBatches(): AsyncGenerator<RawPacket[]> {
    for await (const batch of this.frames()) {
      const raw: RawPacket[] = new Array(batch.count);
      for (let i = 0; i < batch.count; i++) {
        raw[i] = {
          data: batch.copy(i),
          length: batch.lengths[i]!,
          seconds: batch.seconds[i]!,
          nanos: batch.nanos[i]!,
          interface: batch.interfaces[i]!,
        };
      }
      yield raw;
    }
  }

  /**
   * A cursor on frame `i` of a batch from {@linkcode FrameCapture.frames}, such as a capture
   * file's parser gives, for code that reads records through cursors (a print group writing
   * JSON from the bytes). One cursor serves every call: it is valid until the next call, and
   * only while the batch is.
   *
   * @example Print the frames of a live capture as JSON lines (root, --allow-ffi)
   * ```ts ignore
   * import { FrameCapture } from "./frame_capture.ts";
   * import { makePrinter, PrintGroup } from "../format/printer.ts";
   * import { LineCollector } from "../format/ascii.ts";
   * await using live = FrameCapture.open({ interface: "lo", count: 10 });
   * const group = new PrintGroup(makePrinter({ mode: "json", hex: 0, color: false }));
   * const out = new LineCollector();
   * let number = 0;
   * for await (const batch of live.frames()) {
   *   for (let i = 0; i < batch.count; i++) {
   *     group.addCursor(live.frameCursor(batch, i), ++number, undefined, () => batch.data(i), out);
   *   }
   * }
   * group.end(out);
   * ```
   */
  frameCursor(batch: FrameBatch, i: number): RecordCursor {
    const cursor = this.#cursor;
    cursor.bytes = batch.bytes;
    cursor.view = batch.view;
    cursor.offset = batch.offsets[i]!;
    cursor.captured = batch.captured[i]!;
    cursor.length = batch.lengths[i]!;
    cursor.seconds = batch.seconds[i]!;
    cursor.nanos = batch.nanos[i]!;
    cursor.linkType = this.linkType;
    // An interface index is never 0: 0 means the socket did not say.
    const ifindex = batch.interfaces[i]!;
    cursor.interface = ifindex === 0 ? -1 : ifindex;
    return cursor;
  }

  /**
   * Counters: packets handed out, and the kernel's received and dropped counts.
   *
   * @example Print the counters after a capture
   * ```ts ignore
   * import { FrameCapture } from "./frame_capture.ts";
   * const live = FrameCapture.open({ interface: "lo", count: 1 });
   * for await (const _ of live);
   * console.log(live.stats());
   * ```
   */
  stats(): CaptureStats {
    return { captured: this.#captured, ...this.#socket.stats() };
  }

  /**
   * Ends the capture: a running iteration hands out what the kernel already took, for at most
   * the flush time, and ends. Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closing = true;
    // Ends a wait in progress; a full counter (EAGAIN) has woken it already.
    if (this.#running) libc().write(this.#wakefd, WAKE, WAKE.length);
    else this.#release();
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    const c = libc();
    c.close(this.#wakefd);
    if (c.close(this.#epfd) < 0) {
      throw new ErrnoError("Cannot close epoll instance", "close", lastErrno());
    }
  }

  /** Ends the capture. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
