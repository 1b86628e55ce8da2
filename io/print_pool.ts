/**
 * A pool of print workers: batches go out round robin and come back as encoded text, so that
 * decoding and formatting run on every core while the caller keeps the output in order.
 *
 * @module
 */

import type { PrintOptions } from "../format/printer.ts";
import type { PrintBatch } from "./print_batch.ts";
import type { PrintRequest, PrintResponse } from "./print_worker.ts";

interface Waiting {
  resolve: (output: Uint8Array) => void;
  reject: (error: Error) => void;
}

/** Print workers. `close()` ends them and is safe to call twice. */
export class PrintPool {
  readonly #workers: Worker[] = [];
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  #id = 0;

  /**
   * Starts `size` workers printing with `options`.
   *
   * @example Print an empty batch in a worker
   * ```ts ignore
   * import { PrintPool } from "./print_pool.ts";
   * import { BatchBuilder } from "./print_batch.ts";
   * const pool = new PrintPool(1, { mode: "json", hex: 0, color: false });
   * console.log((await pool.print(new BatchBuilder().take())).length);
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
    }
  }

  /** Prints a batch on the next worker; resolves to its text, UTF-8 encoded. */
  print(batch: PrintBatch): Promise<Uint8Array> {
    const id = this.#id++;
    const worker = this.#workers[this.#next]!;
    this.#next = (this.#next + 1) % this.#workers.length;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
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
    if ("error" in response) waiting.reject(new Error(response.error));
    else waiting.resolve(response.output);
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
