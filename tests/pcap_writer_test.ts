import assert from "node:assert/strict";
import { type CaptureRecord, formatTime } from "../parsers/capture_format.ts";
import {
  pcapFileHeader,
  pcapRecordHeader,
  writePcapFileHeader,
  writePcapRecordHeader,
} from "../parsers/pcap_write.ts";
import { type PcapPacket, PcapWriter } from "../io/pcap_writer.ts";
import { readRecords } from "../io/read_records.ts";

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const DEFAULT_SNAP_LENGTH = 262144;

/** An Ethernet + IPv4 + UDP frame from 10.0.0.1:1234 to 10.0.0.2:53, `extra` payload bytes. */
function udpFrame(extra: number, seed: number): Uint8Array {
  const ipLength = 20 + 8 + extra;
  const frame = new Uint8Array(14 + ipLength);
  frame.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
  frame.set([0x45, 0, ipLength >> 8, ipLength & 0xff, 0, 1, 0, 0, 64, 17, 0, 0], 14);
  frame.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  frame.set([0x04, 0xd2, 0, 53, (8 + extra) >> 8, (8 + extra) & 0xff, 0, 0], 34);
  for (let i = 0; i < extra; i++) frame[42 + i] = (i + seed) & 0xff;
  return frame;
}

function packets(count: number): PcapPacket[] {
  return Array.from({ length: count }, (_, i) => {
    const data = udpFrame(i % 50, i);
    return { seconds: 1700000000 + i, nanos: (i * 7919) % 1e9 + 123, length: data.length, data };
  });
}

async function tempPath(): Promise<string> {
  return await Deno.makeTempFile({ prefix: "snout-pcap-writer-", suffix: ".pcap" });
}

async function writeFile(
  path: string,
  list: PcapPacket[],
  options: { linkType: number; snapLength?: number; nanosecond?: boolean },
): Promise<void> {
  const writer = await PcapWriter.create(path, options);
  for (const packet of list) {
    const pending = writer.write(packet);
    if (pending !== undefined) await pending;
  }
  await writer.close();
}

async function run(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const output = await new Deno.Command(command, {
      args,
      env: { TZ: "UTC" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

Deno.test("pcapFileHeader() encodes a little-endian version 2.4 header", () => {
  assert.deepEqual(
    pcapFileHeader(LINKTYPE_ETHERNET, 262144, false),
    new Uint8Array([
      0xd4,
      0xc3,
      0xb2,
      0xa1,
      2,
      0,
      4,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      4,
      0,
      1,
      0,
      0,
      0,
    ]),
  );
  assert.deepEqual(
    pcapFileHeader(LINKTYPE_RAW, 65535, true),
    new Uint8Array([
      0x4d,
      0x3c,
      0xb2,
      0xa1,
      2,
      0,
      4,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xff,
      0xff,
      0,
      0,
      101,
      0,
      0,
      0,
    ]),
  );
});

Deno.test("pcapRecordHeader() encodes seconds, fraction, caplen and len little-endian", () => {
  assert.deepEqual(
    pcapRecordHeader(0x65536f00, 999999, 60, 1514),
    new Uint8Array([0x00, 0x6f, 0x53, 0x65, 0x3f, 0x42, 0x0f, 0, 60, 0, 0, 0, 0xea, 0x05, 0, 0]),
  );
});

Deno.test("writePcapFileHeader() and writePcapRecordHeader() write at an offset", () => {
  const buffer = new Uint8Array(4 + 24 + 16);
  const view = new DataView(buffer.buffer);
  writePcapFileHeader(view, 4, LINKTYPE_RAW, 100, false);
  writePcapRecordHeader(view, 28, 1, 2, 3, 4);
  assert.deepEqual(buffer.subarray(4, 28), pcapFileHeader(LINKTYPE_RAW, 100, false));
  assert.deepEqual(buffer.subarray(28), pcapRecordHeader(1, 2, 3, 4));
});

Deno.test("PcapWriter round-trips packets through a microsecond file", async () => {
  const path = await tempPath();
  try {
    const list = packets(100);
    await writeFile(path, list, { linkType: LINKTYPE_ETHERNET });
    const records = await Array.fromAsync(readRecords(path));
    assert.deepEqual(
      records,
      list.map((p): CaptureRecord => ({
        linkType: LINKTYPE_ETHERNET,
        seconds: p.seconds,
        nanos: Math.floor(p.nanos / 1000) * 1000,
        digits: 6,
        length: p.length,
        data: p.data,
      })),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter round-trips nanosecond timestamps through a nanosecond file", async () => {
  const path = await tempPath();
  try {
    const list = packets(10);
    await writeFile(path, list, { linkType: LINKTYPE_RAW, nanosecond: true });
    const records = await Array.fromAsync(readRecords(path));
    assert.deepEqual(
      records.map((r) => [r.linkType, r.seconds, r.nanos, r.digits]),
      list.map((p) => [LINKTYPE_RAW, p.seconds, p.nanos, 9]),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter cuts packets to the snap length and keeps the original length", async () => {
  const path = await tempPath();
  try {
    const data = udpFrame(100, 0);
    await writeFile(path, [{ seconds: 1, nanos: 0, length: 1000, data }], {
      linkType: LINKTYPE_ETHERNET,
      snapLength: 64,
    });
    const [record] = await Array.fromAsync(readRecords(path));
    assert.deepEqual(record?.data, data.subarray(0, 64));
    assert.equal(record?.length, 1000);
    const header = (await Deno.readFile(path)).subarray(0, 24);
    assert.deepEqual(header, pcapFileHeader(LINKTYPE_ETHERNET, 64, false));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter writes just the file header when closed without packets", async () => {
  const path = await tempPath();
  try {
    await writeFile(path, [], { linkType: LINKTYPE_ETHERNET });
    assert.deepEqual(
      await Deno.readFile(path),
      pcapFileHeader(LINKTYPE_ETHERNET, DEFAULT_SNAP_LENGTH, false),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter keeps packets in order across many buffers and an oversized packet", async () => {
  const path = await tempPath();
  try {
    // About 3 MiB of ordinary packets around one packet larger than the whole 1 MiB buffer.
    const list = packets(40000);
    const huge = new Uint8Array(1536 * 1024).map((_, i) => i & 0xff);
    list.splice(20000, 0, { seconds: 5, nanos: 5000, length: huge.length, data: huge });
    await writeFile(path, list, { linkType: LINKTYPE_ETHERNET, snapLength: 2 * 1024 * 1024 });
    const records = await Array.fromAsync(readRecords(path));
    assert.equal(records.length, list.length);
    for (let i = 0; i < list.length; i++) {
      assert.deepEqual(records[i]?.data, list[i]?.data, `packet ${i}`);
      assert.equal(records[i]?.seconds, list[i]?.seconds);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter copies a packet before write() returns", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const writer = await PcapWriter.create(stream, { linkType: LINKTYPE_ETHERNET });
  const data = new Uint8Array([1, 2, 3]);
  writer.write({ seconds: 1, nanos: 0, length: 3, data });
  data.fill(9);
  await writer.close();
  assert.deepEqual(chunks.length, 1);
  assert.deepEqual(chunks[0]?.subarray(24 + 16), new Uint8Array([1, 2, 3]));
});

Deno.test("PcapWriter closes a stream target", async () => {
  let closed = false;
  const stream = new WritableStream<Uint8Array>({ close: () => void (closed = true) });
  await (await PcapWriter.create(stream, { linkType: LINKTYPE_ETHERNET })).close();
  assert.equal(closed, true);
});

Deno.test("PcapWriter leaves an open file target open for its owner", async () => {
  const path = await tempPath();
  try {
    using file = await Deno.open(path, { write: true });
    const writer = await PcapWriter.create(file, { linkType: LINKTYPE_ETHERNET });
    writer.write(packets(1)[0] as PcapPacket);
    await writer.close();
    await file.write(new Uint8Array([0xaa]));
    const bytes = await Deno.readFile(path);
    assert.equal(bytes.at(-1), 0xaa);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter.close() is safe twice and write() after it throws", async () => {
  const path = await tempPath();
  try {
    const writer = await PcapWriter.create(path, { linkType: LINKTYPE_ETHERNET });
    await writer.close();
    await writer.close();
    assert.throws(
      () => writer.write(packets(1)[0] as PcapPacket),
      new Error("Cannot write packet: the pcap writer is closed"),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter closes itself at the end of an `await using` block", async () => {
  const path = await tempPath();
  try {
    {
      await using writer = await PcapWriter.create(path, { linkType: LINKTYPE_ETHERNET });
      writer.write(packets(1)[0] as PcapPacket);
    }
    assert.equal((await Array.fromAsync(readRecords(path))).length, 1);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter.flush() hands the buffered packets to the output", async () => {
  const path = await tempPath();
  try {
    const writer = await PcapWriter.create(path, { linkType: LINKTYPE_ETHERNET });
    writer.write(packets(1)[0] as PcapPacket);
    await writer.flush();
    assert.equal((await Array.fromAsync(readRecords(path))).length, 1);
    await writer.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter reports a failing output from close()", async () => {
  const stream = new WritableStream<Uint8Array>({
    write: () => Promise.reject(new Error("disk full")),
  });
  const writer = await PcapWriter.create(stream, { linkType: LINKTYPE_ETHERNET });
  writer.write(packets(1)[0] as PcapPacket);
  await assert.rejects(() => writer.close(), new Error("disk full"));
});

Deno.test("PcapWriter.create() rejects out-of-range options", async () => {
  const stream = new WritableStream<Uint8Array>();
  await assert.rejects(
    () => PcapWriter.create(stream, { linkType: -1 }),
    new RangeError(
      "Cannot create pcap writer: linkType must be an integer from 0 to 4294967295, got -1",
    ),
  );
  await assert.rejects(
    () => PcapWriter.create(stream, { linkType: 1, snapLength: 0 }),
    new RangeError(
      "Cannot create pcap writer: snapLength must be an integer from 1 to 2147483647, got 0",
    ),
  );
});

Deno.test("PcapWriter.create() names a file it cannot open in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snout-pcap-writer-" });
  try {
    const path = `${dir}/missing/out.pcap`;
    await assert.rejects(
      () => PcapWriter.create(path, { linkType: LINKTYPE_ETHERNET }),
      new Error(`Cannot open pcap output file: No such file or directory (os error 2): ${path}`),
    );
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("tcpdump reads a written file packet for packet", async () => {
  const path = await tempPath();
  try {
    const list = packets(25);
    await writeFile(path, list, { linkType: LINKTYPE_ETHERNET });
    const output = await run("tcpdump", ["-n", "-tt", "-r", path]);
    if (output === null) {
      console.log("skipped: tcpdump is not installed");
      return;
    }
    assert.equal(output.code, 0, output.stderr);
    const lines = output.stdout.trimEnd().split("\n");
    assert.equal(lines.length, list.length);
    lines.forEach((line, i) => {
      const packet = list[i] as PcapPacket;
      const time = formatTime(packet.seconds, packet.nanos, 6);
      assert.ok(line.startsWith(`${time} IP 10.0.0.1.1234 > 10.0.0.2.53: `), line);
    });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("tshark reads a written nanosecond file packet for packet", async () => {
  const path = await tempPath();
  try {
    const list = packets(25);
    await writeFile(path, list, { linkType: LINKTYPE_ETHERNET, nanosecond: true, snapLength: 50 });
    const output = await run("tshark", [
      "-r",
      path,
      "-T",
      "fields",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.len",
      "-e",
      "frame.cap_len",
      "-e",
      "udp.dstport",
    ]);
    if (output === null) {
      console.log("skipped: tshark is not installed");
      return;
    }
    assert.equal(output.code, 0, output.stderr);
    assert.equal(
      output.stdout,
      list.map((p) =>
        `${formatTime(p.seconds, p.nanos, 9)}\t${p.length}\t${Math.min(p.length, 50)}\t53\n`
      ).join(""),
    );
  } finally {
    await Deno.remove(path);
  }
});
