/**
 * A batch of captured frames described in place: where each frame starts in one buffer, how long
 * it is, and its timestamp and interface. The receive ring hands out batches that point into its
 * own memory (zero copy); the recv path copies packets into a buffer of the batch's own.
 *
 * @module
 */

const INITIAL_CAPACITY = 1024;

/**
 * Frames of one read from a capture socket, as parallel arrays. A batch from the receive ring
 * points into the ring itself: its bytes are valid only until the next read from the same
 * socket, or its close, after which the ring's memory is detached and reads see no bytes. Copy
 * with {@linkcode FrameBatch.copy} what must live longer.
 *
 * @example Walk a batch filled by hand
 * ```ts
 * import { FrameBatch } from "./frame_batch.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = new FrameBatch();
 * const bytes = new Uint8Array([1, 2, 3, 4, 5, 6]);
 * batch.reset(bytes);
 * batch.push(2, 3, 60, 1700000000, 5, 1);
 * assert.deepEqual([...batch.data(0)], [3, 4, 5]);
 * assert.equal(batch.lengths[0], 60);
 * ```
 */
export class FrameBatch {
  /** Frames in the batch. */
  count = 0;
  /** The buffer the frames are in. */
  bytes: Uint8Array = new Uint8Array(0);
  /** A view over all of `bytes`, for decoders. */
  view: DataView = new DataView(this.bytes.buffer);
  /** Where each frame starts in `bytes`. */
  offsets: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  /** Bytes captured of each frame. */
  captured: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  /** Each frame's length on the wire. */
  lengths: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  /** Timestamps: whole seconds since the epoch. */
  seconds: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** Timestamps: nanoseconds past the second. */
  nanos: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  /** Kernel index of the interface each frame came from, 0 where unknown. */
  interfaces: Int32Array = new Int32Array(INITIAL_CAPACITY);

  /** Empties the batch and points it at `bytes` (with `view` over them, when one exists). */
  reset(bytes: Uint8Array, view?: DataView): void {
    this.count = 0;
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.view = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  }

  /** Adds a frame. */
  push(
    offset: number,
    captured: number,
    length: number,
    seconds: number,
    nanos: number,
    ifindex: number,
  ): void {
    const i = this.count;
    if (i === this.offsets.length) this.#grow();
    this.offsets[i] = offset;
    this.captured[i] = captured;
    this.lengths[i] = length;
    this.seconds[i] = seconds;
    this.nanos[i] = nanos;
    this.interfaces[i] = ifindex;
    this.count = i + 1;
  }

  /** The captured bytes of frame `i`, as a view into the batch's buffer (not a copy). */
  data(i: number): Uint8Array {
    const start = this.offsets[i]!;
    return this.bytes.subarray(start, start + this.captured[i]!);
  }

  /** A copy of frame `i`'s captured bytes, the caller's to keep. */
  copy(i: number): Uint8Array {
    const start = this.offsets[i]!;
    return this.bytes.slice(start, start + this.captured[i]!);
  }

  #grow(): void {
    const size = this.offsets.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Int32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.offsets = grow(this.offsets, new Uint32Array(size));
    this.captured = grow(this.captured, new Uint32Array(size));
    this.lengths = grow(this.lengths, new Uint32Array(size));
    this.seconds = grow(this.seconds, new Float64Array(size));
    this.nanos = grow(this.nanos, new Uint32Array(size));
    this.interfaces = grow(this.interfaces, new Int32Array(size));
  }
}
