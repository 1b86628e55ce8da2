/**
 * What the capture pool and its workers say to each other, and the counters they share.
 *
 * @module
 */

import type { CaptureOptions, CaptureStats } from "../ffi/capture.ts";
import type { RingGeometry } from "../ffi/packet_ring.ts";
import type { PrintOptions } from "../format/printer.ts";

/** What a capture worker is to do. Plain data, sent once. */
export interface CaptureWorkerSetup {
  /** The socket's options; `fanout` names the group every worker joins. */
  capture: Omit<CaptureOptions, "signal" | "count">;
  /** How to print each packet, or undefined to print nothing. */
  print?: PrintOptions;
  /** Send each packet back as a pcap record (nanosecond, little-endian) too. */
  write: boolean;
  /** The shared counters: see {@linkcode CaptureCounters}. */
  counters: SharedArrayBuffer;
  /** The most frame numbers to hand out, all workers together. */
  count: number;
}

/** What the socket looks like once open. */
export interface OpenedCapture {
  linkType: number;
  snapLength: number;
  ring?: RingGeometry;
  ringError?: string;
}

/** One batch of a worker's output, numbered `first` to `first + count - 1`. */
export interface WorkerBatch {
  first: number;
  count: number;
  /** The printed text, UTF-8, one line per packet (when printing). */
  text?: Uint8Array;
  /** pcap records (when writing). */
  records?: Uint8Array;
}

/** Buffers of a batch the main thread has written, handed back to the worker that sent them. */
export interface SpareBuffers {
  text?: ArrayBuffer;
  records?: ArrayBuffer;
}

/** A message to a capture worker. */
export type CaptureWorkerRequest =
  | { setup: CaptureWorkerSetup }
  | { start: true }
  | { stop: true }
  | { spare: SpareBuffers };
/** A capture worker's messages. */
export type CaptureWorkerResponse =
  | { opened: OpenedCapture }
  | { batch: WorkerBatch }
  | { done: CaptureStats }
  | { error: string };

/**
 * The counters the workers share, in a SharedArrayBuffer: the last frame number handed out,
 * and a stop flag the main thread raises.
 */
export class CaptureCounters {
  static readonly BYTES = 16;
  readonly #numbers: BigInt64Array;
  readonly #flags: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#numbers = new BigInt64Array(buffer, 0, 1);
    this.#flags = new Int32Array(buffer, 8, 1);
  }

  /**
   * Takes up to `wanted` consecutive frame numbers, fewer when `limit` would be passed.
   * Returns the first, with `taken` set; 0 taken means the limit is reached.
   */
  take(wanted: number, limit: number): { first: number; taken: number } {
    for (;;) {
      const last = Atomics.load(this.#numbers, 0);
      const taken = Math.max(0, Math.min(wanted, limit - Number(last)));
      if (taken === 0) return { first: Number(last) + 1, taken };
      if (Atomics.compareExchange(this.#numbers, 0, last, last + BigInt(taken)) === last) {
        return { first: Number(last) + 1, taken };
      }
    }
  }

  /** Asks every worker to stop. */
  stop(): void {
    Atomics.store(this.#flags, 0, 1);
  }

  /** Whether a stop was asked for. */
  get stopped(): boolean {
    return Atomics.load(this.#flags, 0) !== 0;
  }
}
