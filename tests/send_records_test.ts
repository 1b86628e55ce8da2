/**
 * The send and replay loops without a kernel: NDJSON reading, counting (and cycling), pacing,
 * fragmenting, stopping on a signal, and the errors a user meets, with a recording emitter in
 * place of a socket.
 */

import assert from "node:assert/strict";
import { decodePacket } from "../parsers/decode.ts";
import type { Ipv4Layer } from "../parsers/types.ts";
import { Pacer } from "../io/pacer.ts";
import { type NdjsonLine, readNdjson } from "../io/read_ndjson.ts";
import { replayCapture } from "../io/replay.ts";
import { atLine, buildRecord, sendRecords } from "../io/send_records.ts";
import { fixture } from "./helpers.ts";
import { load } from "./fixtures.ts";

const encoder = new TextEncoder();
const LINKTYPE_RAW = 101;
const LINKTYPE_ETHERNET = 1;

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

function udpRecord(dstPort: number, extra: Record<string, unknown> = {}) {
  return {
    layers: [
      { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
      { type: "udp", srcPort: 4000, dstPort },
    ],
    ...extra,
  };
}

function lines(...values: unknown[]): NdjsonLine[] {
  return values.map((value, i) => ({ line: i + 1, value }));
}

/** An emitter that keeps what it is given. */
function recorder() {
  const sent: { packet: Uint8Array; linkType: number; line: number; at: number }[] = [];
  const emit = (packet: Uint8Array, linkType: number, line: number) => {
    sent.push({ packet, linkType, line, at: performance.now() });
  };
  return { sent, emit };
}

Deno.test("readNdjson() reads one value a line across chunk boundaries, skipping blank lines", async () => {
  const read = await Array.fromAsync(
    readNdjson(streamOf('{"a":', "1}\r\n\n  \n[2", ',3]\n"x"')),
  );
  assert.deepEqual(read, [
    { line: 1, value: { a: 1 } },
    { line: 4, value: [2, 3] },
    { line: 5, value: "x" },
  ]);
});

Deno.test("readNdjson() names the line that is not JSON, and a file it cannot open", async () => {
  await assert.rejects(
    Array.fromAsync(readNdjson(streamOf('{"a":1}\n{oops}\n'))),
    /^Error: Cannot read record on line 2: /,
  );
  await assert.rejects(
    Array.fromAsync(readNdjson("/nonexistent/records.ndjson")),
    /^Error: Cannot open records file: .*: \/nonexistent\/records.ndjson$/,
  );
});

Deno.test("sendRecords() sends each record once, in order, with its line", async () => {
  const { sent, emit } = recorder();
  const result = await sendRecords(lines(udpRecord(1), udpRecord(2), udpRecord(3)), {}, emit);
  assert.deepEqual(result, { records: 3, packets: 3, bytes: 3 * 28 });
  assert.deepEqual(sent.map((s) => [s.line, s.linkType, s.packet[23]]), [
    [1, LINKTYPE_RAW, 1],
    [2, LINKTYPE_RAW, 2],
    [3, LINKTYPE_RAW, 3],
  ]);
});

Deno.test("sendRecords() with a count sends the first N records, or cycles through fewer", async () => {
  const first = recorder();
  await sendRecords(lines(udpRecord(1), udpRecord(2), udpRecord(3)), { count: 2 }, first.emit);
  assert.deepEqual(first.sent.map((s) => s.packet[23]), [1, 2]);
  const cycled = recorder();
  const result = await sendRecords(lines(udpRecord(1), udpRecord(2)), { count: 5 }, cycled.emit);
  assert.equal(result.records, 5);
  assert.deepEqual(cycled.sent.map((s) => s.packet[23]), [1, 2, 1, 2, 1]);
});

Deno.test("sendRecords() paces records at the rate without sending them early", async () => {
  const { sent, emit } = recorder();
  const rate = 50; // one every 20 ms
  const start = performance.now();
  await sendRecords(lines(udpRecord(1)), { count: 6, rate }, emit);
  const elapsed = performance.now() - start;
  // Five gaps of 20 ms: at least 100 ms (timers never fire early), and not far beyond.
  assert.ok(elapsed >= 95, `${elapsed} ms`);
  assert.ok(elapsed < 1000, `${elapsed} ms`);
  for (let i = 1; i < sent.length; i++) {
    assert.ok(sent[i]!.at - sent[0]!.at >= Pacer.rateDue(i, rate) - 2, `record ${i} early`);
  }
});

Deno.test("sendRecords() splits an IPv4 datagram above the MTU into fragments sent together", async () => {
  const { sent, emit } = recorder();
  const record = {
    layers: [
      { type: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" },
      { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", id: 9 },
      { type: "udp", srcPort: 1, dstPort: 2 },
    ],
    payload: { text: "x".repeat(3000) },
  };
  const result = await sendRecords(lines(record), { mtu: 1500 }, emit);
  assert.deepEqual([result.records, result.packets], [1, 3]);
  const ips = sent.map((s) => decodePacket(s.packet, s.linkType).layers[1] as Ipv4Layer);
  assert.deepEqual(ips.map((ip) => [ip.id, ip.fragmentOffset, ip.moreFragments]), [
    [9, 0, true],
    [9, 1480, true],
    [9, 2960, false],
  ]);
  assert.ok(sent.every((s) => s.linkType === LINKTYPE_ETHERNET && s.line === 1));
});

Deno.test("sendRecords() stops between records when its signal aborts, without an error", async () => {
  const controller = new AbortController();
  let count = 0;
  const result = await sendRecords(
    lines(udpRecord(1)),
    { count: 1000, rate: 100, signal: controller.signal },
    () => {
      if (++count === 3) controller.abort();
    },
  );
  assert.equal(result.records, 3);
});

Deno.test("sendRecords() names the line of a record it cannot build, and refuses an empty input", async () => {
  const { emit } = recorder();
  await assert.rejects(
    sendRecords(lines(udpRecord(1), { layers: [{ type: "ipv4", src: "10.0.0.1" }] }), {}, emit),
    /^Error: Cannot build packet from line 2: layer 1 \(ipv4\): needs dst$/,
  );
  await assert.rejects(
    sendRecords(lines({ layers: [] }), {}, emit),
    /Cannot build packet from line 1: there are no layers to build/,
  );
  await assert.rejects(
    sendRecords([], {}, emit),
    /^Error: Cannot send: the input holds no records \(one JSON object a line\)$/,
  );
});

Deno.test("buildRecord() and atLine() put the record's line into messages", () => {
  assert.throws(
    () => buildRecord({ line: 7, value: udpRecord(1, { truncated: true }) }),
    /^Error: Cannot build packet from line 7: the record is truncated/,
  );
  assert.equal(
    atLine(new Error("Cannot send packet: EMSGSIZE (Message too long)"), 4).message,
    "Cannot send packet from line 4: EMSGSIZE (Message too long)",
  );
  assert.equal(atLine(new Error("odd"), 4).message, "Line 4: odd");
});

Deno.test("replayCapture() hands out every frame as captured, at the capture's pace or a rate", async () => {
  const records = await load("arp_ping.pcap");
  const paced = recorder();
  const start = performance.now();
  const result = await replayCapture(fixture("arp_ping.pcap"), {}, (packet, linkType, number) => {
    paced.emit(packet.slice(), linkType, number);
  });
  const elapsed = performance.now() - start;
  assert.deepEqual(result, {
    packets: records.length,
    bytes: records.reduce((n, r) => n + r.data.length, 0),
    cut: 0,
  });
  assert.deepEqual(paced.sent.map((s) => s.packet), records.map((r) => r.data));
  assert.deepEqual(paced.sent.map((s) => s.line), records.map((_, i) => i + 1));
  // The pings were 0.2 s apart: the replay keeps the capture's gaps.
  const span = (records.at(-1)!.seconds - records[0]!.seconds) * 1000 +
    (records.at(-1)!.nanos - records[0]!.nanos) / 1e6;
  assert.ok(elapsed >= span - 5, `${elapsed} ms for a ${span} ms capture`);
  const fast = recorder();
  const counted = await replayCapture(
    fixture("arp_ping.pcap"),
    { count: 3, rate: 1000 },
    fast.emit,
  );
  assert.equal(counted.packets, 3);
});

Deno.test("replayCapture() names the frame whose sending failed", async () => {
  await assert.rejects(
    replayCapture(fixture("arp_ping.pcap"), { rate: 1000 }, (_, __, number) => {
      if (number === 2) throw new Error("Cannot send packet: ENOBUFS (No buffer space available)");
    }),
    /^Error: Cannot send packet: ENOBUFS \(No buffer space available\) \(frame 2\)$/,
  );
});
