/**
 * Pacing sends on a schedule without busy-waiting: each packet has a due time measured from the
 * first one, and the pacer sleeps (a timer, not a spin) until it. A late packet is sent at once
 * and the schedule is kept, so the average rate holds even where timers are coarser than the gap
 * between packets (at thousands of packets a second, several go out per wake-up).
 *
 * @module
 */

/** Milliseconds in a second. */
const MS_PER_SECOND = 1000;
/** Sleeps shorter than this are not worth a timer: the packet goes out a little early. */
const MIN_SLEEP_MS = 1;

/**
 * Waits until due times measured from its first wait.
 *
 * @example Ten packets a second
 * ```ts
 * import { Pacer } from "./pacer.ts";
 * import assert from "node:assert/strict";
 * const pacer = new Pacer();
 * const start = performance.now();
 * for (let i = 0; i < 3; i++) await pacer.until(Pacer.rateDue(i, 10));
 * assert.ok(performance.now() - start >= 190);
 * ```
 */
export class Pacer {
  #start: number | undefined;
  readonly #now: () => number;

  /** @param now The clock in milliseconds (default `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The due time, in milliseconds after the first, of packet `index` at `rate` a second. */
  static rateDue(index: number, rate: number): number {
    return index * MS_PER_SECOND / rate;
  }

  /**
   * Resolves once `dueMs` milliseconds have passed since the first call (the first call starts
   * the clock), or at once if they have; rejects with the signal's reason if it aborts first.
   */
  until(dueMs: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.#now();
    this.#start ??= now;
    const wait = this.#start + dueMs - now;
    if (wait < MIN_SLEEP_MS) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, wait);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
