import assert from "node:assert/strict";
import {
  CaptureFormatError,
  CaptureParser,
  type CaptureRecord,
  formatTime,
} from "../parsers/capture_format.ts";
import { readRecordBatches, readRecords } from "../io/read_records.ts";
import { concat } from "./fixtures.ts";
import { mulberry32 } from "./seeded_random.ts";

// ---------------------------------------------------------------------------------------------
// Byte builders: every input below is constructed here, field by field.

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
const PCAP_FILE_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;
const SHB = 0x0a0d0d0a;
const IDB = 1;
const OPB = 2;
const SPB = 3;
const EPB = 6;
const UNKNOWN_BLOCK = 0x00000bad;
const OPT_COMMENT = 1;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const TSRESOL_NANO = 9;
const TSRESOL_POW2_10 = 0x80 | 10;
const TWO_POW_32 = 2n ** 32n;

/** Little helper that appends integers in a chosen byte order. */
class Bytes {
  #parts: number[] = [];
  constructor(readonly le: boolean) {}
  u8(value: number): this {
    this.#parts.push(value & 0xff);
    return this;
  }
  u16(value: number): this {
    const b = [value & 0xff, (value >>> 8) & 0xff];
    this.#parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(value: number): this {
    const b = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
    this.#parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u64(value: bigint): this {
    const high = Number(BigInt.asUintN(64, value) >> 32n);
    const low = Number(BigInt.asUintN(32, value));
    return this.le ? this.u32(low).u32(high) : this.u32(high).u32(low);
  }
  bytes(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.#parts.push(data[i] as number);
    return this;
  }
  pad(): this {
    while (this.#parts.length % 4 !== 0) this.#parts.push(0);
    return this;
  }
  get length(): number {
    return this.#parts.length;
  }
  done(): Uint8Array {
    return new Uint8Array(this.#parts);
  }
}

function payload(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
}

interface PcapRecordSpec {
  seconds: number;
  fraction: number;
  length: number;
  data: Uint8Array;
  /** Overrides the caplen field (default data.length). */
  caplen?: number;
}

function pcapFile(
  options: { le: boolean; magic?: number; snapLength?: number; network?: number },
  records: PcapRecordSpec[],
): Uint8Array {
  const b = new Bytes(options.le)
    .u32(options.magic ?? PCAP_MAGIC_MICRO)
    .u16(2).u16(4).u32(0).u32(0)
    .u32(options.snapLength ?? 65535)
    .u32(options.network ?? LINKTYPE_ETHERNET);
  for (const record of records) {
    b.u32(record.seconds).u32(record.fraction).u32(record.caplen ?? record.data.length)
      .u32(record.length);
    if (options.magic === PCAP_MAGIC_MODIFIED) b.u32(1).u16(0x0800).u8(0).u8(0);
    b.bytes(record.data);
  }
  return b.done();
}

function block(le: boolean, type: number, body: (b: Bytes) => void): Uint8Array {
  const inner = new Bytes(le);
  body(inner);
  inner.pad();
  const total = inner.length + 12;
  return new Bytes(le).u32(type).u32(total).bytes(inner.done()).u32(total).done();
}

function option(b: Bytes, code: number, value: Uint8Array): void {
  b.u16(code).u16(value.length).bytes(value).pad();
}

function shb(le: boolean): Uint8Array {
  return block(le, SHB, (b) => b.u32(0x1a2b3c4d).u16(1).u16(0).u64(-1n));
}

function idb(
  le: boolean,
  linkType: number,
  snapLength: number,
  options: { tsresol?: number; tsoffset?: bigint } = {},
): Uint8Array {
  return block(le, IDB, (b) => {
    b.u16(linkType).u16(0).u32(snapLength);
    option(b, OPT_COMMENT, new TextEncoder().encode("lo"));
    if (options.tsresol !== undefined) option(b, OPT_IF_TSRESOL, new Uint8Array([options.tsresol]));
    if (options.tsoffset !== undefined) {
      option(b, OPT_IF_TSOFFSET, new Bytes(le).u64(options.tsoffset).done());
    }
    b.u16(0).u16(0);
  });
}

function epb(le: boolean, id: number, ticks: bigint, length: number, data: Uint8Array) {
  return block(le, EPB, (b) => {
    b.u32(id).u32(Number(ticks / TWO_POW_32)).u32(Number(ticks % TWO_POW_32));
    b.u32(data.length).u32(length).bytes(data).pad();
    option(b, OPT_COMMENT, new TextEncoder().encode("hi"));
    b.u16(0).u16(0);
  });
}

function opb(le: boolean, id: number, ticks: bigint, length: number, data: Uint8Array) {
  return block(le, OPB, (b) => {
    b.u16(id).u16(0).u32(Number(ticks / TWO_POW_32)).u32(Number(ticks % TWO_POW_32));
    b.u32(data.length).u32(length).bytes(data);
  });
}

function spb(le: boolean, length: number, data: Uint8Array): Uint8Array {
  return block(le, SPB, (b) => b.u32(length).bytes(data));
}

function unknownBlock(le: boolean): Uint8Array {
  return block(le, UNKNOWN_BLOCK, (b) => b.bytes(payload(13, 3)));
}

/** Every record the parser gives for `input` pushed in the given pieces. */
function parseAll(pieces: Uint8Array[]): { records: CaptureRecord[]; warning: string | null } {
  const parser = new CaptureParser();
  const records: CaptureRecord[] = [];
  for (const piece of pieces) {
    parser.push(piece);
    for (let r = parser.next(); r !== null; r = parser.next()) records.push(r);
  }
  return { records, warning: parser.finish() };
}

function parseWhole(input: Uint8Array): CaptureRecord[] {
  const { records, warning } = parseAll([input]);
  assert.equal(warning, null);
  return records;
}

function randomSplits(input: Uint8Array, next: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  while (at < input.length) {
    const size = 1 + Math.floor(next() * 40);
    pieces.push(input.slice(at, at + size));
    at += size;
  }
  return pieces;
}

const PCAP_RECORDS: PcapRecordSpec[] = [
  { seconds: 1700000000, fraction: 123456, length: 60, data: payload(60, 1) },
  { seconds: 1700000001, fraction: 999999, length: 1514, data: payload(42, 2) },
  { seconds: 1700000002, fraction: 0, length: 0, data: new Uint8Array(0) },
  { seconds: 4294967295, fraction: 1, length: 7, data: payload(7, 3) },
];

/** pcapng in one byte order: three interfaces, an unknown block, an SPB, an OPB. */
function pcapngFile(le: boolean): Uint8Array {
  return concat(
    shb(le),
    idb(le, LINKTYPE_ETHERNET, 96),
    idb(le, LINKTYPE_RAW, 0, { tsresol: TSRESOL_NANO, tsoffset: 10n }),
    unknownBlock(le),
    idb(le, LINKTYPE_LINUX_SLL, 65535, { tsresol: TSRESOL_POW2_10 }),
    epb(le, 0, 1700000000_123456n, 60, payload(60, 4)),
    epb(le, 1, 1700000000_123456789n, 1500, payload(33, 5)),
    epb(le, 2, 1700000000n * 1024n + 512n, 10, payload(10, 6)),
    spb(le, 200, payload(100, 7)),
    opb(le, 0, 1700000003_000001n, 5, payload(5, 8)),
  );
}

const PCAPNG_EXPECTED: CaptureRecord[] = [
  {
    linkType: LINKTYPE_ETHERNET,
    seconds: 1700000000,
    nanos: 123456000,
    digits: 6,
    length: 60,
    data: payload(60, 4),
    interface: 0,
  },
  {
    linkType: LINKTYPE_RAW,
    seconds: 1700000010,
    nanos: 123456789,
    digits: 9,
    length: 1500,
    data: payload(33, 5),
    interface: 1,
  },
  {
    linkType: LINKTYPE_LINUX_SLL,
    seconds: 1700000000,
    nanos: 500000000,
    digits: 4,
    length: 10,
    data: payload(10, 6),
    interface: 2,
  },
  {
    linkType: LINKTYPE_ETHERNET,
    seconds: 0,
    nanos: 0,
    digits: 6,
    length: 200,
    // Captured length is the smaller of the block's data, the original length and the snaplen.
    data: payload(96, 7),
    interface: 0,
  },
  {
    linkType: LINKTYPE_ETHERNET,
    seconds: 1700000003,
    nanos: 1000,
    digits: 6,
    length: 5,
    data: payload(5, 8),
    interface: 0,
  },
];

// ---------------------------------------------------------------------------------------------
// Classic pcap.

Deno.test("CaptureParser reads every field of a little-endian microsecond pcap", () => {
  const parser = new CaptureParser();
  parser.push(pcapFile({ le: true, snapLength: 1514 }, PCAP_RECORDS));
  assert.equal(parser.format, "pcap");
  const records = [parser.next(), parser.next(), parser.next(), parser.next()];
  assert.equal(parser.next(), null);
  assert.equal(parser.finish(), null);
  assert.equal(parser.linkType, LINKTYPE_ETHERNET);
  assert.equal(parser.snapLength, 1514);
  assert.deepEqual(records, [
    {
      linkType: 1,
      seconds: 1700000000,
      nanos: 123456000,
      digits: 6,
      length: 60,
      data: payload(60, 1),
    },
    {
      linkType: 1,
      seconds: 1700000001,
      nanos: 999999000,
      digits: 6,
      length: 1514,
      data: payload(42, 2),
    },
    { linkType: 1, seconds: 1700000002, nanos: 0, digits: 6, length: 0, data: new Uint8Array(0) },
    { linkType: 1, seconds: 4294967295, nanos: 1000, digits: 6, length: 7, data: payload(7, 3) },
  ]);
  assert.equal(Object.hasOwn(records[0] as CaptureRecord, "interface"), false);
});

Deno.test("CaptureParser reads a big-endian nanosecond pcap", () => {
  const records = parseWhole(pcapFile({ le: false, magic: PCAP_MAGIC_NANO, network: 101 }, [
    { seconds: 1700000000, fraction: 123456789, length: 1, data: payload(1, 0) },
    { seconds: 1700000000, fraction: 999999999, length: 70000, data: payload(20, 0) },
  ]));
  assert.deepEqual(records, [
    {
      linkType: LINKTYPE_RAW,
      seconds: 1700000000,
      nanos: 123456789,
      digits: 9,
      length: 1,
      data: payload(1, 0),
    },
    {
      linkType: LINKTYPE_RAW,
      seconds: 1700000000,
      nanos: 999999999,
      digits: 9,
      length: 70000,
      data: payload(20, 0),
    },
  ]);
});

Deno.test("CaptureParser reads the same records from a big-endian microsecond pcap", () => {
  assert.deepEqual(
    parseWhole(pcapFile({ le: false }, PCAP_RECORDS)),
    parseWhole(pcapFile({ le: true }, PCAP_RECORDS)),
  );
});

Deno.test("CaptureParser carries a fraction of a second or more into the seconds", () => {
  const [micro] = parseWhole(pcapFile({ le: true }, [
    { seconds: 10, fraction: 2_500_000, length: 0, data: new Uint8Array(0) },
  ]));
  assert.equal(micro?.seconds, 12);
  assert.equal(micro?.nanos, 500_000_000);
  const [nano] = parseWhole(pcapFile({ le: true, magic: PCAP_MAGIC_NANO }, [
    { seconds: 10, fraction: 3_000_000_001, length: 0, data: new Uint8Array(0) },
  ]));
  assert.equal(nano?.seconds, 13);
  assert.equal(nano?.nanos, 1);
});

Deno.test("CaptureParser takes the link type from the low 16 bits of the network field", () => {
  // FCS-length bits (0x06000000) and a reserved top bit set (0x30000000) are masked away.
  for (const network of [0x06000001, 0x30000065, 0x0001_0000 | LINKTYPE_NULL]) {
    const parser = new CaptureParser();
    parser.push(pcapFile({ le: true, network }, PCAP_RECORDS));
    const record = parser.next();
    assert.equal(record?.linkType, network & 0xffff);
    assert.equal(parser.linkType, network & 0xffff);
  }
});

Deno.test("CaptureParser reads the modified pcap format's longer record headers", () => {
  const records = parseWhole(pcapFile({ le: true, magic: PCAP_MAGIC_MODIFIED }, PCAP_RECORDS));
  assert.deepEqual(records, parseWhole(pcapFile({ le: true }, PCAP_RECORDS)));
});

Deno.test("CaptureParser yields a caplen 0 record with empty data", () => {
  const [record] = parseWhole(pcapFile({ le: true }, [
    { seconds: 1, fraction: 2, length: 0, data: new Uint8Array(0) },
  ]));
  assert.equal(record?.data.length, 0);
  assert.equal(record?.length, 0);
});

Deno.test("CaptureParser tolerates a caplen above the snaplen up to 262144", () => {
  const records = parseWhole(pcapFile({ le: true, snapLength: 64 }, [
    { seconds: 1, fraction: 0, length: 100, data: payload(100, 0) },
    { seconds: 1, fraction: 0, length: 262144, data: payload(262144, 0) },
  ]));
  assert.deepEqual(records.map((r) => r.data.length), [100, 262144]);
});

Deno.test("CaptureParser stops at a record whose caplen is beyond any snaplen", () => {
  const parser = new CaptureParser();
  parser.push(pcapFile({ le: true, snapLength: 1000 }, [
    { seconds: 1, fraction: 0, length: 10, data: payload(10, 0) },
    { seconds: 2, fraction: 0, length: 10, data: payload(10, 0), caplen: 262145 },
  ]));
  assert.equal(parser.next()?.seconds, 1);
  const expected = new CaptureFormatError(
    "Corrupt capture file: record at offset 50 has captured length 262145, " +
      "more than the limit 262144",
  );
  assert.throws(() => parser.next(), expected);
  assert.throws(() => parser.next(), expected);
});

Deno.test("CaptureParser rejects a caplen above 256 MiB whatever the snaplen", () => {
  const parser = new CaptureParser();
  parser.push(pcapFile({ le: true, snapLength: 0xffffffff }, [
    { seconds: 1, fraction: 0, length: 10, data: new Uint8Array(0), caplen: 0x7fffffff },
  ]));
  assert.throws(() => parser.next(), /^CaptureFormatError: Corrupt capture file: .* 268435456$/);
});

Deno.test("CaptureParser rejects a pcap file of another major version", () => {
  const file = pcapFile({ le: true }, []);
  file[4] = 1;
  const parser = new CaptureParser();
  parser.push(file);
  assert.throws(
    () => parser.next(),
    new CaptureFormatError("Unsupported capture file: pcap version 1.4, expected 2.x"),
  );
});

// ---------------------------------------------------------------------------------------------
// pcapng.

Deno.test("CaptureParser reads pcapng interfaces, packets and resolutions in little-endian", () => {
  const parser = new CaptureParser();
  parser.push(pcapngFile(true));
  assert.equal(parser.format, "pcapng");
  const records: CaptureRecord[] = [];
  for (let r = parser.next(); r !== null; r = parser.next()) records.push(r);
  assert.equal(parser.finish(), null);
  assert.deepEqual(records, PCAPNG_EXPECTED);
  assert.equal(parser.linkType, LINKTYPE_ETHERNET);
  assert.equal(parser.snapLength, 96);
});

Deno.test("CaptureParser reads the same pcapng records in big-endian", () => {
  assert.deepEqual(parseWhole(pcapngFile(false)), PCAPNG_EXPECTED);
});

Deno.test("CaptureParser starts afresh at each pcapng section, byte order included", () => {
  const input = concat(
    shb(true),
    idb(true, LINKTYPE_ETHERNET, 0),
    idb(true, LINKTYPE_RAW, 0),
    epb(true, 1, 5_000001n, 1, payload(1, 0)),
    shb(false),
    idb(false, LINKTYPE_LINUX_SLL, 0, { tsresol: TSRESOL_NANO }),
    epb(false, 0, 7_000000002n, 2, payload(2, 0)),
    epb(false, 1, 0n, 2, payload(2, 0)),
  );
  const parser = new CaptureParser();
  parser.push(input);
  assert.deepEqual(
    [parser.next(), parser.next()].map((r) => [r?.linkType, r?.seconds, r?.nanos, r?.interface]),
    [[LINKTYPE_RAW, 5, 1000, 1], [LINKTYPE_LINUX_SLL, 7, 2, 0]],
  );
  assert.throws(
    () => parser.next(),
    new CaptureFormatError(
      `Corrupt capture file: enhanced packet block at offset ${input.length - 48} refers to ` +
        "interface 1, but the section describes 1",
    ),
  );
});

Deno.test("CaptureParser converts 64-bit pcapng timestamps exactly", () => {
  const max = 2n ** 64n - 1n;
  const input = concat(
    shb(true),
    idb(true, LINKTYPE_ETHERNET, 0, { tsresol: TSRESOL_NANO }),
    idb(true, LINKTYPE_ETHERNET, 0, { tsresol: 0x80 | 30 }),
    idb(true, LINKTYPE_ETHERNET, 0, { tsresol: 12 }),
    idb(true, LINKTYPE_ETHERNET, 0, { tsresol: 0, tsoffset: -5n }),
    epb(true, 0, max, 0, new Uint8Array(0)),
    epb(true, 0, 1234567890_999999999n, 0, new Uint8Array(0)),
    epb(true, 1, (1700000000n << 30n) + (1n << 29n) + 3n, 0, new Uint8Array(0)),
    epb(true, 2, 1000_123456789012n, 0, new Uint8Array(0)),
    epb(true, 3, 1700000000n, 0, new Uint8Array(0)),
  );
  const times = parseWhole(input).map((r) => [r.seconds, r.nanos, r.digits]);
  assert.deepEqual(times, [
    [Number(max / 1_000_000_000n), Number(max % 1_000_000_000n), 9],
    [1234567890, 999999999, 9],
    // A tick of 2^-30 s is 0.93 ns: 3 ticks are 2.79 ns, truncated to 2.
    [1700000000, 500000002, 9],
    // Picoseconds: 2^64 of them is only 213 days, and the digits stop at nanoseconds.
    [1000, 123456789, 9],
    [1699999995, 0, 0],
  ]);
});

Deno.test("CaptureParser ends a simple packet block's data at the original length", () => {
  const input = concat(
    shb(true),
    idb(true, LINKTYPE_ETHERNET, 0),
    spb(true, 3, payload(4, 0)),
  );
  const [record] = parseWhole(input);
  assert.deepEqual(record?.data, payload(3, 0));
  assert.equal(record?.length, 3);
});

Deno.test("CaptureParser rejects a pcapng block length that is not a multiple of 4", () => {
  const input = concat(shb(true), idb(true, LINKTYPE_ETHERNET, 0));
  new DataView(input.buffer).setUint32(28 + 4, 30, true);
  const parser = new CaptureParser();
  parser.push(input);
  assert.throws(
    () => parser.next(),
    new CaptureFormatError(
      "Corrupt capture file: interface description block at offset 28 has total length 30, " +
        "which is not a multiple of 4 from 12 to 268435456",
    ),
  );
});

Deno.test("CaptureParser rejects a pcapng block whose two lengths differ", () => {
  const input = concat(shb(true), idb(true, LINKTYPE_ETHERNET, 0), unknownBlock(true));
  new DataView(input.buffer).setUint32(input.length - 4, 8, true);
  const parser = new CaptureParser();
  parser.push(input);
  assert.throws(() => parser.next(), /has total length 28 at its start but 8 at its end$/);
});

Deno.test("CaptureParser rejects an enhanced packet block whose caplen exceeds the block", () => {
  const packet = epb(true, 0, 0n, 8, payload(8, 0));
  const input = concat(shb(true), idb(true, LINKTYPE_ETHERNET, 0), packet);
  const caplenAt = input.length - packet.length + 20;
  new DataView(input.buffer).setUint32(caplenAt, 9999, true);
  const parser = new CaptureParser();
  parser.push(input);
  assert.throws(() => parser.next(), /has captured length 9999, more than the 20 bytes/);
});

Deno.test("CaptureParser rejects an unknown pcapng byte-order magic as not a capture file", () => {
  const input = shb(true);
  input[8] = 0;
  const parser = new CaptureParser();
  parser.push(input);
  assert.throws(
    () => parser.next(),
    new CaptureFormatError(
      "Not a capture file: section header block at offset 0 has unknown byte-order magic " +
        "0x003c2b1a",
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// Chunking, truncation, foreign input.

Deno.test("CaptureParser gives the same records whatever the chunk boundaries", () => {
  const inputs = [
    pcapFile({ le: true }, PCAP_RECORDS),
    pcapFile({ le: false, magic: PCAP_MAGIC_NANO }, PCAP_RECORDS),
    pcapngFile(true),
    pcapngFile(false),
  ];
  const next = mulberry32(42);
  for (const input of inputs) {
    const whole = parseWhole(input);
    const bytewise = parseAll(Array.from(input, (byte) => new Uint8Array([byte])));
    assert.deepEqual(bytewise, { records: whole, warning: null });
    for (let round = 0; round < 50; round++) {
      assert.deepEqual(parseAll(randomSplits(input, next)), { records: whole, warning: null });
    }
  }
});

Deno.test("CaptureParser gives the same records when all chunks are pushed before reading", () => {
  const input = pcapngFile(true);
  const parser = new CaptureParser();
  for (const piece of randomSplits(input, mulberry32(7))) parser.push(piece);
  const records: CaptureRecord[] = [];
  for (let r = parser.next(); r !== null; r = parser.next()) records.push(r);
  assert.equal(parser.finish(), null);
  assert.deepEqual(records, PCAPNG_EXPECTED);
});

Deno.test("CaptureParser hands out views into the pushed chunk, copying only straddlers", () => {
  const input = pcapFile({ le: true }, PCAP_RECORDS);
  const parser = new CaptureParser();
  const first = input.slice(0, 110);
  const second = input.slice(110);
  parser.push(first);
  parser.push(second);
  const records: CaptureRecord[] = [];
  for (let r = parser.next(); r !== null; r = parser.next()) records.push(r);
  // Record 0 (offset 24..100) lies in the first chunk, record 1 straddles, the rest are in the second.
  assert.equal(records[0]?.data.buffer, first.buffer);
  assert.notEqual(records[1]?.data.buffer, first.buffer);
  assert.notEqual(records[1]?.data.buffer, second.buffer);
  assert.equal(records[3]?.data.buffer, second.buffer);
});

Deno.test("CaptureParser yields the whole records of a cut-off pcap, then warns", () => {
  const input = pcapFile({ le: true }, PCAP_RECORDS);
  const [first, second] = PCAP_RECORDS.map((r) => PCAP_RECORD_HEADER_LENGTH + r.data.length);
  const secondAt = PCAP_FILE_HEADER_LENGTH + (first as number);
  const thirdAt = secondAt + (second as number);
  // Cut 5 bytes into the second record's data, then 3 bytes into the third record's header.
  const cutData = parseAll([input.subarray(0, secondAt + PCAP_RECORD_HEADER_LENGTH + 5)]);
  assert.equal(cutData.records.length, 1);
  assert.equal(
    cutData.warning,
    `Capture file is cut off: 21 bytes of a ${second}-byte record at offset ${secondAt}`,
  );
  const cutHeader = parseAll([input.subarray(0, thirdAt + 3)]);
  assert.equal(cutHeader.records.length, 2);
  assert.equal(
    cutHeader.warning,
    `Capture file is cut off: 3 bytes of a 16-byte record header at offset ${thirdAt}`,
  );
});

Deno.test("CaptureParser yields the whole blocks of a cut-off pcapng, then warns", () => {
  const input = pcapngFile(true);
  const last = opb(true, 0, 1700000003_000001n, 5, payload(5, 8));
  const { records, warning } = parseAll([input.subarray(0, input.length - 1)]);
  assert.deepEqual(records, PCAPNG_EXPECTED.slice(0, 4));
  assert.equal(
    warning,
    `Capture file is cut off: ${last.length - 1} bytes of a ${last.length}-byte obsolete ` +
      `packet block at offset ${input.length - last.length}`,
  );
});

Deno.test("CaptureParser calls an empty input not a capture file", () => {
  const parser = new CaptureParser();
  assert.equal(parser.next(), null);
  assert.equal(parser.format, undefined);
  assert.throws(
    () => parser.finish(),
    new CaptureFormatError("Not a capture file: the file is empty"),
  );
});

Deno.test("CaptureParser calls an input shorter than a file header not a capture file", () => {
  const pcap = parseAllError(pcapFile({ le: true }, []).subarray(0, 20));
  assert.equal(
    pcap,
    "Not a capture file: 20 bytes, shorter than a pcap file header (24 bytes)",
  );
  assert.equal(
    parseAllError(new Uint8Array([0xd4, 0xc3])),
    "Not a capture file: 2 bytes, too short for a capture file header",
  );
  assert.equal(
    parseAllError(shb(true).subarray(0, 20)),
    "Not a capture file: 20 bytes, shorter than a pcapng section header (28 bytes)",
  );
});

function parseAllError(input: Uint8Array): string {
  try {
    parseAll([input]);
  } catch (error) {
    assert.ok(error instanceof CaptureFormatError);
    return error.message;
  }
  throw new Error("Expected a CaptureFormatError");
}

Deno.test("CaptureParser names the magic number of a foreign file", () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  assert.equal(parseAllError(png), "Not a capture file: unknown magic number 0x89504e47");
  const parser = new CaptureParser();
  parser.push(png);
  assert.equal(parser.format, undefined);
});

Deno.test("CaptureParser throws nothing but CaptureFormatError on corrupted input", () => {
  const next = mulberry32(1234);
  const inputs = [pcapFile({ le: true }, PCAP_RECORDS), pcapngFile(true), pcapngFile(false)];
  for (let round = 0; round < 3000; round++) {
    const input = (inputs[round % inputs.length] as Uint8Array).slice();
    const flips = 1 + Math.floor(next() * 4);
    for (let i = 0; i < flips; i++) {
      input[Math.floor(next() * input.length)] = Math.floor(next() * 256);
    }
    const end = next() < 0.3 ? Math.floor(next() * input.length) : input.length;
    try {
      const { records } = parseAll(randomSplits(input.subarray(0, end), next));
      for (const record of records) {
        assert.ok(record.nanos >= 0 && record.nanos < 1e9);
        assert.ok(Number.isInteger(record.seconds));
      }
    } catch (error) {
      assert.ok(error instanceof CaptureFormatError, String(error));
    }
  }
});

// ---------------------------------------------------------------------------------------------
// formatTime.

Deno.test("formatTime() prints the fraction at the clock's resolution, truncated", () => {
  assert.equal(formatTime(1700000000, 123456789, 6), "1700000000.123456");
  assert.equal(formatTime(1700000000, 123456789, 9), "1700000000.123456789");
  assert.equal(formatTime(1700000000, 1000, 6), "1700000000.000001");
  assert.equal(formatTime(1700000000, 500000000, 4), "1700000000.5000");
  assert.equal(formatTime(0, 0, 0), "0");
  assert.equal(formatTime(1, 999999999, 12), "1.999999999");
});

Deno.test("formatTime() prints times before the epoch with the sign in front", () => {
  assert.equal(formatTime(-2, 500000000, 6), "-1.500000");
  assert.equal(formatTime(-1, 0, 6), "-1.000000");
  assert.equal(formatTime(-1, 750000000, 3), "-0.250");
});

Deno.test("formatTime() gives the same text whatever time it formatted before", () => {
  // formatTime keeps the last "seconds." it wrote: calls that change the second, the number of
  // places, or the sign in between must not leave anything of the previous call behind.
  const cases: [number, number, number, string][] = [
    [1700000000, 163000, 6, "1700000000.000163"],
    [1700000000, 999999999, 6, "1700000000.999999"],
    [1700000001, 5, 9, "1700000001.000000005"],
    [9, 100000000, 1, "9.1"],
    [10, 100000000, 1, "10.1"],
    [1700000001, 5000, 6, "1700000001.000005"],
    [-2, 500000000, 6, "-1.500000"],
    [1, 500000000, 6, "1.500000"],
    [1700000001, 0, 3, "1700000001.000"],
    [4294967295, 999999999, 9, "4294967295.999999999"],
    [0, 1, 9, "0.000000001"],
  ];
  for (let round = 0; round < 3; round++) {
    for (const [seconds, nanos, digits, text] of cases) {
      assert.equal(formatTime(seconds, nanos, digits), text);
    }
    cases.reverse();
  }
});

// ---------------------------------------------------------------------------------------------
// readRecordBatches.

async function tempFile(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "snout-capture-format-" });
  await Deno.writeFile(path, bytes);
  return path;
}

async function collect(
  source: string | ReadableStream<Uint8Array>,
): Promise<{ records: CaptureRecord[]; warnings: string[] }> {
  const warnings: string[] = [];
  const records: CaptureRecord[] = [];
  for await (const batch of readRecordBatches(source, { onWarning: (w) => warnings.push(w) })) {
    assert.ok(batch.length > 0);
    records.push(...batch);
  }
  return { records, warnings };
}

Deno.test("readRecordBatches() reads a pcapng file from a path", async () => {
  const path = await tempFile(pcapngFile(false));
  try {
    assert.deepEqual(await collect(path), { records: PCAPNG_EXPECTED, warnings: [] });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readRecordBatches() reads a stream in small chunks", async () => {
  const input = pcapFile({ le: true }, PCAP_RECORDS);
  const stream = ReadableStream.from(randomSplits(input, mulberry32(3)));
  assert.deepEqual(await collect(stream), {
    records: parseWhole(input),
    warnings: [],
  });
});

Deno.test("readRecordBatches() reports a cut-off file through onWarning", async () => {
  const input = pcapFile({ le: true }, PCAP_RECORDS);
  const lastAt = input.length - PCAP_RECORD_HEADER_LENGTH - 7;
  const path = await tempFile(input.subarray(0, input.length - 1));
  try {
    const { records, warnings } = await collect(path);
    assert.equal(records.length, 3);
    assert.deepEqual(warnings, [
      `Capture file is cut off: 22 bytes of a 23-byte record at offset ${lastAt}`,
    ]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readRecordBatches() yields the records before a corruption, then throws", async () => {
  const input = pcapFile({ le: true }, [
    { seconds: 1, fraction: 0, length: 10, data: payload(10, 0) },
    { seconds: 2, fraction: 0, length: 10, data: payload(10, 0), caplen: 0x7fffffff },
  ]);
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const batch of readRecordBatches(ReadableStream.from([input]))) {
      seen.push(...batch.map((r) => r.seconds));
    }
  }, CaptureFormatError);
  assert.deepEqual(seen, [1]);
});

Deno.test("readRecordBatches() rejects an empty file and a foreign file", async () => {
  const empty = await tempFile(new Uint8Array(0));
  const png = await tempFile(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  try {
    await assert.rejects(
      () => collect(empty),
      new CaptureFormatError("Not a capture file: the file is empty"),
    );
    await assert.rejects(
      () => collect(png),
      new CaptureFormatError("Not a capture file: unknown magic number 0x89504e47"),
    );
  } finally {
    await Deno.remove(empty);
    await Deno.remove(png);
  }
});

Deno.test("readRecordBatches() names a missing file in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snout-capture-format-" });
  const path = `${dir}/missing.pcap`;
  try {
    await assert.rejects(() => collect(path), (error: Error) => {
      assert.equal(
        error.message,
        `Cannot open capture file: No such file or directory (os error 2): ${path}`,
      );
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    });
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("readRecordBatches() reads a file larger than its read buffer", async () => {
  // 3 MiB of records of 1000 bytes: several reads, with records straddling their ends.
  const specs: PcapRecordSpec[] = Array.from({ length: 3200 }, (_, i) => ({
    seconds: i,
    fraction: i,
    length: 1000,
    data: payload(1000 - 16, i),
  }));
  const input = pcapFile({ le: true }, specs);
  const path = await tempFile(input);
  try {
    const { records, warnings } = await collect(path);
    assert.deepEqual(warnings, []);
    assert.deepEqual(records, parseWhole(input));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readRecords() yields one record at a time", async () => {
  const records = await Array.fromAsync(
    readRecords(ReadableStream.from([pcapngFile(true)])),
  );
  assert.deepEqual(records, PCAPNG_EXPECTED);
});

// ---------------------------------------------------------------------------------------------
// The shared tcpdump test captures, checked against tshark.

const SHARED_CAPTURES = "/work/shared/captures";
const TSHARK_CONCURRENCY = 4;

async function tsharkFields(path: string): Promise<string | null> {
  try {
    const { stdout, success } = await new Deno.Command("tshark", {
      args: [
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
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout) : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

Deno.test("readRecordBatches() agrees with tshark on the shared tcpdump captures", async (t) => {
  let names: string[];
  try {
    names = [...Deno.readDirSync(SHARED_CAPTURES)].map((entry) => entry.name)
      .filter((name) => /\.pcap(ng)?$/.test(name)).sort();
  } catch {
    console.log(`skipped: ${SHARED_CAPTURES} is missing`);
    return;
  }
  if ((await tsharkFields(`${SHARED_CAPTURES}/${names[0]}`)) === null) {
    console.log("skipped: tshark is not installed");
    return;
  }
  // tshark takes a few hundred milliseconds per file: run a few at a time.
  const expected = new Map<string, string | null>();
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      expected.set(name, await tsharkFields(`${SHARED_CAPTURES}/${name}`));
    }
  };
  await Promise.all(Array.from({ length: TSHARK_CONCURRENCY }, worker));
  for (const name of names) {
    await t.step(name, async () => {
      const { records, warnings } = await collect(`${SHARED_CAPTURES}/${name}`);
      assert.deepEqual(warnings, []);
      const ours = records.map((r) =>
        `${formatTime(r.seconds, r.nanos, 9)}\t${r.length}\t${r.data.length}\n`
      ).join("");
      assert.equal(ours, expected.get(name));
    });
  }
});

Deno.test("readRecordBatches() reads the shared captures' special cases", async () => {
  try {
    Deno.statSync(SHARED_CAPTURES);
  } catch {
    console.log(`skipped: ${SHARED_CAPTURES} is missing`);
    return;
  }
  const asan = (await collect(`${SHARED_CAPTURES}/icmp6_mobileprefix_asan.pcap`)).records;
  assert.deepEqual(asan.map((r) => [r.length, r.data.length]).at(-1), [0, 0]);
  const nano = (await collect(`${SHARED_CAPTURES}/tcp-handshake-nano.pcap`)).records;
  assert.deepEqual(nano.map((r) => [r.digits, r.linkType]), [[9, 113], [9, 113], [9, 113]]);
  const ng = (await collect(`${SHARED_CAPTURES}/icmpv6-length-zero.pcapng`)).records;
  assert.deepEqual(ng.map((r) => [r.linkType, r.interface]), [[1, 0]]);
});
