/**
 * Capture on several cores: N workers, each with its own packet socket and receive ring in one
 * PACKET_FANOUT group (the kernel shares packets among them by flow), each decoding and
 * printing its own packets. Frame numbers come from a counter the workers share, and the main
 * thread puts the batches back in frame-number order.
 *
 * @module
 */

import type { CaptureOptions, CaptureStats } from "../ffi/capture.ts";
import type { PrintOptions } from "../format/printer.ts";
import {
  CaptureCounters,
  type CaptureWorkerRequest,
  type CaptureWorkerResponse,
  type OpenedCapture,
  type SpareBuffers,
  type WorkerBatch,
} from "./capture_messages.ts";

/** Largest frame count a pool hands out when no count is given. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** How to start a {@linkcode CapturePool}. */
export interface CapturePoolOptions {
  /** Workers, each with its own socket. */
  workers: number;
  /** Socket options for every worker (the fanout group is chosen here). */
  capture: Omit<CaptureOptions, "signal" | "count" | "fanout">;
  /** Stop after this many packets, all workers together. */
  count?: number;
  /** How to print packets, or undefined. */
  print?: PrintOptions;
  /** Send packets back as pcap records too. */
  write: boolean;
}

/** Hands the buffers of a written batch back to `worker`, so that they carry a later batch. */
function handBack(worker: Worker, batch: WorkerBatch): void {
  const spare: SpareBuffers = {};
  const transfer: ArrayBuffer[] = [];
  for (const kind of ["text", "records"] as const) {
    const bytes = batch[kind];
    if (bytes === undefined) continue;
    spare[kind] = bytes.buffer as ArrayBuffer;
    transfer.push(spare[kind]);
  }
  if (transfer.length > 0) worker.postMessage({ spare } satisfies CaptureWorkerRequest, transfer);
}

/**
 * Capture workers in one fanout group. {@linkcode CapturePool.open} resolves once every worker
 * has its socket open (so privileges can be dropped after it); {@linkcode CapturePool.run}
 * starts them and hands their batches over in frame-number order.
 */
export class CapturePool {
  /** What the sockets look like (the first worker's answer; all are alike). */
  readonly opened: OpenedCapture;
  readonly #workers: Worker[];
  readonly #counters: CaptureCounters;
  readonly #count: number;
  #stopping = false;

  private constructor(
    workers: Worker[],
    counters: CaptureCounters,
    opened: OpenedCapture,
    count: number,
  ) {
    this.#workers = workers;
    this.#counters = counters;
    this.opened = opened;
    this.#count = count;
  }

  /**
   * Starts the workers and waits until each has opened its socket.
   *
   * @throws {Error} With the first worker's one-line reason when a socket cannot be opened.
   *
   * @example Two workers on lo (root, --allow-ffi)
   * ```ts ignore
   * import { CapturePool } from "./capture_pool.ts";
   * const pool = await CapturePool.open({ workers: 2, capture: { interface: "lo" }, write: false, count: 10 });
   * await pool.run(() => {});
   * ```
   */
  static async open(options: CapturePoolOptions): Promise<CapturePool> {
    const buffer = new SharedArrayBuffer(CaptureCounters.BYTES);
    const counters = new CaptureCounters(buffer);
    // Groups are per network namespace; the process id keeps two snouts apart.
    const fanout = Deno.pid & 0xffff;
    const count = options.count ?? UNLIMITED;
    const workers: Worker[] = [];
    try {
      const answers: Promise<OpenedCapture>[] = [];
      for (let i = 0; i < options.workers; i++) {
        const worker = new Worker(new URL("./capture_worker.ts", import.meta.url), {
          type: "module",
        });
        workers.push(worker);
        answers.push(
          new Promise((resolve, reject) => {
            worker.onmessage = (event: MessageEvent<CaptureWorkerResponse>) => {
              const message = event.data;
              if ("opened" in message) resolve(message.opened);
              else if ("error" in message) reject(new Error(message.error));
            };
            worker.onerror = (event) => {
              event.preventDefault();
              reject(new Error(`Capture worker failed: ${event.message}`));
            };
          }),
        );
        const setup = {
          capture: { ...options.capture, fanout },
          write: options.write,
          counters: buffer,
          count,
        };
        worker.postMessage(
          {
            setup: options.print === undefined ? setup : { ...setup, print: options.print },
          } satisfies CaptureWorkerRequest,
        );
      }
      const opened = await Promise.all(answers);
      return new CapturePool(workers, counters, opened[0]!, count);
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
  }

  /**
   * Starts capturing and calls `onBatch` with every batch in frame-number order, awaiting it
   * before the next. Once it has, the batch's buffers go back to the worker that filled them,
   * for a later batch: copy what must outlive the call. Resolves with the counters of all
   * sockets together once every worker has stopped: at the count, or after
   * {@linkcode CapturePool.stop}.
   */
  run(onBatch: (batch: WorkerBatch) => Promise<void> | void): Promise<CaptureStats> {
    const total: CaptureStats = { captured: 0, received: 0, dropped: 0 };
    /** Batches that came early, by first frame number, with the worker that sent each. */
    const waiting = new Map<number, { batch: WorkerBatch; worker: Worker }>();
    let next = 1;
    let running = this.#workers.length;
    let chain = Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.stop();
        for (const worker of this.#workers) worker.terminate();
        reject(error);
      };
      const deliver = async () => {
        for (let early = waiting.get(next); early !== undefined; early = waiting.get(next)) {
          waiting.delete(next);
          const { batch, worker } = early;
          next += batch.count;
          await onBatch(batch);
          handBack(worker, batch);
        }
        if (next > this.#count) this.stop();
      };
      const finish = () => {
        for (const worker of this.#workers) worker.terminate();
        total.captured = next - 1; // what was handed over, not what the workers read past it
        resolve(total);
      };
      for (const worker of this.#workers) {
        worker.onmessage = (event: MessageEvent<CaptureWorkerResponse>) => {
          const message = event.data;
          if ("batch" in message) {
            waiting.set(message.batch.first, { batch: message.batch, worker });
            chain = chain.then(deliver).catch(fail);
          } else if ("done" in message) {
            total.received += message.done.received;
            total.dropped += message.done.dropped;
            if (--running === 0) chain = chain.then(finish, fail);
          } else if ("error" in message) {
            fail(new Error(message.error));
          }
        };
        worker.onerror = (event) => {
          event.preventDefault();
          fail(new Error(`Capture worker failed: ${event.message}`));
        };
        worker.postMessage({ start: true } satisfies CaptureWorkerRequest);
      }
    });
  }

  /** Asks every worker to stop; they hand over what their rings hold first. Safe twice. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#counters.stop();
    for (const worker of this.#workers) {
      worker.postMessage({ stop: true } satisfies CaptureWorkerRequest);
    }
  }

  /** Ends the workers at once. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
