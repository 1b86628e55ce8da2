/**
 * A pool of print workers: batches go out round robin and come back as encoded text, so that
 * decoding and formatting run on every core while the caller keeps the output in order.
 *
 * @module
 */

import type { PrintOptions } from "../format/printer.ts";
import type { BatchBuilder, PrintBatch } from "./print_batch.ts";
import type { PrintRequest, PrintResponse } from "./print_worker.ts";

/** Printed batches kept for their buffers, at most: about as many as are in flight. */
const MAX_USED_BATCHES = 8;

interface Waiting {
  resolve: (output: Uint8Array) => void;
  reject: (error: Error) => void;
  /** The worker the batch went to, and the records it holds. */
  worker: number;
  records: number;
}

/**
 * Print workers. Each batch goes to the worker with the fewest records still to print (batches
 * differ in size: a record split across two reads comes as a batch of its own). `close()` ends
 * the workers and is safe to call twice.
 */
export class PrintPool {
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #waiting = new Map<number, Waiting>();
  /** Which worker each answer's buffer came from, to hand it back there. */
  readonly #owners = new WeakMap<ArrayBufferLike, number>();
  /** Printed batches the workers gave back, whose buffers can carry later batches. */
  readonly #usedBatches: PrintBatch[] = [];
  #id = 0;

  /**
   * Starts `size` workers printing with `options`.
   *
   * @example Print an empty batch in a worker
   * ```ts ignore
   * import { PrintPool } from "./print_pool.ts";
   * import { BatchBuilder } from "./print_batch.ts";
   * const pool = new PrintPool(1, { mode: "json", hex: 0, color: false });
   * console.log((await pool.print(new BatchBuilder())).length);
   * pool.close();
   * ```
   */
  constructor(size: number, options: PrintOptions) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./print_worker.ts", import.meta.url), { type: "module" });
      worker.onmessage = (event: MessageEvent<PrintResponse>) => this.#answer(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#failAll(new Error(`Print worker failed: ${event.message}`));
      };
      worker.postMessage({ options } satisfies PrintRequest);
      this.#workers.push(worker);
      this.#load.push(0);
    }
  }

  /**
   * Takes the batch `builder` has gathered, in the buffers of a batch printed earlier where one
   * has come back, and prints it on the least loaded worker; resolves to its text, UTF-8
   * encoded. Hand the text to {@linkcode PrintPool.recycle} once written, so its memory serves a
   * later batch.
   */
  print(builder: BatchBuilder): Promise<Uint8Array> {
    const batch = builder.take(this.#usedBatches.pop());
    const id = this.#id++;
    let chosen = 0;
    for (let i = 1; i < this.#load.length; i++) {
      if (this.#load[i]! < this.#load[chosen]!) chosen = i;
    }
    this.#load[chosen]! += batch.count;
    const worker = this.#workers[chosen]!;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, worker: chosen, records: batch.count });
      worker.postMessage({ id, batch } satisfies PrintRequest, [
        batch.bytes.buffer as ArrayBuffer,
        batch.meta.buffer as ArrayBuffer,
      ]);
    });
  }

  #answer(response: PrintResponse): void {
    const waiting = this.#waiting.get(response.id);
    if (waiting === undefined) return;
    this.#waiting.delete(response.id);
    this.#load[waiting.worker]! -= waiting.records;
    if ("error" in response) waiting.reject(new Error(response.error));
    else {
      this.#owners.set(response.output.buffer, waiting.worker);
      if (this.#usedBatches.length < MAX_USED_BATCHES) this.#usedBatches.push(response.used);
      waiting.resolve(response.output);
    }
  }

  /** Hands the buffer of a printed batch's text back to its worker, for reuse. */
  recycle(output: Uint8Array): void {
    const buffer = output.buffer as ArrayBuffer;
    const worker = this.#workers[this.#owners.get(buffer) ?? -1];
    if (worker === undefined) return;
    this.#owners.delete(buffer);
    worker.postMessage({ spare: buffer } satisfies PrintRequest, [buffer]);
  }

  #failAll(error: Error): void {
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
  }

  /** Ends the workers. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers.length = 0;
    this.#failAll(new Error("Print pool closed"));
  }
}
