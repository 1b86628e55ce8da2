/**
 * Every truncated length of every header: each frame of each fixture in tests/testdata (see its
 * README) is cut at every length from 0 to its end, keeping its wire length, and the decode is
 * checked against the decode of the whole frame. A handful of cut points are then checked field by
 * field.
 */

import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { readRecords } from "../io/read_records.ts";
import type { CaptureRecord } from "../parsers/capture_format.ts";
import { decodePacket } from "../parsers/decode.ts";
import type { Layer, PacketRecord } from "../parsers/types.ts";
import { fixture } from "./helpers.ts";
import { FIXTURES, load, u16, u32 } from "./fixtures.ts";

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;
const IP = 14;
const L4 = IP + 20;
const L4V6 = IP + 40;

/**
 * For each layer type, each field and the number of header bytes it needs: a partial layer cut
 * after `n` bytes must carry exactly the fields needing at most `n`. (Bit fields of a 16-bit word
 * need the whole word, as tshark shows them.)
 */
const FIELD_ENDS: Record<string, Record<string, number>> = {
  ethernet: { dst: 6, src: 12 },
  vlan: { pcp: 2, dei: 2, id: 2 },
  arp: { hardwareType: 2, protocolType: 4, hardwareSize: 5, protocolSize: 6, opcode: 8 },
  sll: { packetType: 2, arphrdType: 4 },
  sll2: { protocol: 2, interfaceIndex: 8, arphrdType: 10, packetType: 11 },
  loopback: {},
  ipv4: {
    version: 1,
    headerLength: 1,
    dscp: 2,
    ecn: 2,
    totalLength: 4,
    id: 6,
    reservedFlag: 8,
    dontFragment: 8,
    moreFragments: 8,
    fragmentOffset: 8,
    ttl: 9,
    protocol: 10,
    checksum: 12,
    src: 16,
    dst: 20,
  },
  ipv6: {
    version: 1,
    trafficClass: 2,
    flowLabel: 4,
    payloadLength: 6,
    nextHeader: 7,
    hopLimit: 8,
    src: 24,
    dst: 40,
  },
  tcp: {
    srcPort: 2,
    dstPort: 4,
    seq: 8,
    ack: 12,
    headerLength: 13,
    flags: 14,
    window: 16,
    checksum: 18,
    urgentPointer: 20,
  },
  udp: { srcPort: 2, dstPort: 4, length: 6, checksum: 8 },
  icmp: { messageType: 1, code: 2, checksum: 4 },
  icmpv6: { messageType: 1, code: 2, checksum: 4 },
};

/** Fields that only some messages carry, and that a cut message may lack. */
const OPTIONAL_ICMP_FIELDS = new Set([
  "id",
  "seq",
  "restOfHeader",
  "target",
  "destination",
  "reachableTime",
  "retransTimer",
  "ndOptions",
]);

type Fields = Record<string, unknown>;

/** Bytes of header a layer spans before the next layer starts (Infinity: nothing follows). */
function headerSpan(layer: Fields): number {
  switch (layer.type) {
    case "ethernet":
      return 14;
    case "vlan":
    case "loopback":
      return 4;
    case "sll":
      return 16;
    case "sll2":
      return 20;
    case "ipv4":
      return layer.headerLength as number;
    case "ipv6":
      return 40 + (layer.extensions as { length: number }[]).reduce((n, e) => n + e.length, 0);
    case "icmp":
    case "icmpv6":
      return 8; // an error message's quoted packet follows
    default:
      return Infinity;
  }
}

/** The smallest number of bytes for which a layer is not partial. */
function minimumHeader(layer: Fields): number {
  switch (layer.type) {
    case "arp":
      return 8 + 2 * ((layer.hardwareSize as number) + (layer.protocolSize as number));
    case "ipv4":
    case "tcp":
      return 20;
    case "ipv6":
      return 40;
    case "udp":
      return 8;
    case "icmp":
    case "icmpv6":
      return 4;
    default:
      return headerSpan(layer);
  }
}

/**
 * A list cut short: all but its last element as in `whole`, the last one (the one the cut went
 * through) as in `whole` or as `lastMatches` allows.
 */
function assertCutList(
  cut: unknown,
  whole: unknown,
  lastMatches: (entry: Fields, wholeEntry: Fields) => boolean,
  where: string,
): void {
  assert.ok(Array.isArray(cut) && Array.isArray(whole), `${where}: lists`);
  assert.ok(cut.length <= whole.length, `${where}: ${cut.length} > ${whole.length} entries`);
  cut.forEach((entry: Fields, i: number) => {
    if (i < cut.length - 1 || isDeepStrictEqual(entry, whole[i])) return;
    assert.ok(lastMatches(entry, whole[i]), `${where}[${i}]: ${JSON.stringify(entry)}`);
  });
}

/** A cut TCP option keeps its kind; a cut IP or ND option its type. */
const sameKind = (entry: Fields, wholeEntry: Fields) => entry.kind === wholeEntry.kind;
const sameType = (entry: Fields, wholeEntry: Fields) => entry.type === wholeEntry.type;
/** A cut IPv6 extension header is listed by its type, next header and length only. */
const extensionHead = (entry: Fields, { type, nextHeader, length }: Fields) =>
  isDeepStrictEqual(entry, { type, nextHeader, length });

/** Checks a layer of a cut frame against the same layer of the whole frame. */
function assertCutLayer(
  cut: Fields,
  whole: Fields,
  available: number,
  last: boolean,
  where: string,
): void {
  assert.equal(cut.type, whole.type, `${where}: type`);
  const isPartial = "partial" in cut;
  assert.ok(!isPartial || last, `${where}: only the last layer may be partial`);
  assert.equal(
    isPartial,
    available < minimumHeader(whole),
    `${where}: partial at ${available} bytes`,
  );
  if (isPartial) {
    const ends = FIELD_ENDS[whole.type as string]!;
    const expected: Fields = { type: whole.type, partial: true };
    for (const [field, end] of Object.entries(ends)) {
      if (end <= available) expected[field] = whole[field];
    }
    if (whole.type === "vlan") expected.tpid = whole.tpid;
    assert.deepEqual(cut, expected, `${where}: the fields within ${available} bytes`);
    return;
  }
  for (const key of Object.keys(whole)) {
    const here = `${where}.${key}`;
    if (!(key in cut)) {
      assert.ok(OPTIONAL_ICMP_FIELDS.has(key) && last, `${here} is missing`);
      continue;
    }
    if (key === "checksumValid") {
      // Null where the bytes the checksum covers are not all captured.
      assert.ok(cut[key] === whole[key] || cut[key] === null, `${here}: ${cut[key]}`);
    } else if (!last) {
      assert.deepEqual(cut[key], whole[key], `${here} (a layer before the cut is whole)`);
    } else if (key === "options" && whole.type === "tcp") {
      assertCutList(cut[key], whole[key], sameKind, here);
    } else if (key === "options" || key === "ndOptions") {
      assertCutList(cut[key], whole[key], sameType, here);
    } else if (key === "extensions") {
      assertCutList(cut[key], whole[key], extensionHead, here);
    } else {
      assert.deepEqual(cut[key], whole[key], here);
    }
  }
  assert.deepEqual(Object.keys(cut).filter((key) => !(key in whole)), [], `${where}: extra keys`);
}

/** Cuts `data` after `n` bytes, keeping its wire length. */
function cutAt(data: Uint8Array, n: number, linkType: number): PacketRecord {
  return decodePacket(data.subarray(0, n), linkType, { length: data.length });
}

/** Every invariant of a frame cut at every length. */
function assertEveryCut(data: Uint8Array, linkType: number, where: string): void {
  const whole = decodePacket(data, linkType);
  assert.equal(whole.error, undefined, `${where}: the whole frame decodes without error`);
  const offsets: number[] = [];
  let offset = 0;
  for (const layer of whole.layers as unknown as Fields[]) {
    offsets.push(offset);
    offset += headerSpan(layer);
  }
  for (let n = 0; n <= data.length; n++) {
    const at = `${where} cut at ${n}`;
    const pkt = cutAt(data, n, linkType);
    assert.equal(pkt.truncated, n < data.length, `${at}: truncated`);
    assert.equal(pkt.error, undefined, `${at}: ${JSON.stringify(pkt.error)}`);
    assert.deepEqual(JSON.parse(JSON.stringify(pkt)), pkt, `${at}: JSON`);
    assert.deepEqual(pkt.frame, { ...whole.frame, captured: n }, `${at}: frame`);
    assert.ok(pkt.layers.length <= whole.layers.length, `${at}: more layers than whole`);
    pkt.layers.forEach((layer, i) => {
      assertCutLayer(
        layer as unknown as Fields,
        whole.layers[i] as unknown as Fields,
        n - offsets[i]!,
        i === pkt.layers.length - 1,
        `${at} layer ${i}`,
      );
    });
    if (n === data.length) assert.deepEqual(pkt, whole, `${at}: the whole frame`);
  }
}

for (const name of FIXTURES) {
  Deno.test(`decodePacket() decodes every frame of ${name} cut at every length without throwing, whole layers before the cut and exactly the fields that fit in the cut one`, async () => {
    let number = 0;
    for await (const record of readRecords(fixture(name))) {
      number++;
      assertEveryCut(record.data, record.linkType, `${name}#${number}`);
    }
    assert.ok(number > 0, `${name} has frames`);
  });
}

// ---------------------------------------------------------------------------------------------
// Chosen cut points, field by field

function first(records: CaptureRecord[], what: string, match: (d: Uint8Array) => boolean) {
  const record = records.find((r) => match(r.data));
  assert.ok(record !== undefined, `No frame in the fixture is ${what}`);
  return record.data;
}

const tcpSession = await load("tcp_session.pcap");
const syn = first(tcpSession, "the SYN", (d) => d[L4 + 13] === 0x02);
const wholeSyn = decodePacket(syn, LINKTYPE_ETHERNET);
const ipv6Ext = await load("ipv6_ext_headers.pcap");
const hopByHop = first(ipv6Ext, "the hop-by-hop packet", (d) => d[IP + 6] === 0);
const ping6 = await load("ping6_ndp.pcap");
const solicitation = first(ping6, "a neighbour solicitation", (d) => d[L4V6] === 135);
const arpPing = await load("arp_ping.pcap");
const echoRequest = first(arpPing, "an echo request", (d) => u16(d, 12) === 0x0800 && d[L4] === 8);
const arpRequest = first(arpPing, "an ARP request", (d) => u16(d, 12) === 0x0806);
const refused = await load("refused.pcap");
const unreachable = first(refused, "the port unreachable", (d) => d[IP + 9] === 1);

function layersAt(data: Uint8Array, n: number, linkType = LINKTYPE_ETHERNET): Layer[] {
  const pkt = cutAt(data, n, linkType);
  assert.equal(pkt.truncated, true);
  assert.equal(pkt.error, undefined);
  return pkt.layers;
}

Deno.test("decodePacket() lists an Ethernet header cut short with the addresses that fit", () => {
  assert.deepEqual(layersAt(syn, 0), [{ type: "ethernet", partial: true }]);
  assert.deepEqual(layersAt(syn, 6), [{
    type: "ethernet",
    partial: true,
    dst: "02:00:00:00:99:02",
  }]);
  assert.deepEqual(layersAt(syn, 13), [
    { type: "ethernet", partial: true, dst: "02:00:00:00:99:02", src: "02:00:00:00:99:01" },
  ]);
  assert.deepEqual(layersAt(syn, 14), [wholeSyn.layers[0], { type: "ipv4", partial: true }]);
});

Deno.test("decodePacket() lists an IPv4 header cut short with the fields that fit, as tshark does", () => {
  assert.deepEqual(layersAt(syn, IP + 1)[1], {
    type: "ipv4",
    partial: true,
    version: 4,
    headerLength: 20,
  });
  assert.deepEqual(layersAt(syn, IP + 8)[1], {
    type: "ipv4",
    partial: true,
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength: 60,
    id: u16(syn, IP + 4),
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
  });
  assert.deepEqual(layersAt(syn, IP + 19)[1], {
    type: "ipv4",
    partial: true,
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength: 60,
    id: u16(syn, IP + 4),
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    checksum: u16(syn, IP + 10),
    src: "10.99.0.1",
  });
  assert.deepEqual(layersAt(syn, L4), [...wholeSyn.layers.slice(0, 2), {
    type: "tcp",
    partial: true,
  }]);
});

Deno.test("decodePacket() lists a TCP header cut after 13 bytes with its header length but not its flags", () => {
  assert.deepEqual(layersAt(syn, L4 + 13)[2], {
    type: "tcp",
    partial: true,
    srcPort: u16(syn, L4),
    dstPort: 8080,
    seq: u32(syn, L4 + 4),
    ack: 0,
    headerLength: 40,
  });
  assert.equal((layersAt(syn, L4 + 14)[2] as { flags: number }).flags, 0x002);
});

Deno.test("decodePacket() lists TCP options cut short up to the cut, the cut one with the bytes there are", () => {
  const tcp = wholeSyn.layers[2] as { options: unknown[] };
  const cut = (n: number) => layersAt(syn, n)[2] as { options: unknown[]; checksumValid: unknown };
  assert.deepEqual(cut(L4 + 20).options, []);
  assert.deepEqual(cut(L4 + 22).options, [{ kind: 2, length: 4, data: "" }]);
  assert.deepEqual(cut(L4 + 23).options, [{ kind: 2, length: 4, data: "05" }]);
  assert.deepEqual(cut(L4 + 30).options, [
    tcp.options[0],
    tcp.options[1],
    { kind: 8, length: 10, data: hex(syn, L4 + 28, L4 + 30) },
  ]);
  assert.deepEqual(
    cut(L4 + 39).options,
    tcp.options.slice(0, 4).concat([{ kind: 3, length: 3, data: "" }]),
  );
  assert.equal(cut(L4 + 39).checksumValid, null);
});

function hex(data: Uint8Array, start: number, end: number): string {
  return Array.from(data.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("decodePacket() lists an IPv6 header cut after 24 bytes with its source but not its destination", () => {
  const ip = layersAt(solicitation, IP + 24)[1];
  assert.deepEqual(ip, {
    type: "ipv6",
    partial: true,
    version: 6,
    trafficClass: 0,
    flowLabel: 0,
    payloadLength: 32,
    nextHeader: 58,
    hopLimit: 255,
    src: "fd00:99::1",
  });
});

Deno.test("decodePacket() lists an IPv6 extension header cut short by its type, next header and length", () => {
  const whole = decodePacket(hopByHop, LINKTYPE_ETHERNET).layers[1] as { extensions: unknown[] };
  const extensions = (n: number) =>
    (layersAt(hopByHop, n)[1] as { extensions: unknown[] }).extensions;
  assert.deepEqual(extensions(L4V6 + 1), []);
  assert.deepEqual(extensions(L4V6 + 2), [{ type: "hopByHop", nextHeader: 60, length: 8 }]);
  assert.deepEqual(extensions(L4V6 + 15), [
    whole.extensions[0],
    { type: "destinationOptions", nextHeader: 17, length: 8 },
  ]);
  assert.equal(layersAt(hopByHop, L4V6 + 15).length, 2, "no upper layer after a cut extension");
  assert.deepEqual(layersAt(hopByHop, L4V6 + 16)[2], { type: "udp", partial: true });
});

Deno.test("decodePacket() lists a UDP header cut short with the ports that fit", () => {
  const n = L4V6 + 16 + 4;
  assert.deepEqual(layersAt(hopByHop, n)[2], {
    type: "udp",
    partial: true,
    srcPort: u16(hopByHop, L4V6 + 16),
    dstPort: 9999,
  });
});

Deno.test("decodePacket() lists an ICMP header cut short, and an echo cut inside its id without id or seq", () => {
  assert.deepEqual(layersAt(echoRequest, L4 + 2)[2], {
    type: "icmp",
    partial: true,
    messageType: 8,
    code: 0,
  });
  // A whole ICMP header (4 bytes) but not the 8 of an echo: the echo fields are left out.
  assert.deepEqual(layersAt(echoRequest, L4 + 6)[2], {
    type: "icmp",
    messageType: 8,
    code: 0,
    checksum: u16(echoRequest, L4 + 2),
    checksumValid: null,
  });
});

Deno.test("decodePacket() leaves the target out of a neighbour solicitation cut before its end", () => {
  assert.deepEqual(layersAt(solicitation, L4V6 + 20)[2], {
    type: "icmpv6",
    messageType: 135,
    code: 0,
    checksum: u16(solicitation, L4V6 + 2),
    checksumValid: null,
    restOfHeader: 0,
  });
  assert.deepEqual(layersAt(solicitation, L4V6 + 25)[2], {
    type: "icmpv6",
    messageType: 135,
    code: 0,
    checksum: u16(solicitation, L4V6 + 2),
    checksumValid: null,
    restOfHeader: 0,
    target: "fd00:99::2",
    ndOptions: [],
  });
});

Deno.test("decodePacket() lists an ARP packet cut short with the fixed fields that fit", () => {
  assert.deepEqual(layersAt(arpRequest, IP + 5)[1], {
    type: "arp",
    partial: true,
    hardwareType: 1,
    protocolType: 0x0800,
    hardwareSize: 6,
  });
  assert.deepEqual(layersAt(arpRequest, IP + 27)[1], {
    type: "arp",
    partial: true,
    hardwareType: 1,
    protocolType: 0x0800,
    hardwareSize: 6,
    protocolSize: 4,
    opcode: 1,
  });
});

Deno.test("decodePacket() lists the quoted packet of an ICMP error cut short as partial, and the ICMP unverified", () => {
  const layers = layersAt(unreachable, L4 + 8 + 10);
  assert.deepEqual(layers.map((layer) => layer.type), ["ethernet", "ipv4", "icmp", "ipv4"]);
  assert.equal((layers[2] as { checksumValid: unknown }).checksumValid, null);
  assert.deepEqual(layers[3], {
    type: "ipv4",
    partial: true,
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength: 60,
    id: u16(unreachable, L4 + 8 + 4),
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
  });
  assert.deepEqual(layersAt(unreachable, L4 + 8).map((layer) => layer.type), [
    "ethernet",
    "ipv4",
    "icmp",
  ]);
});

Deno.test("decodePacket() lists SLL and SLL2 headers cut short with the fields that fit", async () => {
  const sll = (await load("any_sll.pcap"))[0]!.data;
  assert.deepEqual(layersAt(sll, 3, LINKTYPE_LINUX_SLL), [
    { type: "sll", partial: true, packetType: u16(sll, 0) },
  ]);
  const sll2 = (await load("any_sll2.pcap"))[0]!.data;
  assert.deepEqual(layersAt(sll2, 10, LINKTYPE_LINUX_SLL2), [
    {
      type: "sll2",
      partial: true,
      protocol: u16(sll2, 0),
      interfaceIndex: u32(sll2, 4),
      arphrdType: u16(sll2, 8),
    },
  ]);
});

Deno.test("decodePacket() lists a VLAN tag cut short with its TPID and the TCI when it fits", () => {
  const tagged = new Uint8Array(syn.length + 4);
  tagged.set(syn.subarray(0, 12));
  tagged.set([0x81, 0x00, 0x20, 0x0a], 12);
  tagged.set(syn.subarray(12), 16);
  assertEveryCut(tagged, LINKTYPE_ETHERNET, "tagged SYN");
  assert.deepEqual(layersAt(tagged, 15)[1], { type: "vlan", partial: true, tpid: 0x8100 });
  assert.deepEqual(layersAt(tagged, 16)[1], {
    type: "vlan",
    partial: true,
    pcp: 1,
    dei: 0,
    id: 10,
    tpid: 0x8100,
  });
});

Deno.test("decodePacket() lists a loopback header cut short as partial, and a raw IP frame cut to nothing with no layers", () => {
  const loopback = new Uint8Array(4 + syn.length - IP);
  loopback.set([2, 0, 0, 0]);
  loopback.set(syn.subarray(IP), 4);
  assertEveryCut(loopback, LINKTYPE_NULL, "loopback SYN");
  assert.deepEqual(layersAt(loopback, 3, LINKTYPE_NULL), [{ type: "loopback", partial: true }]);
  const raw = syn.subarray(IP);
  assertEveryCut(raw, LINKTYPE_RAW, "raw SYN");
  assert.deepEqual(layersAt(raw, 0, LINKTYPE_RAW), []);
});
