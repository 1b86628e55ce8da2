/**
 * Property test: building then decoding is the identity. Records are generated at random over
 * every layer and option snout decodes (link headers and VLAN tags, ARP, IPv4 with options and
 * fragments, IPv6 with every extension header, TCP with every option kind, UDP, ICMP with quoted
 * packets, ICMPv6 with neighbour discovery), most fields given and the rest left to the defaults.
 * For each, the decode of the built bytes must carry every generated field unchanged, call every
 * computed checksum valid, and encode back to the same bytes.
 *
 * The seed is random and printed with every failure; set SNOUT_FUZZ_SEED (and grant
 * --allow-env=SNOUT_FUZZ_SEED) to replay one.
 */

import assert from "node:assert/strict";
import { buildPacket, encodePacket, type LayerSpec, linkTypeOf } from "../parsers/build.ts";
import { decodePacket } from "../parsers/decode.ts";
import { headerBytes } from "./fixtures.ts";
import { type Random, random, SEED } from "./seeded_random.ts";

const RECORDS = 4000;
const LINKTYPE_NULL = 0;
const LINKTYPE_LOOP = 108;
const VLAN_TPIDS = [0x8100, 0x88a8, 0x9100];
/** TCP option kinds the decoder knows: a generic option must use another kind. */
const KNOWN_TCP_KINDS = new Set([0, 1, 2, 3, 4, 5, 8]);
const ICMP_ECHO_TYPES = [0, 8, 13, 14];
const ICMP_ERROR_TYPES = [3, 4, 5, 11, 12];
const ICMP_OTHER_TYPES = [9, 10, 17, 18, 42];
const ICMPV6_ERROR_TYPES = [1, 2, 3, 4];
/** Upper-layer numbers the decoder does not follow, for IP packets with nothing after them. */
const OPAQUE_PROTOCOLS = [59, 89, 132, 200];

type Fields = Record<string, unknown>;

/** The generator's draws, on top of the seeded PRNG. */
class Draw {
  constructor(readonly rng: Random) {}
  int(below: number): number {
    return this.rng.int(below);
  }
  range(low: number, high: number): number {
    return low + this.rng.int(high - low + 1);
  }
  chance(p: number): boolean {
    return this.rng.int(1_000_000) < p * 1_000_000;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.rng.int(items.length)]!;
  }
  u16(): number {
    return this.rng.int(0x10000);
  }
  u32(): number {
    return this.rng.int(0x10000) * 0x10000 + this.rng.int(0x10000);
  }
  bytes(n: number): number[] {
    return Array.from({ length: n }, () => this.rng.int(256));
  }
  hex(n: number): string {
    return this.bytes(n).map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  colonHex(n: number): string {
    return this.bytes(n).map((b) => b.toString(16).padStart(2, "0")).join(":");
  }
  ipv4(): string {
    return this.bytes(4).join(".");
  }
  ipv6(): string {
    // Compressed on purpose now and then: the decoder answers with RFC 5952 text, so give that.
    const groups = Array.from({ length: 8 }, () => this.chance(0.3) ? 0 : this.u16());
    const bytes = new Uint8Array(16);
    groups.forEach((g, i) => new DataView(bytes.buffer).setUint16(i * 2, g));
    return rfc5952(groups);
  }
  /** Leaves a field out now and then, so that its default is exercised. */
  maybe<T>(value: T): T | undefined {
    return this.chance(0.3) ? undefined : value;
  }
}

/** RFC 5952 text of eight groups (longest zero run of two or more, first of equals, as `::`). */
function rfc5952(groups: number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best === 0 && bestLength === 5 && groups[5] === 0xffff) {
    return `::ffff:${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  const text = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (best < 0) return text(0, 8);
  return `${text(0, best)}::${text(best + bestLength, 8)}`;
}

/** Drops fields set to undefined, so that they are absent rather than undefined. */
function defined(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function ipv4Options(d: Draw): Fields[] {
  const options: Fields[] = [];
  let total = 0;
  for (let n = d.int(4); n > 0; n--) {
    const option: Fields = d.pick([
      () => ({ type: 1 }),
      () => ({ type: 148, data: d.hex(2) }),
      () => {
        const type = d.range(2, 255);
        const data = d.hex(d.int(9));
        return d.chance(0.5) ? { type, data } : { type, length: 2 + data.length / 2, data };
      },
    ])();
    const size = option.type === 1 ? 1 : 2 + (option.data as string).length / 2;
    if (total + size > 36) break;
    options.push(option);
    total += size;
  }
  if (total % 4 !== 0) options.push({ type: 0 }); // EOL, then the zero padding
  return options;
}

function ipv4(d: Draw, fragment: "none" | "first" | "later", protocol?: number): Fields {
  return defined({
    type: "ipv4",
    dscp: d.maybe(d.int(64)),
    ecn: d.maybe(d.int(4)),
    id: d.maybe(d.u16()),
    reservedFlag: d.maybe(d.chance(0.1)),
    dontFragment: fragment === "none" ? d.maybe(d.chance(0.5)) : false,
    moreFragments: fragment === "first" ? true : fragment === "later" ? d.chance(0.5) : undefined,
    fragmentOffset: fragment === "later" ? 8 * d.range(1, 8000) : undefined,
    ttl: d.maybe(d.int(256)),
    protocol,
    src: d.ipv4(),
    dst: d.ipv4(),
    options: d.chance(0.3) ? ipv4Options(d) : undefined,
  });
}

/** Hop-by-hop or destination options, with explicit padding to a multiple of 8. */
function tlvOptions(d: Draw): Fields[] {
  const options: Fields[] = [];
  let total = 2;
  for (let n = d.int(4); n > 0; n--) {
    const option: Fields = d.pick([
      () => ({ type: 0 }),
      () => ({ type: 1, data: "00".repeat(d.int(4)) }),
      () => ({ type: 5, data: d.hex(2) }),
      () => ({ type: d.range(2, 255), data: d.hex(d.int(7)) }),
    ])();
    options.push(option);
    total += option.type === 0 ? 1 : 2 + (option.data as string).length / 2;
  }
  const pad = (8 - total % 8) % 8;
  if (pad === 1) options.push({ type: 0 });
  else if (pad > 1) options.push({ type: 1, data: "00".repeat(pad - 2) });
  return options;
}

function ipv6Extensions(d: Draw, upper: boolean): { extensions: Fields[]; laterFragment: boolean } {
  const extensions: Fields[] = [];
  let laterFragment = false;
  for (let n = d.int(4); n > 0 && !laterFragment; n--) {
    const extension = d.pick([
      () => ({ type: "hopByHop", options: tlvOptions(d) }),
      () => ({ type: "destinationOptions", options: tlvOptions(d) }),
      () => ({
        type: "routing",
        routingType: d.pick([0, 2, 4, 3, 253]),
        segmentsLeft: d.int(4),
        data: d.hex(8 * d.range(2, 5) + 4), // room for one address: the checksum reads it
      }),
      () => ({ type: "ah", spi: d.u32(), data: d.hex(4 * d.int(5)) }),
      () => {
        const later = !upper && d.chance(0.5);
        laterFragment = later;
        return {
          type: "fragment",
          offset: later ? 8 * d.range(1, 8000) : 0,
          moreFragments: d.chance(0.5),
          id: d.u32(),
        };
      },
    ])();
    extensions.push(extension);
  }
  return { extensions, laterFragment };
}

function tcpOptions(d: Draw): Fields[] {
  const options: Fields[] = [];
  let total = 0;
  for (let n = d.int(6); n > 0; n--) {
    const option: Fields = d.pick([
      () => ({ kind: 1 }),
      () => ({ kind: 2, mss: d.u16() }),
      () => ({ kind: 3, shift: d.int(256) }),
      () => ({ kind: 4 }),
      () => ({
        kind: 5,
        blocks: Array.from({ length: d.range(1, 3) }, () => [d.u32(), d.u32()]),
      }),
      () => ({ kind: 8, tsval: d.u32(), tsecr: d.u32() }),
      () => {
        let kind = d.range(6, 255);
        while (KNOWN_TCP_KINDS.has(kind)) kind = d.range(6, 255);
        return { kind, data: d.hex(d.int(7)) };
      },
    ])();
    const size = option.kind === 1
      ? 1
      : option.kind === 2
      ? 4
      : option.kind === 3
      ? 3
      : option.kind === 4
      ? 2
      : option.kind === 5
      ? 2 + 8 * (option.blocks as unknown[]).length
      : option.kind === 8
      ? 10
      : 2 + (option.data as string).length / 2;
    if (total + size > 40) break;
    options.push(option);
    total += size;
  }
  while (total % 4 !== 0) {
    options.push({ kind: 0 }); // the decoder lists each padding byte as an EOL
    total++;
  }
  return options;
}

function tcp(d: Draw): Fields {
  return defined({
    type: "tcp",
    srcPort: d.u16(),
    dstPort: d.u16(),
    seq: d.maybe(d.u32()),
    ack: d.maybe(d.u32()),
    flags: d.maybe(d.int(0x1000)),
    window: d.maybe(d.u16()),
    urgentPointer: d.maybe(d.u16()),
    options: d.chance(0.6) ? tcpOptions(d) : undefined,
  });
}

function udp(d: Draw): Fields {
  return { type: "udp", srcPort: d.u16(), dstPort: d.u16() };
}

/** ND options whose data fills their 8-byte units exactly (padding would show in `data`). */
function ndOptions(d: Draw): Fields[] {
  return Array.from({ length: d.int(3) }, () => ({
    type: d.range(1, 255),
    data: d.hex(8 * d.int(3) + 6),
  }));
}

interface Generated {
  layers: Fields[];
  /** Whether a payload may follow; "esp": one of at least 4 bytes (ESP's sequence number). */
  payload: boolean | "esp";
}

function icmp(d: Draw, depth: number): Generated {
  const kind = d.int(3);
  if (kind === 0) {
    const messageType = d.pick(ICMP_ECHO_TYPES);
    return {
      layers: [
        defined({
          type: "icmp",
          messageType,
          code: d.maybe(d.int(256)),
          id: d.maybe(d.u16()),
          seq: d.maybe(d.u16()),
        }),
      ],
      payload: true,
    };
  }
  const messageType = d.pick(kind === 1 ? ICMP_ERROR_TYPES : ICMP_OTHER_TYPES);
  const layer = defined({
    type: "icmp",
    messageType,
    code: d.maybe(d.int(256)),
    restOfHeader: d.maybe(d.u32()),
  });
  // An error quotes what follows it: with no packet to quote, nothing may follow.
  if (kind === 2) return { layers: [layer], payload: true };
  if (depth > 0 || d.chance(0.3)) return { layers: [layer], payload: false };
  const inner = d.chance(0.5) ? udp(d) : tcp(d);
  return { layers: [layer, ipv4(d, "none"), inner], payload: true };
}

function icmpv6(d: Draw, depth: number): Generated {
  const code = d.maybe(d.int(256));
  switch (d.int(8)) {
    case 0:
      return {
        layers: [
          defined({
            type: "icmpv6",
            messageType: d.pick([128, 129]),
            code,
            id: d.maybe(d.u16()),
            seq: d.maybe(d.u16()),
          }),
        ],
        payload: true,
      };
    case 1:
      return {
        layers: [
          defined({
            type: "icmpv6",
            messageType: d.pick([135, 136]),
            code,
            restOfHeader: d.maybe(d.u32()),
            target: d.ipv6(),
            ndOptions: ndOptions(d),
          }),
        ],
        payload: false,
      };
    case 2:
      return {
        layers: [
          defined({
            type: "icmpv6",
            messageType: 133,
            code,
            restOfHeader: d.maybe(d.u32()),
            ndOptions: ndOptions(d),
          }),
        ],
        payload: false,
      };
    case 3:
      return {
        layers: [
          defined({
            type: "icmpv6",
            messageType: 134,
            code,
            restOfHeader: d.maybe(d.u32()),
            reachableTime: d.maybe(d.u32()),
            retransTimer: d.maybe(d.u32()),
            ndOptions: ndOptions(d),
          }),
        ],
        payload: false,
      };
    case 4:
      return {
        layers: [
          defined({
            type: "icmpv6",
            messageType: 137,
            code,
            restOfHeader: d.maybe(d.u32()),
            target: d.ipv6(),
            destination: d.ipv6(),
            ndOptions: ndOptions(d),
          }),
        ],
        payload: false,
      };
    case 5:
    case 6: {
      const layer = defined({
        type: "icmpv6",
        messageType: d.pick(ICMPV6_ERROR_TYPES),
        code,
        restOfHeader: d.maybe(d.u32()),
      });
      if (depth > 0 || d.chance(0.3)) return { layers: [layer], payload: false };
      const quoted = defined({
        type: "ipv6",
        src: d.ipv6(),
        dst: d.ipv6(),
        hopLimit: d.maybe(d.int(256)),
      });
      return { layers: [layer, quoted, d.chance(0.5) ? udp(d) : tcp(d)], payload: true };
    }
    default:
      return {
        layers: [
          defined({
            type: "icmpv6",
            messageType: d.range(150, 255),
            code,
            restOfHeader: d.maybe(d.u32()),
          }),
        ],
        payload: true,
      };
  }
}

/** An IPv4 or IPv6 packet and what it carries. */
function ipPacket(d: Draw, depth: number): Generated {
  const v6 = d.chance(0.5);
  const upper = d.int(5); // 0 tcp, 1 udp, 2 icmp, 3 nothing, 4 IP in IP
  const carries = upper !== 3 && !(upper === 4 && depth > 0);
  if (!v6) {
    const fragment = !carries
      ? d.pick(["none", "later"] as const)
      : d.chance(0.15)
      ? "first"
      : "none";
    const protocol = carries ? undefined : d.pick(OPAQUE_PROTOCOLS);
    const ip = ipv4(d, fragment, protocol);
    if (!carries) return { layers: [ip], payload: true };
    const inner = upper === 0
      ? { layers: [tcp(d)], payload: true }
      : upper === 1
      ? { layers: [udp(d)], payload: true }
      : upper === 2
      ? icmp(d, depth)
      : ipPacket(d, depth + 1);
    return { layers: [ip, ...inner.layers], payload: inner.payload };
  }
  const { extensions, laterFragment } = ipv6Extensions(d, carries);
  // The decoder stops at a later fragment, so nothing after it is walked.
  const esp = !carries && !laterFragment && d.chance(0.3);
  if (esp) extensions.push({ type: "esp", spi: d.u32() });
  const ip = defined({
    type: "ipv6",
    trafficClass: d.maybe(d.int(256)),
    flowLabel: d.maybe(d.int(0x100000)),
    hopLimit: d.maybe(d.int(256)),
    src: d.ipv6(),
    dst: d.ipv6(),
    extensions: extensions.length > 0 ? extensions : undefined,
  });
  if (!carries) {
    if (!esp) {
      if (extensions.length > 0) extensions.at(-1)!.nextHeader = d.pick(OPAQUE_PROTOCOLS);
      else ip.nextHeader = d.pick(OPAQUE_PROTOCOLS);
    }
    return { layers: [ip], payload: esp ? "esp" : true };
  }
  if (laterFragment) throw new Error("a later fragment cannot carry an upper layer");
  const inner = upper === 0
    ? { layers: [tcp(d)], payload: true }
    : upper === 1
    ? { layers: [udp(d)], payload: true }
    : upper === 2
    ? icmpv6(d, depth)
    : ipPacket(d, depth + 1);
  return { layers: [ip, ...inner.layers], payload: inner.payload };
}

function arp(d: Draw): Fields {
  const hardwareSize = d.pick([6, 6, d.int(17)]);
  const protocolSize = d.pick([4, 4, 16, d.int(17)]);
  const protocolAddress = () => protocolSize === 4 ? d.ipv4() : d.colonHex(protocolSize);
  return defined({
    type: "arp",
    hardwareType: d.maybe(d.u16()),
    protocolType: d.maybe(d.u16()),
    opcode: d.maybe(d.range(1, 4)),
    senderMac: d.colonHex(hardwareSize),
    senderIp: protocolAddress(),
    targetMac: d.maybe(d.colonHex(hardwareSize)),
    targetIp: protocolAddress(),
  });
}

/** A whole record: link layer, network layer and what it carries, and a payload. */
function generate(d: Draw): { layers: Fields[]; payload: number[]; linkType?: number } {
  const link = d.pick(["ethernet", "sll", "sll2", "loopback", "raw"]);
  const layers: Fields[] = [];
  let linkType: number | undefined;
  if (link === "ethernet") {
    layers.push({ type: "ethernet", dst: d.colonHex(6), src: d.colonHex(6) });
    for (let n = d.pick([0, 0, 1, 2]); n > 0; n--) {
      layers.push(defined({
        type: "vlan",
        tpid: d.pick(VLAN_TPIDS),
        pcp: d.maybe(d.int(8)),
        dei: d.maybe(d.int(2)),
        id: d.int(4096),
      }));
    }
  } else if (link === "sll" || link === "sll2") {
    layers.push(defined({
      type: link,
      packetType: d.maybe(d.int(5)),
      arphrdType: d.maybe(d.pick([1, 772, d.u16()])),
      address: d.maybe(d.colonHex(d.int(9))),
      interfaceIndex: link === "sll2" ? d.maybe(d.u32()) : undefined,
    }));
  } else if (link === "loopback") {
    layers.push({ type: "loopback" });
    linkType = d.pick([LINKTYPE_NULL, LINKTYPE_LOOP]);
  }
  const canArp = link !== "loopback" && link !== "raw";
  const network = canArp && d.chance(0.15) ? { layers: [arp(d)], payload: true } : ipPacket(d, 0);
  layers.push(...network.layers);
  const minimum = network.payload === "esp" ? 4 : 0;
  const payload = network.payload ? d.bytes(minimum + d.pick([0, d.int(64), d.int(1500)])) : [];
  return { layers, payload, ...(linkType === undefined ? {} : { linkType }) };
}

/** Asserts that `actual` holds every field of `given`, recursively (lists element by element). */
function assertHolds(actual: unknown, given: unknown, path: string): void {
  if (Array.isArray(given)) {
    assert.ok(Array.isArray(actual), `${path}: not a list`);
    assert.equal(actual.length, given.length, `${path}: length`);
    given.forEach((item, i) => assertHolds(actual[i], item, `${path}[${i}]`));
  } else if (typeof given === "object" && given !== null) {
    assert.ok(typeof actual === "object" && actual !== null, `${path}: not an object`);
    for (const [key, value] of Object.entries(given)) {
      assertHolds((actual as Fields)[key], value, `${path}.${key}`);
    }
  } else {
    assert.equal(actual, given, path);
  }
}

/** Every `checksumValid` in the decoded layers. */
function checksumVerdicts(layers: readonly unknown[]): unknown[] {
  return (layers as Fields[]).filter((l) => "checksumValid" in l).map((l) => l.checksumValid);
}

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test(`decodePacket(buildPacket(record)) holds every field of ${RECORDS} generated records, checksums valid, and encodes back to the same bytes`, () => {
  const d = new Draw(random(200));
  for (let n = 0; n < RECORDS; n++) {
    const record = generate(d);
    const what = () =>
      `seed ${SEED} (SNOUT_FUZZ_SEED=${SEED}), record ${n}: ${JSON.stringify(record)}`;
    let bytes: Uint8Array;
    try {
      bytes = buildPacket(record.layers as LayerSpec[], {
        payload: new Uint8Array(record.payload),
        ...(record.linkType === undefined ? {} : { linkType: record.linkType }),
      });
    } catch (error) {
      assert.fail(`buildPacket() threw ${error} for ${what()}`);
    }
    const linkType = linkTypeOf(record.layers as LayerSpec[], record.linkType);
    const pkt = decodePacket(bytes, linkType);
    try {
      assert.equal(pkt.truncated, false, "truncated");
      assert.equal(pkt.error, undefined, "error");
      assert.deepEqual(pkt.layers.map((l) => l.type), record.layers.map((l) => l.type));
      record.layers.forEach((layer, i) => assertHolds(pkt.layers[i], layer, `layer ${i + 1}`));
      assert.ok(checksumVerdicts(pkt.layers).every((v) => v === true), "a checksum is not valid");
      const payload = bytes.subarray(headerBytes(pkt.layers));
      assert.equal(hex(payload), hex(new Uint8Array(record.payload)), "payload");
      assert.equal(hex(encodePacket({ ...pkt, payload })), hex(bytes), "re-encoded");
    } catch (error) {
      assert.fail(`${(error as Error).message} for ${what()}: decoded ${JSON.stringify(pkt)}`);
    }
  }
});
