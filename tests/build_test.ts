/**
 * Building packets from records: every well-formed frame of the project's own recordings
 * (tests/testdata, see its README) re-encoded from its decode byte for byte; defaults that
 * reproduce the recorded lengths and checksums; each layer built from a minimal record, checked
 * field by field and by tshark; and the errors a wrong record meets.
 */

import assert from "node:assert/strict";
import { buildPacket, encodePacket, type LayerSpec, linkTypeOf } from "../parsers/build.ts";
import { BuildError } from "../parsers/build_fields.ts";
import { decodePacket } from "../parsers/decode.ts";
import type { PacketRecord } from "../parsers/types.ts";
import { formatJson } from "../format/json.ts";
import { FIXTURES, headerBytes, load } from "./fixtures.ts";
import { HAVE_TSHARK, tsharkChecksumsOf } from "./tshark_checksums.ts";

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_NULL = 0;
const LINKTYPE_LOOP = 108;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;
const MAC_A = "02:00:00:00:99:01";
const MAC_B = "02:00:00:00:99:02";
const IP4_A = "10.99.0.1";
const IP4_B = "10.99.0.2";
const IP6_A = "fd00:99::1";
const IP6_B = "fd00:99::2";

type Fields = Record<string, unknown>;

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every frame of every fixture, decoded, with its bytes. */
const decodedFixtures = await Promise.all(FIXTURES.map(async (name) => {
  const records = await load(name);
  return records.map((record, i) => ({
    where: `${name}#${i + 1}`,
    data: record.data,
    pkt: decodePacket(record.data, record.linkType),
  }));
}));
const fixtureFrames = decodedFixtures.flat();

function wellFormed(pkt: PacketRecord): boolean {
  return !pkt.truncated && pkt.error === undefined &&
    pkt.layers.every((layer) => !("partial" in layer));
}

Deno.test("encodePacket() gives back every well-formed frame of tests/testdata from its decode", () => {
  let count = 0;
  for (const { where, data, pkt } of fixtureFrames) {
    if (!wellFormed(pkt)) continue;
    const payload = data.subarray(headerBytes(pkt.layers));
    const again = encodePacket({ ...pkt, payload });
    assert.equal(hex(again), hex(data), where);
    count++;
  }
  // Every frame of the project's fixtures is whole.
  assert.equal(count, fixtureFrames.length);
});

Deno.test("encodePacket() gives back every frame from the --json line snout prints for it, payload as hex", () => {
  for (const { where, data, pkt } of fixtureFrames) {
    const line = JSON.parse(formatJson(pkt));
    line.payload = hex(data.subarray(headerBytes(pkt.layers)));
    assert.equal(hex(encodePacket(line)), hex(data), where);
  }
});

/** The fields a record may leave out because the encoder derives them, for this layer. */
function withoutDerived(
  layer: Fields,
  quoted: boolean,
  fragment: boolean,
  last: boolean,
): Fields {
  const copy: Fields = structuredClone(layer);
  delete copy.checksumValid;
  const validChecksum = layer.checksumValid === true;
  switch (layer.type) {
    case "ethernet":
    case "vlan":
      delete copy.etherType;
      break;
    case "sll":
    case "sll2":
      delete copy.protocol;
      break;
    case "arp":
      delete copy.hardwareSize;
      delete copy.protocolSize;
      break;
    case "ipv4":
      delete copy.headerLength;
      if (!last) delete copy.protocol;
      if (validChecksum) delete copy.checksum;
      if (!quoted) delete copy.totalLength;
      break;
    case "ipv6":
      if (!last) delete copy.nextHeader;
      if (!quoted) delete copy.payloadLength;
      copy.extensions = (copy.extensions as Fields[]).map((extension, i, all) => {
        const { nextHeader, length: _, ...rest } = extension;
        // The last extension's Next Header has nothing after it to come from.
        return last && i === all.length - 1 ? { ...rest, nextHeader } : rest;
      });
      if (last && (copy.extensions as Fields[]).length > 0) delete copy.nextHeader;
      break;
    case "tcp":
      delete copy.headerLength;
      delete copy.payloadLength;
      if (validChecksum && !quoted && !fragment) delete copy.checksum;
      break;
    case "udp":
      if (!quoted && !fragment) {
        delete copy.length;
        if (validChecksum) delete copy.checksum;
      }
      break;
    case "icmp":
    case "icmpv6":
      if (validChecksum) delete copy.checksum;
      copy.ndOptions = (copy.ndOptions as Fields[] | undefined)?.map(({ length: _, ...rest }) =>
        rest
      );
      if (copy.ndOptions === undefined) delete copy.ndOptions;
      break;
  }
  return copy;
}

Deno.test("buildPacket() defaults reproduce the recorded lengths, header lengths, next headers and checksums", () => {
  let count = 0;
  for (const { where, data, pkt } of fixtureFrames) {
    const layers = pkt.layers as unknown as Fields[];
    // Ethernet padding after the datagram would change the lengths derived from the frame's end.
    const outer = layers.find((l) => l.type === "ipv4" || l.type === "ipv6");
    const linkBytes = headerBytes(pkt.layers.slice(0, layers.indexOf(outer ?? layers[0]!)));
    const ipBytes = outer === undefined
      ? undefined
      : outer.type === "ipv4"
      ? outer.totalLength as number
      : 40 + (outer.payloadLength as number);
    if (ipBytes !== undefined && linkBytes + ipBytes !== data.length) continue;
    if (outer === undefined && layers.some((l) => l.type === "arp") && data.length !== 42) continue;
    const fragment = layers.some((l) =>
      (l.type === "ipv4" && (l.moreFragments === true || l.fragmentOffset !== 0)) ||
      (l.type === "ipv6" && (l.extensions as Fields[]).some((e) => e.type === "fragment"))
    );
    let quoted = false;
    const stripped = layers.map((layer, i) => {
      const result = withoutDerived(layer, quoted, fragment, i === layers.length - 1);
      if ((layer.type === "icmp" || layer.type === "icmpv6") && i < layers.length - 1) {
        quoted = true;
      }
      return result;
    }) as LayerSpec[];
    const payload = data.subarray(headerBytes(pkt.layers));
    const built = buildPacket(stripped, { payload });
    assert.equal(hex(built), hex(data), `${where}: ${JSON.stringify(stripped)}`);
    count++;
  }
  assert.ok(count >= 90, `only ${count} frames compared`);
});

// ---------------------------------------------------------------------------------------------
// Each layer from a minimal record

function decodeBuilt(layers: LayerSpec[], payload?: Uint8Array): PacketRecord {
  const bytes = buildPacket(layers, payload === undefined ? {} : { payload });
  return decodePacket(bytes, linkTypeOf(layers));
}

/** Asserts that `actual` has each of `expected`'s fields with its value. */
function assertFields(actual: unknown, expected: Fields, where = ""): void {
  const record = actual as Fields;
  const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
  assert.deepEqual(picked, expected, where);
}

const SYN_LAYERS: LayerSpec[] = [
  { type: "ethernet", dst: MAC_B, src: MAC_A },
  { type: "ipv4", src: IP4_A, dst: IP4_B },
  {
    type: "tcp",
    srcPort: 40000,
    dstPort: 8080,
    seq: 1000,
    options: [
      { kind: 2, mss: 1460 },
      { kind: 4 },
      { kind: 8, tsval: 123456, tsecr: 0 },
      { kind: 1 },
      { kind: 3, shift: 7 },
    ],
  },
];

Deno.test("buildPacket() fills an Ethernet/IPv4/TCP SYN's defaults, options in order, checksums valid", () => {
  const pkt = decodeBuilt(SYN_LAYERS);
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
  assert.equal(pkt.frame.length, 14 + 20 + 40);
  assert.deepEqual(pkt.layers[0], { type: "ethernet", dst: MAC_B, src: MAC_A, etherType: 0x0800 });
  assertFields(pkt.layers[1], {
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength: 60,
    id: 1,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    checksumValid: true,
    src: IP4_A,
    dst: IP4_B,
    options: [],
  });
  assertFields(pkt.layers[2], {
    srcPort: 40000,
    dstPort: 8080,
    seq: 1000,
    ack: 0,
    headerLength: 40,
    flags: 0x002,
    window: 65535,
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [
      { kind: 2, length: 4, mss: 1460 },
      { kind: 4, length: 2 },
      { kind: 8, length: 10, tsval: 123456, tsecr: 0 },
      { kind: 1 },
      { kind: 3, length: 3, shift: 7 },
    ],
  });
});

Deno.test("buildPacket() takes TCP flags as Scapy's letters and pads options with EOL bytes", () => {
  const pkt = decodeBuilt([
    { type: "ipv4", src: IP4_A, dst: IP4_B },
    {
      type: "tcp",
      srcPort: 1,
      dstPort: 2,
      flags: "SA",
      options: [{ kind: 2, mss: 1400 }, { kind: 1 }],
    },
  ], new TextEncoder().encode("hello"));
  assertFields(pkt.layers[1], {
    flags: 0x012,
    headerLength: 28,
    payloadLength: 5,
    checksumValid: true,
    options: [{ kind: 2, length: 4, mss: 1400 }, { kind: 1 }, { kind: 0 }, { kind: 0 }, {
      kind: 0,
    }],
  });
});

Deno.test("buildPacket() builds IPv4 options, padding them with zeros after the last", () => {
  const pkt = decodeBuilt([
    { type: "ethernet", dst: MAC_B, src: MAC_A },
    {
      type: "ipv4",
      src: IP4_A,
      dst: IP4_B,
      options: [{ type: 1 }, { type: 148, data: "0000" }, { type: 7, length: 7 }, { type: 0 }],
    },
    { type: "udp", srcPort: 5000, dstPort: 9999 },
  ], new Uint8Array([1, 2, 3]));
  assertFields(pkt.layers[1], {
    headerLength: 36,
    totalLength: 36 + 8 + 3,
    checksumValid: true,
    options: [
      { type: 1, length: 1 },
      { type: 148, length: 4, data: "0000" },
      { type: 7, length: 7, data: "0000000000" },
      { type: 0, length: 1 },
    ],
  });
  assertFields(pkt.layers[2], { length: 11, checksumValid: true });
});

Deno.test("buildPacket() builds an IPv6 UDP datagram with hop-by-hop, routing, destination options, AH", () => {
  const pkt = decodeBuilt([
    { type: "ethernet", dst: MAC_B, src: MAC_A },
    {
      type: "ipv6",
      src: IP6_A,
      dst: IP6_B,
      flowLabel: 0x12345,
      trafficClass: 0xb8,
      extensions: [
        { type: "hopByHop", options: [{ type: 5, data: "0000" }] },
        {
          type: "routing",
          routingType: 4,
          segmentsLeft: 1,
          data: "01000000" + "fd000099000000000000000000000007" +
            "fd000099000000000000000000000002",
        },
        { type: "destinationOptions", options: [{ type: 0x1e, data: "abcd" }] },
        { type: "ah", spi: 0x1000, data: "00000001" },
      ],
    },
    { type: "udp", srcPort: 5000, dstPort: 9999 },
  ], new TextEncoder().encode("snout"));
  const ip = pkt.layers[1] as unknown as Fields;
  assertFields(ip, {
    version: 6,
    trafficClass: 0xb8,
    flowLabel: 0x12345,
    payloadLength: 8 + 40 + 8 + 12 + 8 + 5,
    nextHeader: 0,
    hopLimit: 64,
  });
  assert.deepEqual(ip.extensions, [
    {
      type: "hopByHop",
      nextHeader: 43,
      length: 8,
      options: [{ type: 5, length: 4, data: "0000" }, { type: 1, length: 2, data: "" }],
    },
    {
      type: "routing",
      nextHeader: 60,
      length: 40,
      routingType: 4,
      segmentsLeft: 1,
      data: "01000000fd000099000000000000000000000007fd000099000000000000000000000002",
    },
    {
      type: "destinationOptions",
      nextHeader: 51,
      length: 8,
      options: [{ type: 0x1e, length: 4, data: "abcd" }, { type: 1, length: 2, data: "" }],
    },
    { type: "ah", nextHeader: 17, length: 12, spi: 0x1000, data: "00000001" },
  ]);
  // The checksum is over the final segment (fd00:99::7), which the decoder verifies too.
  assertFields(pkt.layers[2], { length: 13, checksumValid: true });
});

Deno.test("buildPacket() builds IPv4 and IPv6 fragments, and ESP with the payload after its SPI", () => {
  const v4 = decodeBuilt([
    { type: "ipv4", src: IP4_A, dst: IP4_B, id: 77, fragmentOffset: 1480, protocol: 17 },
  ], new Uint8Array(100));
  assertFields(v4.layers[0], { id: 77, fragmentOffset: 1480, totalLength: 120, protocol: 17 });
  const v6 = decodeBuilt([
    {
      type: "ipv6",
      src: IP6_A,
      dst: IP6_B,
      extensions: [{ type: "fragment", offset: 1448, moreFragments: true, id: 9, nextHeader: 17 }],
    },
  ], new Uint8Array(16));
  assert.deepEqual((v6.layers[0] as unknown as Fields).extensions, [
    { type: "fragment", nextHeader: 17, length: 8, offset: 1448, moreFragments: true, id: 9 },
  ]);
  const esp = decodeBuilt([
    { type: "ipv6", src: IP6_A, dst: IP6_B, extensions: [{ type: "esp", spi: 0xdeadbeef }] },
  ], new Uint8Array(12));
  assertFields(esp.layers[0], {
    nextHeader: 50,
    payloadLength: 16,
    extensions: [{ type: "esp", length: 16, spi: 0xdeadbeef }],
  });
});

Deno.test("buildPacket() builds ARP requests and replies, and VLAN tags, SLL, SLL2 and loopback headers", () => {
  const arp = decodeBuilt([
    { type: "ethernet", dst: "ff:ff:ff:ff:ff:ff", src: MAC_A },
    { type: "vlan", id: 42, pcp: 5 },
    { type: "vlan", tpid: 0x88a8, id: 7 },
    { type: "arp", senderMac: MAC_A, senderIp: IP4_A, targetIp: IP4_B },
  ]);
  assert.deepEqual(arp.layers, [
    { type: "ethernet", dst: "ff:ff:ff:ff:ff:ff", src: MAC_A, etherType: 0x8100 },
    { type: "vlan", tpid: 0x8100, pcp: 5, dei: 0, id: 42, etherType: 0x88a8 },
    { type: "vlan", tpid: 0x88a8, pcp: 0, dei: 0, id: 7, etherType: 0x0806 },
    {
      type: "arp",
      hardwareType: 1,
      protocolType: 0x0800,
      hardwareSize: 6,
      protocolSize: 4,
      opcode: 1,
      senderMac: MAC_A,
      senderIp: IP4_A,
      targetMac: "00:00:00:00:00:00",
      targetIp: IP4_B,
    },
  ]);
  const sll = decodeBuilt([
    { type: "sll", packetType: 4, address: MAC_A },
    { type: "ipv6", src: IP6_A, dst: IP6_B },
    { type: "icmpv6", messageType: 128, id: 1, seq: 2 },
  ]);
  assert.deepEqual(sll.layers[0], {
    type: "sll",
    packetType: 4,
    arphrdType: 1,
    address: MAC_A,
    protocol: 0x86dd,
  });
  assertFields(sll.layers[2], { id: 1, seq: 2, checksumValid: true });
  const sll2 = decodeBuilt([
    { type: "sll2", interfaceIndex: 3, arphrdType: 772, address: "00:00:00:00:00:00" },
    { type: "ipv4", src: "127.0.0.1", dst: "127.0.0.1" },
    { type: "icmp", messageType: 8, id: 5, seq: 6 },
  ]);
  assertFields(sll2.layers[0], { interfaceIndex: 3, arphrdType: 772, protocol: 0x0800 });
  for (const linkType of [LINKTYPE_NULL, LINKTYPE_LOOP]) {
    const layers: LayerSpec[] = [{ type: "loopback" }, {
      type: "ipv6",
      src: "::1",
      dst: "::1",
      nextHeader: 59,
    }];
    const bytes = buildPacket(layers, { linkType });
    assert.equal(linkTypeOf(layers, linkType), linkType);
    assert.deepEqual(decodePacket(bytes, linkType).layers[0], { type: "loopback", family: 24 });
  }
  assert.equal(linkTypeOf([{ type: "sll2" }]), LINKTYPE_LINUX_SLL2);
  assert.equal(linkTypeOf([{ type: "sll" }]), LINKTYPE_LINUX_SLL);
});

Deno.test("buildPacket() builds ICMP errors quoting a packet, and ICMPv6 neighbour discovery", () => {
  const quoted: LayerSpec[] = [
    { type: "ipv4", src: IP4_B, dst: IP4_A, totalLength: 1500, checksum: 0xbeef, id: 3 },
    { type: "udp", srcPort: 9, dstPort: 53, length: 1480, checksum: 0x1234 },
  ];
  const unreachable = decodeBuilt([
    { type: "ipv4", src: IP4_A, dst: IP4_B },
    { type: "icmp", messageType: 3, code: 4, restOfHeader: 1400 },
    ...quoted,
  ]);
  assert.deepEqual(unreachable.layers.map((l) => l.type), ["ipv4", "icmp", "ipv4", "udp"]);
  assertFields(unreachable.layers[1], { code: 4, restOfHeader: 1400, checksumValid: true });
  assertFields(unreachable.layers[2], {
    totalLength: 1500,
    checksum: 0xbeef,
    checksumValid: false,
  });
  assertFields(unreachable.layers[3], { length: 1480, checksum: 0x1234 });
  const advertisement = decodeBuilt([
    { type: "ethernet", dst: MAC_A, src: MAC_B },
    { type: "ipv6", src: IP6_B, dst: IP6_A, hopLimit: 255 },
    {
      type: "icmpv6",
      messageType: 136,
      restOfHeader: 0x60000000,
      target: IP6_B,
      ndOptions: [{ type: 2, data: "020000009902" }],
    },
  ]);
  assert.deepEqual(advertisement.layers[2], {
    type: "icmpv6",
    messageType: 136,
    code: 0,
    checksum: (advertisement.layers[2] as unknown as Fields).checksum,
    checksumValid: true,
    restOfHeader: 0x60000000,
    target: IP6_B,
    ndOptions: [{ type: 2, length: 8, data: "020000009902" }],
  });
  const router = decodeBuilt([
    { type: "ipv6", src: "fe80::1", dst: "ff02::1" },
    {
      type: "icmpv6",
      messageType: 134,
      restOfHeader: 0x40000708,
      reachableTime: 30000,
      ndOptions: [{ type: 5, data: "0000000005dc" }],
    },
  ]);
  assertFields(router.layers[1], {
    reachableTime: 30000,
    retransTimer: 0,
    checksumValid: true,
    ndOptions: [{ type: 5, length: 8, data: "0000000005dc" }],
  });
  const redirect = decodeBuilt([
    { type: "ipv6", src: "fe80::1", dst: "fe80::2" },
    { type: "icmpv6", messageType: 137, target: "fe80::3", destination: "fd00::9" },
  ]);
  assertFields(redirect.layers[1], { target: "fe80::3", destination: "fd00::9", ndOptions: [] });
});

Deno.test("buildPacket() writes a checksum given verbatim, so a bad one can be crafted", () => {
  const pkt = decodeBuilt([
    { type: "ipv4", src: IP4_A, dst: IP4_B, checksum: 0x1111 },
    { type: "udp", srcPort: 1, dstPort: 2, checksum: 0x2222 },
  ]);
  assertFields(pkt.layers[0], { checksum: 0x1111, checksumValid: false });
  assertFields(pkt.layers[1], { checksum: 0x2222, checksumValid: false });
  const none = decodeBuilt([
    { type: "ipv4", src: IP4_A, dst: IP4_B },
    { type: "udp", srcPort: 1, dstPort: 2, checksum: 0 },
  ]);
  assertFields(none.layers[1], { checksum: 0, checksumValid: null });
});

Deno.test("buildPacket() takes the payload as bytes, hex, {hex} or {text}", () => {
  const layers: LayerSpec[] = [
    { type: "ipv4", src: IP4_A, dst: IP4_B },
    { type: "udp", srcPort: 1, dstPort: 2 },
  ];
  const tail = (payload: Parameters<typeof buildPacket>[1]) =>
    hex(buildPacket(layers, payload).subarray(28));
  assert.equal(tail({ payload: new Uint8Array([0xc3, 0xa9]) }), "c3a9");
  assert.equal(tail({ payload: "C3A9" }), "c3a9");
  assert.equal(tail({ payload: { hex: "c3a9" } }), "c3a9");
  assert.equal(tail({ payload: { text: "é" } }), "c3a9");
  assert.equal(tail({}), "");
});

Deno.test("tshark calls every checksum good in packets built with defaults", {
  ignore: !HAVE_TSHARK,
}, async () => {
  const frames = [
    buildPacket(SYN_LAYERS),
    buildPacket([
      { type: "ethernet", dst: MAC_B, src: MAC_A },
      { type: "ipv4", src: IP4_A, dst: IP4_B, options: [{ type: 148, data: "0000" }] },
      { type: "udp", srcPort: 5000, dstPort: 9999 },
    ], { payload: { text: "odd length" } }),
    buildPacket([
      { type: "ethernet", dst: MAC_B, src: MAC_A },
      { type: "ipv4", src: IP4_A, dst: IP4_B },
      { type: "icmp", messageType: 8, id: 1, seq: 1 },
    ], { payload: "000102030405060708090a0b0c0d0e0f" }),
    buildPacket([
      { type: "ethernet", dst: MAC_B, src: MAC_A },
      {
        type: "ipv6",
        src: IP6_A,
        dst: IP6_B,
        extensions: [{ type: "hopByHop", options: [{ type: 5, data: "0000" }] }],
      },
      { type: "udp", srcPort: 5000, dstPort: 9999 },
    ], { payload: { text: "v6" } }),
    buildPacket([
      { type: "ethernet", dst: MAC_B, src: MAC_A },
      { type: "ipv6", src: IP6_A, dst: IP6_B },
      { type: "tcp", srcPort: 1, dstPort: 2, flags: "PA", ack: 5 },
    ], { payload: { text: "data" } }),
    buildPacket([
      { type: "ethernet", dst: MAC_B, src: MAC_A },
      { type: "ipv6", src: IP6_A, dst: IP6_B },
      { type: "icmpv6", messageType: 128, id: 9, seq: 9 },
    ], { payload: { text: "ping" } }),
  ];
  const verdicts = await tsharkChecksumsOf(frames, LINKTYPE_ETHERNET);
  assert.deepEqual(verdicts, [
    { ip: ["good"], tcp: ["good"] },
    { ip: ["good"], udp: ["good"] },
    { ip: ["good"], icmp: ["good"] },
    { udp: ["good"] },
    { tcp: ["good"] },
    { icmpv6: ["good"] },
  ]);
});

// ---------------------------------------------------------------------------------------------
// Errors

/** Asserts that building throws a BuildError whose message matches. */
function assertBuildError(build: () => unknown, pattern: RegExp): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof BuildError, String(error));
    assert.match(error.message, /^Cannot build packet: /);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n|\.$/);
    return true;
  });
}

Deno.test("buildPacket() refuses layers out of place, naming them and what may follow", () => {
  assertBuildError(() => buildPacket([]), /no layers/);
  assertBuildError(
    () => buildPacket([{ type: "tcp", srcPort: 1, dstPort: 2 }]),
    /layer 1 \(tcp\) cannot start a packet; start with ethernet/,
  );
  assertBuildError(
    () => buildPacket([{ type: "ethernet", src: MAC_A, dst: MAC_B }, { type: "tcp" }]),
    /layer 2 \(tcp\) cannot follow ethernet: after ethernet come vlan, arp, ipv4, ipv6/,
  );
  assertBuildError(
    () =>
      buildPacket([
        { type: "ipv4", src: IP4_A, dst: IP4_B },
        { type: "udp", srcPort: 1, dstPort: 2 },
        { type: "tcp", srcPort: 1, dstPort: 2 },
      ]),
    /layer 3 \(tcp\) cannot follow udp: nothing but the payload follows udp/,
  );
  assertBuildError(
    () =>
      buildPacket([
        { type: "ipv4", src: IP4_A, dst: IP4_B },
        { type: "icmp", messageType: 8 },
        { type: "ipv4", src: IP4_A, dst: IP4_B },
      ]),
    /cannot follow icmp type 8, which quotes no packet/,
  );
  assertBuildError(
    () => buildPacket([{ type: "ppp" } as unknown as LayerSpec]),
    /layer 1 \(ppp\) is not a layer I can build/,
  );
  assertBuildError(
    () =>
      buildPacket([
        { type: "ipv6", src: IP6_A, dst: IP6_B, extensions: [{ type: "esp" }] },
        { type: "udp", srcPort: 1, dstPort: 2 },
      ]),
    /extension 1 \(esp\): only the payload can follow esp/,
  );
});

Deno.test("buildPacket() names the layer and field of a value of the wrong type or range", () => {
  const ip = (fields: Fields) =>
    buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B, protocol: 59, ...fields }]);
  assertBuildError(
    () => ip({ ttl: 300 }),
    /layer 1 \(ipv4\): ttl must be a whole number from 0 to 255, not 300/,
  );
  assertBuildError(() => ip({ tll: 5 }), /layer 1 \(ipv4\): has no field "tll"/);
  assertBuildError(() => ip({ ttl: "64" }), /ttl must be a whole number from 0 to 255, not "64"/);
  assertBuildError(() => ip({ id: 1.5 }), /id must be a whole number from 0 to 65535, not 1.5/);
  assertBuildError(() => ip({ dontFragment: 1 }), /dontFragment must be true or false, not 1/);
  assertBuildError(
    () => ip({ src: "10.0.0.256" }),
    /src must be an IPv4 address like 10.0.0.1, not "10.0.0.256"/,
  );
  assertBuildError(
    () => ip({ fragmentOffset: 100 }),
    /fragmentOffset is in bytes and must be a multiple of 8/,
  );
  assertBuildError(
    () => ip({ headerLength: 22 }),
    /headerLength must be a multiple of 4 from 20 to 60, not 22/,
  );
  assertBuildError(
    () => ip({ headerLength: 20, options: [{ type: 148, data: "0000" }] }),
    /layer 1 \(ipv4\): its fields take 24 bytes, more than headerLength 20/,
  );
  assertBuildError(
    () => ip({ options: [{ type: 7 }] }),
    /layer 1 \(ipv4\) option 1: needs data \(hex\) or length/,
  );
  assertBuildError(
    () => ip({ options: [{ type: 7, data: "xyz" }] }),
    /option 1: data must be an even number of hex digits, not "xyz"/,
  );
  assertBuildError(() => ip({ options: "none" }), /options must be a list of objects, not "none"/);
  assertBuildError(
    () => buildPacket([{ type: "ethernet", src: "02:00:00:00:00", dst: MAC_B, etherType: 0x88b5 }]),
    /layer 1 \(ethernet\): src must be a MAC address like 02:00:00:00:00:01, not "02:00:00:00:00"/,
  );
  assertBuildError(
    () => buildPacket([{ type: "ipv6", src: "fd00::1%eth0", dst: IP6_B, nextHeader: 59 }]),
    /src must be an IPv6 address like fd00::1/,
  );
});

Deno.test("buildPacket() asks for what has no default, and refuses fields a layer does not have", () => {
  assertBuildError(
    () => buildPacket([{ type: "ipv4", dst: IP4_B, protocol: 17 }]),
    /layer 1 \(ipv4\): needs src/,
  );
  assertBuildError(
    () => buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }]),
    /layer 1 \(ipv4\): needs protocol: no layer follows it to take it from/,
  );
  assertBuildError(
    () => buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }, { type: "udp", srcPort: 1 }]),
    /layer 2 \(udp\): needs dstPort/,
  );
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }, {
        type: "udp",
        srcPort: 1,
        dstport: 2,
      }]),
    /layer 2 \(udp\): needs dstPort \(the record has dstport: names are case-sensitive\)/,
  );
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }, {
        type: "icmp",
        messageType: 3,
        id: 1,
      }]),
    /id and seq are only for echo and timestamp messages .*; type 3 carries restOfHeader/,
  );
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv6", src: IP6_A, dst: IP6_B }, {
        type: "icmpv6",
        messageType: 128,
        target: IP6_B,
      }]),
    /target is only for neighbour solicitation, advertisement and redirect/,
  );
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv6", src: IP6_A, dst: IP6_B }, { type: "icmpv6", messageType: 135 }]),
    /layer 2 \(icmpv6\): needs target/,
  );
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }, {
        type: "tcp",
        srcPort: 1,
        dstPort: 2,
        flags: "SX",
      }]),
    /flags must be a number or letters of FSRPAUECN, not "SX"/,
  );
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }, {
        type: "tcp",
        srcPort: 1,
        dstPort: 2,
        options: [{ kind: 2 }],
      }]),
    /layer 2 \(tcp\) option 1: needs mss/,
  );
});

Deno.test("buildPacket() refuses a datagram longer than its length field can say", () => {
  assertBuildError(
    () =>
      buildPacket([{ type: "ipv4", src: IP4_A, dst: IP4_B }, {
        type: "udp",
        srcPort: 1,
        dstPort: 2,
      }], {
        payload: new Uint8Array(70000),
      }),
    /layer 1 \(ipv4\): the datagram is 70028 bytes, more than an IPv4 total length can say \(65535\); send it as fragments/,
  );
});

Deno.test("encodePacket() refuses truncated records, decode errors, partial layers and bad payloads", () => {
  const { pkt } = fixtureFrames[0]!;
  assertBuildError(() => encodePacket({ ...pkt, truncated: true }), /the record is truncated/);
  assertBuildError(
    () => encodePacket({ ...pkt, error: { layer: "ipv4", reason: "bad", offset: 14 } }),
    /carries a decode error/,
  );
  assertBuildError(
    () => encodePacket({ layers: [{ type: "ethernet", partial: true, dst: MAC_A }] }),
    /layer 1 \(ethernet\) is partial \(cut short by the capture\): give the whole header/,
  );
  assertBuildError(
    () => encodePacket({ layers: pkt.layers, payload: "abc" }),
    /payload "abc" is not an even number of hex digits/,
  );
  assertBuildError(
    () => encodePacket({ layers: pkt.layers, payload: { base64: "AA==" } }),
    /payload .* is not one I can read/,
  );
  assertBuildError(
    () => encodePacket({ layers: pkt.layers, paylod: "00" }),
    /the record has no field "paylod"/,
  );
  assertBuildError(() => encodePacket({ payload: "00" }), /the record needs layers/);
  assertBuildError(() => encodePacket([] as unknown as Fields), /a record must be a JSON object/);
  const syn = fixtureFrames.find(({ where }) => where.startsWith("tcp_session"))!.data;
  const cut = syn.subarray(0, 20);
  assertBuildError(() => encodePacket(decodePacket(cut, LINKTYPE_ETHERNET)), /partial|truncated/);
  assert.equal(linkTypeOf([{ type: "ipv4" }]), LINKTYPE_RAW);
});
