/**
 * The receive ring's pure parts: the geometry it asks the kernel for, and the batches it hands
 * out; and the `-w` writer that writes records from it in place. The ring itself is exercised
 * live in tests/live_test.ts.
 */

import assert from "node:assert/strict";
import { FrameBatch } from "../ffi/frame_batch.ts";
import { ringGeometry } from "../ffi/packet_ring.ts";
import { IOVEC } from "../ffi/constants.ts";
import { IOV_MAX, PcapFdWriter, PcapRecordBatch } from "../ffi/pcap_records.ts";
import { bufferAddress, getAddress, setAddress } from "../ffi/pointer.ts";
import { readRecords } from "../io/read_records.ts";
import { pcapRecordHeader } from "../parsers/pcap_write.ts";

const PAGE = 4096;
const KIB = 1024;
const MIB = 1024 * KIB;

Deno.test("ringGeometry() gives whole pages, power-of-two blocks and a consistent frame count", () => {
  for (const ringBytes of [64 * KIB, 2 * MIB, 4 * MIB, 32 * MIB, 100 * MIB, 1024 * MIB]) {
    for (const snapLength of [1, 64, 1514, 65535, 262144]) {
      const g = ringGeometry(ringBytes, snapLength, PAGE);
      assert.equal(g.blockSize % PAGE, 0);
      assert.equal(g.blockSize & (g.blockSize - 1), 0, "a power of two");
      assert.ok(g.blockSize >= snapLength + 200, "a whole frame fits in a block");
      assert.ok(g.blockSize <= MIB || g.blockSize < 2 * (snapLength + 400));
      assert.ok(g.blockCount >= 3);
      assert.equal(g.frameSize % 16, 0, "TPACKET_ALIGNMENT");
      assert.equal(g.frameCount, (g.blockSize / g.frameSize) * g.blockCount);
    }
  }
});

Deno.test("ringGeometry() prefers eight or more blocks of up to 1 MiB, and follows the size asked", () => {
  assert.deepEqual(ringGeometry(32 * MIB, 262144, PAGE), {
    blockSize: MIB,
    blockCount: 32,
    frameSize: 2048,
    frameCount: 16384,
  });
  assert.equal(ringGeometry(4 * MIB, 262144, PAGE).blockCount, 8);
  assert.equal(ringGeometry(4 * MIB, 262144, PAGE).blockSize, 512 * KIB);
  assert.equal(ringGeometry(2 * MIB, 1514, PAGE).blockSize, 256 * KIB);
  // Too small for three full-size frames: three blocks all the same.
  assert.equal(ringGeometry(64 * KIB, 262144, PAGE).blockCount, 3);
});

Deno.test("FrameBatch grows past its first capacity and keeps every frame's facts", () => {
  const batch = new FrameBatch();
  const bytes = new Uint8Array(5000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
  batch.reset(bytes);
  for (let i = 0; i < 3000; i++) batch.push(i, 1, 60 + i, 1_700_000_000 + i, i * 7, i % 5);
  assert.equal(batch.count, 3000);
  assert.equal(batch.lengths[2999], 3059);
  assert.equal(batch.seconds[2999], 1_700_002_999);
  assert.equal(batch.nanos[2999], 2999 * 7);
  assert.equal(batch.interfaces[2999], 2999 % 5);
  assert.deepEqual([...batch.data(2999)], [2999 & 0xff]);
  const copy = batch.copy(2999);
  bytes[2999] = 0;
  assert.deepEqual([...copy], [2999 & 0xff], "a copy does not follow the buffer");
  batch.reset(bytes);
  assert.equal(batch.count, 0);
});

Deno.test("setAddress() stores user-space addresses as two little-endian words, exactly", () => {
  const view = new DataView(new ArrayBuffer(8));
  const cases: [number, number, number][] = [
    [0, 0, 0],
    [0xffff_ffff, 0xffff_ffff, 0],
    [2 ** 32, 0, 1],
    [2 ** 32 + 16, 16, 1],
    [0x7fff_ffff_f000 + 0xfff, 0xffff_ffff, 0x7fff],
    [0x7f12_3456_7890, 0x3456_7890, 0x7f12],
  ];
  for (const [address, low, high] of cases) {
    setAddress(view, 0, address);
    assert.equal(view.getUint32(0, true), low, `low word of ${address.toString(16)}`);
    assert.equal(view.getUint32(4, true), high, `high word of ${address.toString(16)}`);
    assert.equal(getAddress(view, 0), address);
  }
});

Deno.test("PcapFdWriter writes a full batch of records, in order", async () => {
  const count = IOV_MAX;
  const frame = 60;
  const size = 16 + frame;
  // What the ring would hold: each record header right before its frame.
  const memory = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    memory.set(pcapRecordHeader(1700000000, i, frame, frame), i * size);
    memory.fill(i & 0xff, i * size + 16, (i + 1) * size);
  }
  const records = new PcapRecordBatch();
  assert.equal(records.capacity, count);
  const base = Number(bufferAddress(memory));
  for (let i = 0; i < count; i++) {
    setAddress(records.view, i * IOVEC.size + IOVEC.base, base + i * size);
    records.view.setBigUint64(i * IOVEC.size + IOVEC.len, BigInt(size), true);
  }
  records.count = count;
  records.bytes = count * size;
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const writer = PcapFdWriter.create(path, 1, 65535);
    writer.write(records);
    writer.close();
    let i = 0;
    for await (const record of readRecords(path)) {
      assert.equal(record.nanos, i, `record ${i}`);
      assert.deepEqual(record.data, memory.subarray(i * size + 16, (i + 1) * size));
      i++;
    }
    assert.equal(i, count);
  } finally {
    await Deno.remove(path);
  }
});
