/**
 * A capture worker: opens its own packet socket and receive ring in a PACKET_FANOUT group,
 * decodes and prints what its ring holds, and sends the text (and pcap records) back with the
 * frame numbers it took from a counter the workers share. Started by {@linkcode CapturePool};
 * not for import.
 *
 * @module
 */

import {
  capture,
  type CaptureOptions,
  type CaptureStats,
  type LiveCapture,
} from "../ffi/capture.ts";
import type { RingGeometry } from "../ffi/packet_ring.ts";
import { makePrinter, type PrintOptions } from "../format/printer.ts";
import { PCAP_RECORD_HEADER_LENGTH, writePcapRecordHeader } from "../parsers/pcap_write.ts";
import { ByteCollector, OutputWriter } from "./output.ts";

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

/** A message to a capture worker. */
export type CaptureWorkerRequest = { setup: CaptureWorkerSetup } | { start: true } | {
  stop: true;
};
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

interface WorkerScope {
  onmessage: ((event: MessageEvent<CaptureWorkerRequest>) => void) | null;
  postMessage(message: CaptureWorkerResponse, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let live: LiveCapture | undefined;
let setup: CaptureWorkerSetup | undefined;

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/** Reads, prints and sends back until the counters say stop or the numbers run out. */
async function run(live: LiveCapture, setup: CaptureWorkerSetup): Promise<void> {
  const counters = new CaptureCounters(setup.counters);
  const print = setup.print === undefined ? undefined : makePrinter(setup.print);
  const collector = new ByteCollector();
  const out = new OutputWriter(collector, { bufferSize: 256 * 1024 });
  const records = new ByteCollector();
  const header = new Uint8Array(PCAP_RECORD_HEADER_LENGTH);
  const headerView = new DataView(header.buffer);
  for await (const batch of live.frames()) {
    if (counters.stopped) live.close();
    const { first, taken } = counters.take(batch.count, setup.count);
    if (taken === 0) {
      live.close();
      continue;
    }
    for (let i = 0; i < taken; i++) {
      if (print !== undefined) {
        out.writeLine(print(live.decodeFrame(batch, i, first + i), () => batch.data(i)));
      }
      if (setup.write) {
        const captured = batch.captured[i]!;
        const start = batch.offsets[i]!;
        writePcapRecordHeader(
          headerView,
          0,
          batch.seconds[i]!,
          batch.nanos[i]!,
          captured,
          batch.lengths[i]!,
        );
        records.writeSync(header);
        records.writeSync(batch.bytes.subarray(start, start + captured));
      }
    }
    out.flush();
    const message: WorkerBatch = { first, count: taken };
    const transfer: ArrayBuffer[] = [];
    if (print !== undefined) {
      message.text = collector.take();
      transfer.push(message.text.buffer as ArrayBuffer);
    }
    if (setup.write) {
      message.records = records.take();
      transfer.push(message.records.buffer as ArrayBuffer);
    }
    scope.postMessage({ batch: message }, transfer);
    if (taken < batch.count) live.close();
  }
}

scope.onmessage = async (event) => {
  const request = event.data;
  try {
    if ("stop" in request) {
      live?.close(); // an idle worker: a busy one sees the counters' stop flag
      return;
    }
    if ("setup" in request) {
      setup = request.setup;
      live = capture(setup.capture);
      const opened: OpenedCapture = { linkType: live.linkType, snapLength: live.snapLength };
      if (live.ring !== undefined) opened.ring = live.ring;
      if (live.ringError !== undefined) opened.ringError = live.ringError;
      scope.postMessage({ opened });
      return;
    }
    await run(live!, setup!);
    scope.postMessage({ done: live!.stats() });
  } catch (error) {
    live?.close();
    scope.postMessage({ error: describe(error) });
  }
};
