/**
 * The TPACKET_V3 receive ring of a packet socket: blocks of frames that the kernel fills in
 * memory shared with this process and hands over whole, read in place and handed back once
 * processed. One system call per wake-up instead of one per packet.
 *
 * @module
 */

import {
  IOVEC,
  MAP_SHARED,
  PACKET_OUTGOING,
  PACKET_RESERVE,
  PACKET_RX_RING,
  PACKET_VERSION,
  PROT_READ_WRITE,
  SOCKADDR_LL,
  SOL_PACKET,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TP_STATUS_VLAN_TPID_VALID,
  TP_STATUS_VLAN_VALID,
  TPACKET3_HDR,
  TPACKET_BLOCK_DESC,
  TPACKET_REQ3,
  TPACKET_V3,
} from "./constants.ts";
import { ErrnoError, lastErrno } from "./errno.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import { runFilterAt } from "../filter/interpret.ts";
import type { FrameBatch } from "./frame_batch.ts";
import type { PcapRecordBatch } from "./pcap_records.ts";
import { libc } from "./libc.ts";
import { setAddress } from "./pointer.ts";
import { setSocketInt } from "./sockopt.ts";

/** Ring size when none is asked for: room for about 200,000 small frames. */
export const DEFAULT_RING_BYTES = 32 * 1024 * 1024;
/** Largest block: a block is handed over whole, so smaller ones reach user space sooner. */
const MAX_BLOCK_BYTES = 1024 * 1024;
/** Fewest blocks: one being read, one being filled, one spare. */
const MIN_BLOCKS = 3;
/** Blocks are made smaller, down to a page, until a ring has at least this many. */
const PREFERRED_BLOCKS = 8;
/** The kernel's bytes in front of a frame's data: tpacket3_hdr, sockaddr_ll, alignment. */
const FRAME_OVERHEAD = 128;
/** Bytes of the block descriptor at the start of each block. */
const BLOCK_HEADER_BYTES = 48;
/** tp_frame_size: TPACKET_V3 frames vary in size; the kernel only checks this one. */
const NOMINAL_FRAME_BYTES = 2048;
/** How long a block that is not full waits before the kernel hands it over anyway. */
export const DEFAULT_BLOCK_TIMEOUT_MS = 50;
/** Length of the SLL2 header written in front of cooked frames. */
export const SLL2_LENGTH = 20;
/** Length of an 802.1Q tag put back into a frame the device took it from. */
export const VLAN_TAG_LENGTH = 4;
const ETHERNET_ADDRESSES_LENGTH = 12;
const TPID_8021Q = 0x8100;
const SLL2_ADDRESS_LENGTH = 8;
/** Length of a classic pcap record header. */
const PCAP_RECORD_LENGTH = 16;
/** A struct iovec in 32-bit words. */
const IOVEC_WORDS = IOVEC.size / 4;
/** The largest 32-bit word: a low half of an address above it carries into the high half. */
const MAX_WORD = 0xffff_ffff;
/**
 * Most frames one walk of a block hands out. A walk over a whole batch (thousands of frames) runs
 * long enough that TurboFan compiles it twice at start: once to enter optimized code in the middle
 * of the loop (OSR, about 15 ms of compiling) and once more for the next call. Short walks are
 * compiled by TurboFan once, between calls (`--trace-opt`; only the cheaper Maglev still enters
 * the first walk in its middle).
 */
const WALK_STEP = 256;

/** The shape of a ring: what PACKET_RX_RING is asked for. */
export interface RingGeometry {
  blockSize: number;
  blockCount: number;
  frameSize: number;
  frameCount: number;
}

/**
 * Chooses block size and count for a ring of about `ringBytes` that must hold frames of
 * `snapLength` bytes: blocks of at most 1 MiB (a power of two, a multiple of the page size, big
 * enough for one whole frame), eight or more of them where the ring is big enough, and never
 * fewer than three.
 *
 * @example A 32 MiB ring for full-size frames
 * ```ts
 * import { ringGeometry } from "./packet_ring.ts";
 * import assert from "node:assert/strict";
 * const ring = ringGeometry(32 * 1024 * 1024, 262144, 4096);
 * assert.equal(ring.blockSize * ring.blockCount, 32 * 1024 * 1024);
 * ```
 */
export function ringGeometry(
  ringBytes: number,
  snapLength: number,
  pageSize: number,
): RingGeometry {
  let blockSize = pageSize;
  const frameRoom = BLOCK_HEADER_BYTES + FRAME_OVERHEAD + SLL2_LENGTH + snapLength;
  while (blockSize < frameRoom) blockSize *= 2;
  while (blockSize * 2 <= MAX_BLOCK_BYTES && blockSize * 2 * PREFERRED_BLOCKS <= ringBytes) {
    blockSize *= 2;
  }
  const blockCount = Math.max(MIN_BLOCKS, Math.floor(ringBytes / blockSize));
  const frameSize = Math.min(NOMINAL_FRAME_BYTES, blockSize);
  return { blockSize, blockCount, frameSize, frameCount: (blockSize / frameSize) * blockCount };
}

/** How a ring is set up on a packet socket. */
export interface RingOptions {
  /** Total bytes of the ring (rounded to whole blocks). */
  ringBytes: number;
  /** Frames are cut to this many bytes (the link-layer header included). */
  snapLength: number;
  /** Frames carry no link-layer header: write an SLL2 header in front of each. */
  cooked: boolean;
  /** Frames are Ethernet: put back VLAN tags the device took off. */
  ethernet: boolean;
  /** Interfaces whose outgoing frames to skip (loopbacks show each packet twice). */
  loopbacks: ReadonlySet<number>;
  /** Milliseconds before a block that is not full is handed over. */
  blockTimeoutMs: number;
}

/**
 * Writes an SLL2 header at `at` in `target` from the struct sockaddr_ll at `address` in
 * `source`, as libpcap builds it for captures on all interfaces.
 *
 * @example The header of a frame from interface 2
 * ```ts
 * import { writeSll2 } from "./packet_ring.ts";
 * import assert from "node:assert/strict";
 * const address = new DataView(new ArrayBuffer(20));
 * address.setUint16(2, 0x0008, true); // sll_protocol 0x0800, big-endian in memory
 * const header = new DataView(new ArrayBuffer(20));
 * writeSll2(header, 0, address, 0, 2);
 * assert.equal(header.getUint16(0), 0x0800);
 * assert.equal(header.getUint32(4), 2);
 * ```
 */
export function writeSll2(
  target: DataView,
  at: number,
  source: DataView,
  address: number,
  ifindex: number,
): void {
  target.setUint16(at, source.getUint16(address + SOCKADDR_LL.protocol, false));
  target.setUint16(at + 2, 0);
  target.setUint32(at + 4, ifindex);
  target.setUint16(at + 8, source.getUint16(address + SOCKADDR_LL.hatype, true));
  target.setUint8(at + 10, source.getUint8(address + SOCKADDR_LL.pkttype));
  const halen = Math.min(source.getUint8(address + SOCKADDR_LL.halen), SLL2_ADDRESS_LENGTH);
  target.setUint8(at + 11, halen);
  for (let i = 0; i < SLL2_ADDRESS_LENGTH; i++) {
    target.setUint8(at + 12 + i, i < halen ? source.getUint8(address + SOCKADDR_LL.addr + i) : 0);
  }
}

/**
 * A TPACKET_V3 receive ring mapped into this process. Frames are read in place: a
 * {@linkcode FrameBatch} from {@linkcode PacketRing.read} points into the ring and stays valid
 * until the next read or `close()`, when its block goes back to the kernel.
 */
export class PacketRing {
  /** The ring's geometry. */
  readonly geometry: RingGeometry;
  readonly #pointer: Deno.PointerObject;
  readonly #length: number;
  #memory: ArrayBuffer;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  /** The ring as 32-bit words, for frame headers: the kernel aligns them to 16 bytes. */
  readonly #words: Uint32Array;
  readonly #options: RingOptions;
  /** The block to look at next. */
  #next = 0;
  /** The block handed out by the last read, or -1. */
  #held = -1;
  /** Frames of the held block not yet handed out, and where the next one starts. */
  #remaining = 0;
  #cursor = 0;
  #closed = false;
  /** A filter run on frames in user space (all of them, or those before `#filterBefore`). */
  #userFilter: BpfProgram | undefined;
  #filterBefore: { seconds: number; nanos: number } | undefined;
  /** The ring's address in two 32-bit halves, for the iovecs of the records path. */
  readonly #addressLow: number;
  readonly #addressHigh: number;

  private constructor(
    pointer: Deno.PointerObject,
    geometry: RingGeometry,
    options: RingOptions,
  ) {
    this.#pointer = pointer;
    const halves = new Uint32Array(2);
    setAddress(new DataView(halves.buffer), 0, Number(Deno.UnsafePointer.value(pointer)));
    this.#addressLow = halves[0]!;
    this.#addressHigh = halves[1]!;
    this.geometry = geometry;
    this.#length = geometry.blockSize * geometry.blockCount;
    this.#memory = Deno.UnsafePointerView.getArrayBuffer(pointer, this.#length);
    this.#bytes = new Uint8Array(this.#memory);
    this.#view = new DataView(this.#memory);
    this.#words = new Uint32Array(this.#memory);
    this.#options = options;
  }

  /**
   * Sets up a ring on packet socket `fd`, which must not be bound to a protocol yet (so that
   * nothing is queued outside the ring), and maps it.
   *
   * @throws {ErrnoError} When the kernel refuses TPACKET_V3, the ring or the mapping.
   */
  static setUp(fd: number, options: RingOptions): PacketRing {
    const c = libc();
    const geometry = ringGeometry(options.ringBytes, options.snapLength, c.getpagesize());
    setSocketInt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3, "TPACKET_V3");
    setSocketInt(
      fd,
      SOL_PACKET,
      PACKET_RESERVE,
      options.cooked ? SLL2_LENGTH : options.ethernet ? VLAN_TAG_LENGTH : 0,
      "the ring's headroom",
    );
    const request = new Uint8Array(TPACKET_REQ3.size);
    const view = new DataView(request.buffer);
    view.setUint32(TPACKET_REQ3.blockSize, geometry.blockSize, true);
    view.setUint32(TPACKET_REQ3.blockNumber, geometry.blockCount, true);
    view.setUint32(TPACKET_REQ3.frameSize, geometry.frameSize, true);
    view.setUint32(TPACKET_REQ3.frameNumber, geometry.frameCount, true);
    view.setUint32(TPACKET_REQ3.retireTimeout, options.blockTimeoutMs, true);
    if (c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, request, request.length) < 0) {
      throw new ErrnoError("Cannot set up the receive ring", "setsockopt", lastErrno());
    }
    const length = geometry.blockSize * geometry.blockCount;
    const pointer = c.mmap(null, BigInt(length), PROT_READ_WRITE, MAP_SHARED, fd, 0n);
    // MAP_FAILED is (void *)-1.
    if (pointer === null || Deno.UnsafePointer.value(pointer) === 2n ** 64n - 1n) {
      throw new ErrnoError("Cannot map the receive ring", "mmap", lastErrno());
    }
    return new PacketRing(pointer, geometry, options);
  }

  /**
   * Runs `program` over frames in user space before they are handed out: every frame, or, with
   * `before`, the frames the kernel stamped earlier than it (taken in before a kernel filter was
   * attached). Undefined removes it.
   */
  setUserFilter(
    program: BpfProgram | undefined,
    before: { seconds: number; nanos: number } | undefined,
  ): void {
    this.#userFilter = program;
    this.#filterBefore = before;
  }

  /**
   * Fills `batch` with up to `max` frames of the next block the kernel has handed over, after
   * giving back the block of the previous read. Returns how many frames it holds: 0 when no
   * block is ready.
   */
  read(batch: FrameBatch, max: number): number {
    batch.reset(this.#bytes, this.#view);
    while (this.#advance()) {
      while (batch.count < max && this.#remaining > 0) {
        this.#walk(batch, undefined, Math.min(max, batch.count + WALK_STEP));
      }
      if (batch.count > 0) return batch.count;
    }
    return 0;
  }

  /**
   * The `-w` fast path: writes a nanosecond pcap record header in front of up to `max` frames
   * of the next block (in the headroom the kernel left) and points `records` at each record in
   * place, ready for one writev. Returns how many records: 0 when no block is ready. They stay
   * valid until the next read, like a batch.
   */
  readRecords(records: PcapRecordBatch, max: number): number {
    records.count = 0;
    records.bytes = 0;
    const limit = Math.min(max, records.capacity);
    while (this.#advance()) {
      while (records.count < limit && this.#remaining > 0) {
        this.#walk(undefined, records, Math.min(limit, records.count + WALK_STEP));
      }
      if (records.count > 0) return records.count;
    }
    return 0;
  }

  /**
   * Makes sure a block with frames left is held: gives back a block whose frames are all out
   * and takes the next one the kernel has handed over. False when there is none.
   */
  #advance(): boolean {
    if (this.#closed) return false;
    const view = this.#view;
    const { blockSize, blockCount } = this.geometry;
    if (this.#held >= 0 && this.#remaining === 0) {
      view.setUint32(this.#held * blockSize + TPACKET_BLOCK_DESC.status, TP_STATUS_KERNEL, true);
      this.#held = -1;
    }
    if (this.#held >= 0) return true;
    const block = this.#next * blockSize;
    if ((view.getUint32(block + TPACKET_BLOCK_DESC.status, true) & TP_STATUS_USER) === 0) {
      return false;
    }
    this.#held = this.#next;
    this.#next = (this.#next + 1) % blockCount;
    this.#remaining = view.getUint32(block + TPACKET_BLOCK_DESC.packets, true);
    this.#cursor = block + view.getUint32(block + TPACKET_BLOCK_DESC.firstPacket, true);
    return true;
  }

  /** Whether the user-space filter applies to the frame at `header` and rejects it. */
  #filteredOut(header: number, start: number, captured: number, length: number): boolean {
    const view = this.#view;
    const before = this.#filterBefore;
    if (before !== undefined) {
      const seconds = view.getUint32(header + TPACKET3_HDR.sec, true);
      if (
        seconds > before.seconds ||
        (seconds === before.seconds &&
          view.getUint32(header + TPACKET3_HDR.nsec, true) >= before.nanos)
      ) {
        return false;
      }
    }
    return runFilterAt(this.#userFilter!, view, start, captured, length) === 0;
  }

  /**
   * Hands out frames of the held block until it or `max` runs out: into `batch`, or (the `-w`
   * fast path) as pcap records in place, into `records`. One loop with locals serves both: a
   * frame costs a few loads and stores, no calls.
   */
  #walk(batch: FrameBatch | undefined, records: PcapRecordBatch | undefined, max: number): void {
    const view = this.#view;
    const words = this.#words;
    const { snapLength, cooked, ethernet, loopbacks } = this.#options;
    const filter = this.#userFilter;
    const iov = records?.words;
    const low = this.#addressLow;
    const high = this.#addressHigh;
    let count = batch?.count ?? records!.count;
    let bytes = records?.bytes ?? 0;
    let remaining = this.#remaining;
    let cursor = this.#cursor;
    // Read here, not at the block's last frame: code V8 compiles in the middle of a first block
    // would meet the field there without feedback and be thrown away.
    const blockEnd = (this.#held + 1) * this.geometry.blockSize;
    while (count < max && remaining > 0) {
      const header = cursor;
      const at = header >>> 2;
      const next = words[at + TPACKET3_HDR.nextOffset / 4]!;
      remaining--;
      cursor = next === 0 ? blockEnd : header + next;
      const address = header + TPACKET3_HDR.address;
      if (
        view.getUint8(address + SOCKADDR_LL.pkttype) === PACKET_OUTGOING &&
        // lo shows every packet twice, outgoing and incoming: keep one, as libpcap does
        loopbacks.has(view.getInt32(address + SOCKADDR_LL.ifindex, true))
      ) {
        continue;
      }
      let start = header + view.getUint16(header + TPACKET3_HDR.mac, true);
      let captured = words[at + TPACKET3_HDR.snaplen / 4]!;
      if (captured > snapLength) captured = snapLength;
      let length = words[at + TPACKET3_HDR.len / 4]!;
      if (cooked) {
        start -= SLL2_LENGTH;
        writeSll2(view, start, view, address, view.getInt32(address + SOCKADDR_LL.ifindex, true));
        captured += SLL2_LENGTH;
        length += SLL2_LENGTH;
      } else if (
        ethernet && captured >= ETHERNET_ADDRESSES_LENGTH &&
        (words[at + TPACKET3_HDR.status / 4]! & TP_STATUS_VLAN_VALID) !== 0
      ) {
        start = this.#restoreVlanTag(header, start);
        captured += VLAN_TAG_LENGTH;
        length += VLAN_TAG_LENGTH;
      }
      if (filter !== undefined && this.#filteredOut(header, start, captured, length)) continue;
      const seconds = words[at + TPACKET3_HDR.sec / 4]!;
      const nanos = words[at + TPACKET3_HDR.nsec / 4]!;
      if (iov === undefined) {
        batch!.push(
          start,
          captured,
          length,
          seconds,
          nanos,
          view.getInt32(address + SOCKADDR_LL.ifindex, true),
        );
      } else {
        // struct pcap_sf_pkthdr, nanosecond: tv_sec, tv_nsec, caplen, len (little-endian). It
        // goes in the 16 bytes before the frame: the kernel starts frames at least
        // TPACKET3_HDRLEN (68) + PACKET_RESERVE past their header, and the frame's start
        // moves back by at most the reserve (SLL2 header, VLAN tag), so the record never
        // reaches the 48-byte tpacket3_hdr; it may cover the sockaddr_ll, read already.
        const record = start - PCAP_RECORD_LENGTH;
        view.setUint32(record, seconds, true);
        view.setUint32(record + 4, nanos, true);
        view.setUint32(record + 8, captured, true);
        view.setUint32(record + 12, length, true);
        // struct iovec as four 32-bit words: the record's address, low and high halves (the
        // low half may carry into the high one), then its length.
        const word = count * IOVEC_WORDS;
        const pointer = low + record;
        iov[word] = pointer;
        iov[word + 1] = pointer > MAX_WORD ? high + 1 : high;
        iov[word + 2] = PCAP_RECORD_LENGTH + captured;
        iov[word + 3] = 0;
        bytes += PCAP_RECORD_LENGTH + captured;
      }
      count++;
    }
    this.#remaining = remaining;
    this.#cursor = cursor;
    if (records !== undefined) {
      records.count = count;
      records.bytes = bytes;
    }
  }

  /**
   * Puts back the 802.1Q tag the device stripped (as libpcap does): the two MAC addresses move
   * four bytes earlier, into the headroom, and the tag goes after them. Returns the new start.
   */
  #restoreVlanTag(header: number, start: number): number {
    const view = this.#view;
    const status = view.getUint32(header + TPACKET3_HDR.status, true);
    const tpid = (status & TP_STATUS_VLAN_TPID_VALID) !== 0
      ? view.getUint16(header + TPACKET3_HDR.vlanTpid, true)
      : TPID_8021Q;
    const tci = view.getUint32(header + TPACKET3_HDR.vlanTci, true) & 0xffff;
    const to = start - VLAN_TAG_LENGTH;
    this.#bytes.copyWithin(to, start, start + ETHERNET_ADDRESSES_LENGTH);
    view.setUint16(to + ETHERNET_ADDRESSES_LENGTH, tpid);
    view.setUint16(to + ETHERNET_ADDRESSES_LENGTH + 2, tci);
    return to;
  }

  /**
   * Unmaps the ring. Batches that still point into it are detached first, so a late read finds
   * no bytes instead of unmapped memory. Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#memory.transfer(0);
    libc().munmap(this.#pointer, BigInt(this.#length));
  }
}
