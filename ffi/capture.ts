/**
 * Live capture of decoded packets: a {@linkcode FrameCapture} whose filter may be an expression
 * in tcpdump's language, and whose frames are decoded as `readCapture` decodes a file.
 *
 * @module
 */

import { formatTime } from "../parsers/capture_format.ts";
import { decodeAt, type DecodeOptions } from "../parsers/decode.ts";
import type { CapturedPacket, Frame, PacketRecord } from "../parsers/types.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import { compileFilter } from "../filter/compile.ts";
import { parseFilter } from "../filter/parser.ts";
import type { FrameBatch } from "./frame_batch.ts";
import {
  FrameCapture,
  type FrameCaptureOptions,
  NANO_DIGITS,
  type RawPacket,
} from "./frame_capture.ts";

export type { CaptureStats, RawPacket } from "./frame_capture.ts";

/** Options of {@linkcode capture}. */
export interface CaptureOptions extends Omit<FrameCaptureOptions, "filter"> {
  /**
   * Keep only the packets this filter accepts: an expression in tcpdump's language, compiled for
   * the socket's link type once it is open; a program compiled for that link type; or what
   * compiles one. It runs in the kernel, so what it rejects never reaches user space.
   */
  filter?: string | BpfProgram | ((linkType: number) => BpfProgram);
}

/** `options` for a {@linkcode FrameCapture}, with a filter expression's syntax checked. */
function frameOptions(options: CaptureOptions): FrameCaptureOptions {
  const { filter, ...rest } = options;
  if (typeof filter !== "string") return { ...rest, ...(filter === undefined ? {} : { filter }) };
  // A syntax error is reported before anything is opened; the rest needs the link type.
  parseFilter(filter);
  return { ...rest, filter: (linkType: number) => compileFilter(filter, linkType) };
}

/**
 * A running live capture. Iterate it for decoded packets, or take batches as
 * {@linkcode FrameCapture} hands them out; `close()` (safe twice) or `await using` ends it and
 * closes the socket and the epoll instance.
 */
export class LiveCapture extends FrameCapture implements AsyncIterable<CapturedPacket> {
  #number = 0;

  /**
   * Opens the socket and the epoll instance. Prefer {@linkcode capture}.
   *
   * @throws {RangeError} For invalid options.
   * @throws {FilterError} For a filter expression that does not compile for the link type.
   * @throws {CaptureSetupError} For an unknown or down interface, or missing privileges.
   */
  protected constructor(options: CaptureOptions) {
    super(frameOptions(options));
  }

  /** Starts a live capture of decoded packets. Prefer {@linkcode capture}. */
  static override open(options: CaptureOptions = {}): LiveCapture {
    return new LiveCapture(options);
  }

  /**
   * Decodes frame `i` of a batch from {@linkcode FrameCapture.frames} in place, as the next
   * frame of this capture (or as frame `number`). The record holds no reference to the batch's
   * bytes. `options` may leave checksums unverified.
   */
  decodeFrame(
    batch: FrameBatch,
    i: number,
    number: number = ++this.#number,
    options?: DecodeOptions,
  ): PacketRecord {
    const frame = this.#frame(
      number,
      batch.seconds[i]!,
      batch.nanos[i]!,
      batch.lengths[i]!,
      batch.captured[i]!,
      batch.interfaces[i]!,
    );
    return decodeAt(batch.view, batch.offsets[i]!, frame, options);
  }

  /** The frame facts of a packet of this capture. */
  #frame(
    number: number,
    seconds: number,
    nanos: number,
    length: number,
    captured: number,
    ifindex: number,
  ): Frame {
    const frame: Frame = {
      number,
      time: formatTime(seconds, nanos, NANO_DIGITS),
      length,
      captured,
      linkType: this.linkType,
    };
    if (ifindex !== 0) frame.interface = ifindex;
    return frame;
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
    for await (const frames of this.frames()) {
      const batch: CapturedPacket[] = new Array(frames.count);
      for (let i = 0; i < frames.count; i++) {
        const packet = this.decodeFrame(frames, i) as CapturedPacket;
        packet.data = frames.copy(i);
        batch[i] = packet;
      }
      yield batch;
    }
  }

  /** Decodes one raw packet as the next frame of this capture. */
  decode(raw: RawPacket): CapturedPacket {
    const data = raw.data;
    const frame = this.#frame(
      ++this.#number,
      raw.seconds,
      raw.nanos,
      raw.length,
      data.length,
      raw.interface,
    );
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const packet = decodeAt(view, 0, frame) as CapturedPacket;
    packet.data = data;
    return packet;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CapturedPacket> {
    for await (const batch of this.batches()) yield* batch;
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
