/**
 * Live capture: a capture socket driven by an edge-triggered epoll loop, handed out as decoded
 * packet records.
 *
 * @module
 */

import { formatTime } from "../parsers/capture_format.ts";
import { decodeAt } from "../parsers/decode.ts";
import type { CapturedPacket, Frame } from "../parsers/types.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import { compileFilter } from "../filter/compile.ts";
import { parseFilter } from "../filter/parser.ts";
import { EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_EVENT, EPOLLET, EPOLLIN } from "./constants.ts";
import { check, ErrnoError, lastErrno } from "./errno.ts";
import { libc } from "./libc.ts";
import {
  MAX_SNAP_LENGTH,
  PacketSocket,
  type PacketSocketOptions,
  type SocketStats,
} from "./packet_socket.ts";

/** Packets taken from the socket before they are handed out as one batch. */
const MAX_BATCH = 4096;
/** How long one idle wait lasts, so that close() and aborts are seen promptly. */
const IDLE_WAIT_MS = 100;
/** Nanosecond timestamps: nine decimal digits. */
const NANO_DIGITS = 9;
const L3_PROTOCOLS = new Set(["tcp", "udp", "icmp"]);

/** Options of {@linkcode capture}. */
export interface CaptureOptions extends Omit<PacketSocketOptions, "filter"> {
  /**
   * Keep only the packets this filter accepts: an expression in tcpdump's language, compiled for
   * the socket's link type once it is open, or a program compiled for that link type. It runs
   * in the kernel, so what it rejects never reaches user space.
   */
  filter?: string | BpfProgram;
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

function validate(options: CaptureOptions): void {
  const { count, snapLength, bufferSize, l3 } = options;
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
  if (l3 !== undefined && !L3_PROTOCOLS.has(l3)) {
    throw new RangeError(`Invalid layer-3 protocol "${l3}": give tcp, udp or icmp`);
  }
  // A syntax error is reported before anything is opened; the rest needs the link type.
  if (typeof options.filter === "string") parseFilter(options.filter);
}

/**
 * A running live capture. Iterate it for decoded packets, or take batches; `close()` (safe
 * twice) or `await using` ends it and closes the socket and the epoll instance.
 */
export class LiveCapture implements AsyncIterable<CapturedPacket> {
  /** LINKTYPE_ of the captured frames. */
  readonly linkType: number;
  /** Snapshot length. */
  readonly snapLength: number;
  /** The interface captured on, or undefined for all. */
  readonly interfaceName: string | undefined;
  /** The filter, compiled for `linkType`, or undefined when every packet is kept. */
  readonly filter: BpfProgram | undefined;
  readonly #socket: PacketSocket;
  readonly #epfd: number;
  readonly #events = new Uint8Array(EPOLL_EVENT.size);
  readonly #count: number;
  #captured = 0;
  #number = 0;
  #closing = false;
  #closed = false;
  #running = false;

  private constructor(
    socket: PacketSocket,
    epfd: number,
    options: CaptureOptions,
    filter: BpfProgram | undefined,
  ) {
    this.#socket = socket;
    this.filter = filter;
    this.#epfd = epfd;
    this.#count = options.count ?? Infinity;
    this.linkType = socket.linkType;
    this.snapLength = socket.snapLength;
    this.interfaceName = socket.interface?.name;
    if (options.signal?.aborted) this.#closing = true;
    else options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /**
   * Opens the socket and the epoll instance. Prefer {@linkcode capture}.
   *
   * @throws {RangeError} For invalid options.
   * @throws {FilterError} For a filter expression that does not compile for the link type.
   * @throws {CaptureSetupError} For an unknown or down interface, or missing privileges.
   */
  static open(options: CaptureOptions = {}): LiveCapture {
    validate(options);
    const { filter: given, ...socketOptions } = options;
    const socket = PacketSocket.open(socketOptions);
    const c = libc();
    let epfd = -1;
    try {
      const filter = typeof given === "string" ? compileFilter(given, socket.linkType) : given;
      if (filter !== undefined) socket.setFilter(filter);
      epfd = check(c.epoll_create1(EPOLL_CLOEXEC), "Cannot create epoll instance", "epoll_create1");
      const event = new Uint8Array(EPOLL_EVENT.size);
      const view = new DataView(event.buffer);
      view.setUint32(EPOLL_EVENT.events, (EPOLLIN | EPOLLET) >>> 0, true);
      view.setInt32(EPOLL_EVENT.data, socket.fd, true);
      check(c.epoll_ctl(epfd, EPOLL_CTL_ADD, socket.fd, event), "Cannot watch socket", "epoll_ctl");
      return new LiveCapture(socket, epfd, options, filter);
    } catch (error) {
      if (epfd >= 0) c.close(epfd);
      socket.close();
      throw error;
    }
  }

  /**
   * Batches of packets as the socket delivered them, with copies of their bytes, each batch
   * everything the socket held at one wake-up (up to 4096). Ends at the count, on close() or
   * on abort.
   */
  async *rawBatches(): AsyncGenerator<RawPacket[]> {
    if (this.#running) throw new Error("Cannot iterate a live capture twice at once");
    this.#running = true;
    const c = libc();
    const socket = this.#socket;
    let batch: RawPacket[] = [];
    const take = (
      data: Uint8Array,
      length: number,
      seconds: number,
      nanos: number,
      ifindex: number,
    ) => batch.push({ data: data.slice(), length, seconds, nanos, interface: ifindex });
    try {
      while (!this.#closing && this.#captured < this.#count) {
        const room = Math.min(MAX_BATCH, this.#count - this.#captured);
        const { empty } = socket.drain(take, room);
        if (batch.length > 0) {
          this.#captured += batch.length;
          yield batch;
          batch = [];
          continue;
        }
        if (!empty) continue;
        // Drained to EAGAIN: the next packet raises a new edge. Poll once cheaply, then wait
        // off the JS thread.
        if (c.epoll_wait(this.#epfd, this.#events, 1, 0) > 0) continue;
        const ready = await c.epoll_wait_blocking(this.#epfd, this.#events, 1, IDLE_WAIT_MS);
        if (ready < 0 && !this.#closing) {
          // The waiting thread's errno is out of reach; EINTR is the one expected failure.
          continue;
        }
      }
    } finally {
      this.#running = false;
      this.#release();
    }
  }

  /**
   * Batches of decoded packets, each with a copy of its bytes in `data`.
   *
   * @example Capture ten packets on lo (root, --allow-ffi)
   * ```ts ignore
   * import { capture } from "./capture.ts";
   * await using live = capture({ interface: "lo", count: 10 });
   * for await (const batch of live.batches()) console.log(batch.length);
   * ```
   */
  async *batches(): AsyncGenerator<CapturedPacket[]> {
    for await (const raw of this.rawBatches()) {
      const batch: CapturedPacket[] = new Array(raw.length);
      for (let i = 0; i < raw.length; i++) batch[i] = this.decode(raw[i]!);
      yield batch;
    }
  }

  /** Decodes one raw packet as the next frame of this capture. */
  decode(raw: RawPacket): CapturedPacket {
    const data = raw.data;
    const frame: Frame = {
      number: ++this.#number,
      time: formatTime(raw.seconds, raw.nanos, NANO_DIGITS),
      length: raw.length,
      captured: data.length,
      linkType: this.linkType,
    };
    if (raw.interface !== 0) frame.interface = raw.interface;
    const packet = decodeAt(
      new DataView(data.buffer, data.byteOffset, data.byteLength),
      0,
      frame,
    ) as CapturedPacket;
    packet.data = data;
    return packet;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CapturedPacket> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * Counters: packets handed out, and the kernel's received and dropped counts.
   *
   * @example Print the counters after a capture
   * ```ts ignore
   * import { capture } from "./capture.ts";
   * const live = capture({ interface: "lo", count: 1 });
   * for await (const _ of live);
   * console.log(live.stats());
   * ```
   */
  stats(): CaptureStats {
    return { captured: this.#captured, ...this.#socket.stats() };
  }

  /** Ends the capture; a running iteration finishes within one idle wait. Safe to call twice. */
  close(): void {
    this.#closing = true;
    if (!this.#running) this.#release();
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    if (libc().close(this.#epfd) < 0) {
      throw new ErrnoError("Cannot close epoll instance", "close", lastErrno());
    }
  }

  /** Ends the capture. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Starts a live capture: packets straight from the kernel, decoded as `readCapture` decodes a
 * file. Needs root (or CAP_NET_RAW) and `--allow-ffi`.
 *
 * @example Capture ten packets on lo
 * ```ts ignore
 * import { capture } from "./capture.ts";
 * for await (const pkt of capture({ interface: "lo", count: 10 })) {
 *   console.log(pkt.frame.number, pkt.layers.map((layer) => layer.type).join("/"));
 * }
 * ```
 */
export function capture(options: CaptureOptions = {}): LiveCapture {
  return LiveCapture.open(options);
}
