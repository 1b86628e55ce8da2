/**
 * The loop behind `cli.ts replay`: a capture's frames, as captured, out to an emitter (a sender),
 * at the capture's own pace (as tcpreplay does by default) or at a fixed rate.
 *
 * @module
 */

import { Pacer } from "./pacer.ts";
import { readRecords } from "./read_records.ts";
import type { PacketEmitter } from "./send_records.ts";

/** How to replay a capture. */
export interface ReplayOptions {
  /** Frames to send: the first N. Default: all. */
  count?: number;
  /** Frames per second. Default: the gaps between the capture's own timestamps. */
  rate?: number;
  /** Stops (between frames) when aborted. */
  signal?: AbortSignal;
  /** Called with a warning about the file, such as one cut off, once it has been read. */
  onWarning?: (message: string) => void;
}

/** What a replay did. */
export interface ReplayResult {
  /** Frames sent. */
  packets: number;
  /** Their bytes. */
  bytes: number;
  /** Frames the capture cut short (snap length), sent as captured. */
  cut: number;
}

const MS_PER_SECOND = 1000;
const NANOS_PER_MS = 1_000_000;

/**
 * Reads the capture at `source` (a path, or a stream for `-`) and hands each frame to `emit` with
 * its link type and 1-based frame number, paced by the capture's timestamps or at `rate` frames a
 * second. A frame must be sent before the emitter returns: its bytes are reused afterwards.
 *
 * @throws {Error} For an unreadable capture, or what `emit` throws ("... (frame N)").
 *
 * @example Count the frames of a capture, as fast as it reads
 * ```ts ignore
 * import { replayCapture } from "./replay.ts";
 * const result = await replayCapture("tests/testdata/arp_ping.pcap", { rate: 1e6 }, () => {});
 * console.log(result.packets); // 8
 * ```
 */
export async function replayCapture(
  source: string | ReadableStream<Uint8Array>,
  options: ReplayOptions,
  emit: PacketEmitter,
): Promise<ReplayResult> {
  const result: ReplayResult = { packets: 0, bytes: 0, cut: 0 };
  const count = options.count ?? Infinity;
  const pacer = new Pacer();
  const signal = options.signal;
  let firstMs: number | undefined;
  const readOptions = options.onWarning === undefined ? {} : { onWarning: options.onWarning };
  for await (const record of readRecords(source, readOptions)) {
    if (result.packets >= count || signal?.aborted) break;
    const atMs = record.seconds * MS_PER_SECOND + record.nanos / NANOS_PER_MS;
    firstMs ??= atMs;
    const due = options.rate === undefined
      ? Math.max(0, atMs - firstMs)
      : Pacer.rateDue(result.packets, options.rate);
    try {
      await pacer.until(due, signal);
    } catch (error) {
      if (signal?.aborted) break;
      throw error;
    }
    const number = result.packets + 1;
    try {
      emit(record.data, record.linkType, number);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message} (frame ${number})`, { cause: error });
    }
    result.packets++;
    result.bytes += record.data.length;
    if (record.data.length < record.length) result.cut++;
  }
  return result;
}
