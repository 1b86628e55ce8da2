/**
 * Link-layer decoding from the project's own recorded frames (tests/testdata, see its README):
 * Ethernet II, VLAN tags (inserted into a real frame, as no fixture has one), ARP, Linux cooked
 * v1 and v2, the lo capture, BSD loopback and raw-IP link types (made from real frames by swapping
 * the link header), and unsupported link types.
 *
 * Expected values were read from tshark (`tshark -r F -V -x`). Fields that change each time
 * tests/record_fixtures.sh runs (IPv4 ids and checksums, ICMP ids, ports, sequence numbers, flow
 * labels, checksums) are read from the frame's bytes at their RFC offsets; every other field is a
 * literal.
 */

import assert from "node:assert/strict";
import { decodeArp } from "../parsers/arp.ts";
import { decodePacket } from "../parsers/decode.ts";
import { decodeEthernet, decodeVlan } from "../parsers/ethernet.ts";
import { decodeLoopback } from "../parsers/loopback.ts";
import { decodeSll, decodeSll2 } from "../parsers/sll.ts";
import type { Layer, PacketRecord } from "../parsers/types.ts";
import { load, pick, u16 } from "./fixtures.ts";

const MAC_A = "02:00:00:00:99:01";
const MAC_B = "02:00:00:00:99:02";
const MAC_BROADCAST = "ff:ff:ff:ff:ff:ff";
const MAC_ZERO = "00:00:00:00:00:00";
const IP4_A = "10.99.0.1";
const IP4_B = "10.99.0.2";
const IP6_A = "fd00:99::1";
const IP6_B = "fd00:99::2";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_RARP = 0x8035;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERNET_LENGTH = 14;
const SLL_LENGTH = 16;
const SLL2_LENGTH = 20;
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;
const PACKET_HOST = 0;
const PACKET_OUTGOING = 4;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW_12 = 12;
const LINKTYPE_RAW_14 = 14;
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;

// ---------------------------------------------------------------------------------------------
// Fixture access

const arpPing = await load("arp_ping.pcap");
const ping6 = await load("ping6_ndp.pcap");
const anySll = await load("any_sll.pcap");
const anySll2 = await load("any_sll2.pcap");
const loTcp = await load("lo_tcp.pcap");
const tcp6 = await load("tcp6_session.pcap");

/** The bytes of the first record `match` accepts; fails naming `what` when none does. */
/** An Ethernet frame carrying ARP with this opcode. */
function ethernetArp(opcode: number): (data: Uint8Array) => boolean {
  return (d) => u16(d, 12) === ETHERTYPE_ARP && u16(d, ETHERNET_LENGTH + 6) === opcode;
}

/** A frame whose IPv4 header at `ip` carries this protocol, from `src` (last byte). */
function ipv4Carrying(ip: number, protocol: number, srcLastByte?: number) {
  return (d: Uint8Array) =>
    d[ip]! >> 4 === 4 && d[ip + 9] === protocol &&
    (srcLastByte === undefined || d[ip + 15] === srcLastByte);
}

/** A frame whose IPv6 header at `ip` carries ICMPv6 of this type. */
function icmpv6Type(ip: number, type: number) {
  return (d: Uint8Array) =>
    d[ip]! >> 4 === 6 && d[ip + 6] === IPPROTO_ICMPV6 && d[ip + 40] === type;
}

function decodeEthernetFrame(data: Uint8Array): PacketRecord {
  return decodePacket(data, LINKTYPE_ETHERNET);
}

/** `data` with `insert` placed at `offset`. */
function spliced(data: Uint8Array, offset: number, insert: number[]): Uint8Array {
  const out = new Uint8Array(data.length + insert.length);
  out.set(data.subarray(0, offset));
  out.set(insert, offset);
  out.set(data.subarray(offset), offset + insert.length);
  return out;
}

/** `data` with its first `strip` bytes replaced by `header`. */
function relinked(data: Uint8Array, strip: number, header: number[]): Uint8Array {
  const out = new Uint8Array(header.length + data.length - strip);
  out.set(header);
  out.set(data.subarray(strip), header.length);
  return out;
}

function frameInfo(length: number, linkType: number) {
  return { number: 1, time: "0.000000", length, captured: length, linkType };
}

// ---------------------------------------------------------------------------------------------
// Ethernet and ARP

Deno.test("decodePacket() decodes the broadcast Ethernet header and ARP request of a real frame", () => {
  const data = pick(arpPing, "an ARP request", ethernetArp(1));
  assert.deepEqual(decodeEthernetFrame(data), {
    frame: frameInfo(42, LINKTYPE_ETHERNET),
    layers: [
      { type: "ethernet", dst: MAC_BROADCAST, src: MAC_A, etherType: ETHERTYPE_ARP },
      {
        type: "arp",
        hardwareType: ARPHRD_ETHER,
        protocolType: ETHERTYPE_IPV4,
        hardwareSize: 6,
        protocolSize: 4,
        opcode: 1,
        senderMac: MAC_A,
        senderIp: IP4_A,
        targetMac: MAC_ZERO,
        targetIp: IP4_B,
      },
    ],
    truncated: false,
  });
});

Deno.test("decodePacket() decodes the unicast Ethernet header and ARP reply of a real frame", () => {
  const data = pick(arpPing, "an ARP reply", ethernetArp(2));
  assert.deepEqual(decodeEthernetFrame(data), {
    frame: frameInfo(42, LINKTYPE_ETHERNET),
    layers: [
      { type: "ethernet", dst: MAC_A, src: MAC_B, etherType: ETHERTYPE_ARP },
      {
        type: "arp",
        hardwareType: ARPHRD_ETHER,
        protocolType: ETHERTYPE_IPV4,
        hardwareSize: 6,
        protocolSize: 4,
        opcode: 2,
        senderMac: MAC_B,
        senderIp: IP4_B,
        targetMac: MAC_A,
        targetIp: IP4_A,
      },
    ],
    truncated: false,
  });
});

Deno.test("decodeEthernet() and decodeArp() read a frame placed at an offset inside a larger buffer", () => {
  const frame = pick(arpPing, "an ARP reply", ethernetArp(2));
  const buffer = new Uint8Array(frame.length + 10).fill(0xee);
  buffer.set(frame, 7);
  const view = new DataView(buffer.buffer);
  assert.deepEqual(decodeEthernet(view, 7, 7 + frame.length), {
    type: "ethernet",
    dst: MAC_A,
    src: MAC_B,
    etherType: ETHERTYPE_ARP,
  });
  const arp = decodeArp(view, 7 + ETHERNET_LENGTH, 7 + frame.length);
  assert.ok(!("partial" in arp) && arp.type === "arp");
  assert.equal(arp.senderIp, IP4_B);
  assert.equal(arp.targetMac, MAC_A);
});

Deno.test("decodePacket() passes the frame number, time and interface it is given through to the record", () => {
  const data = pick(arpPing, "an ARP request", ethernetArp(1));
  const pkt = decodePacket(data, LINKTYPE_ETHERNET, {
    number: 42,
    time: "1700000000.123456",
    length: 60,
    interface: 3,
  });
  assert.deepEqual(pkt.frame, {
    number: 42,
    time: "1700000000.123456",
    length: 60,
    captured: 42,
    linkType: LINKTYPE_ETHERNET,
    interface: 3,
  });
  assert.equal(pkt.truncated, true);
});

Deno.test("decodePacket() decodes a RARP EtherType as an ARP layer with its opcode", () => {
  const data = pick(arpPing, "an ARP request", ethernetArp(1)).slice();
  new DataView(data.buffer).setUint16(12, ETHERTYPE_RARP);
  new DataView(data.buffer).setUint16(ETHERNET_LENGTH + 6, 3);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[0], {
    type: "ethernet",
    dst: MAC_BROADCAST,
    src: MAC_A,
    etherType: ETHERTYPE_RARP,
  });
  assert.equal(pkt.layers[1]?.type, "arp");
  assert.equal((pkt.layers[1] as { opcode: number }).opcode, 3);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodePacket() stops after an 802.3 header whose EtherType field is a length, without error", () => {
  const data = pick(arpPing, "an ARP request", ethernetArp(1)).slice();
  new DataView(data.buffer).setUint16(12, 28);
  assert.deepEqual(decodeEthernetFrame(data), {
    frame: frameInfo(42, LINKTYPE_ETHERNET),
    layers: [{ type: "ethernet", dst: MAC_BROADCAST, src: MAC_A, etherType: 28 }],
    truncated: false,
  });
});

Deno.test("decodePacket() lists an ARP with hardware size 14 as a partial layer of its fixed fields", () => {
  // 8 + 2 * (14 + 4) = 44 bytes of ARP are promised; the frame holds 28.
  const data = pick(arpPing, "an ARP request", ethernetArp(1)).slice();
  data[ETHERNET_LENGTH + 4] = 14;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[1], {
    type: "arp",
    partial: true,
    hardwareType: ARPHRD_ETHER,
    protocolType: ETHERTYPE_IPV4,
    hardwareSize: 14,
    protocolSize: 4,
    opcode: 1,
  });
  assert.equal(pkt.truncated, true);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodeArp() writes addresses of other sizes as colon-separated hex", () => {
  // A made-up ARP: 2-byte hardware and 2-byte protocol addresses.
  const bytes = new Uint8Array([0, 6, 0x12, 0x34, 2, 2, 0, 1, 0xaa, 0xbb, 0x01, 0x02, 0, 0, 3, 4]);
  assert.deepEqual(decodeArp(new DataView(bytes.buffer), 0, bytes.length), {
    type: "arp",
    hardwareType: 6,
    protocolType: 0x1234,
    hardwareSize: 2,
    protocolSize: 2,
    opcode: 1,
    senderMac: "aa:bb",
    senderIp: "01:02",
    targetMac: "00:00",
    targetIp: "03:04",
  });
});

// ---------------------------------------------------------------------------------------------
// VLAN tags, inserted into a real frame after the source MAC

Deno.test("decodePacket() decodes an 802.1Q tag inserted into a real frame and the packet inside it", () => {
  const untagged = pick(arpPing, "an ICMP echo request", ipv4Carrying(14, IPPROTO_ICMP, 1));
  // TCI 0xb064: priority 5, DEI 1, VLAN 100.
  const tagged = spliced(untagged, 12, [0x81, 0x00, 0xb0, 0x64]);
  const inner = decodeEthernetFrame(untagged).layers.slice(1);
  assert.deepEqual(decodeEthernetFrame(tagged), {
    frame: frameInfo(untagged.length + 4, LINKTYPE_ETHERNET),
    layers: [
      { type: "ethernet", dst: MAC_B, src: MAC_A, etherType: ETHERTYPE_VLAN },
      { type: "vlan", tpid: ETHERTYPE_VLAN, pcp: 5, dei: 1, id: 100, etherType: ETHERTYPE_IPV4 },
      ...inner,
    ],
    truncated: false,
  });
  assert.deepEqual(inner.map((layer) => layer.type), ["ipv4", "icmp"]);
});

Deno.test("decodePacket() decodes 802.1ad and 802.1Q tags stacked on a real frame, outer tag first", () => {
  const untagged = pick(ping6, "an ICMPv6 echo request", icmpv6Type(14, 128));
  const tagged = spliced(untagged, 12, [0x88, 0xa8, 0x0f, 0xff, 0x81, 0x00, 0x20, 0x07]);
  const pkt = decodeEthernetFrame(tagged);
  assert.deepEqual(pkt.layers.slice(0, 3), [
    { type: "ethernet", dst: MAC_B, src: MAC_A, etherType: ETHERTYPE_QINQ },
    { type: "vlan", tpid: ETHERTYPE_QINQ, pcp: 0, dei: 0, id: 4095, etherType: ETHERTYPE_VLAN },
    { type: "vlan", tpid: ETHERTYPE_VLAN, pcp: 1, dei: 0, id: 7, etherType: ETHERTYPE_IPV6 },
  ]);
  assert.deepEqual(pkt.layers.slice(3), decodeEthernetFrame(untagged).layers.slice(1));
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodeVlan() reports the TPID that announced the tag, including the old 0x9100", () => {
  const view = new DataView(new Uint8Array([0xff, 0xff, 0x86, 0xdd]).buffer);
  assert.deepEqual(decodeVlan(view, 0, 4, 0x9100), {
    type: "vlan",
    tpid: 0x9100,
    pcp: 7,
    dei: 1,
    id: 4095,
    etherType: ETHERTYPE_IPV6,
  });
});

// ---------------------------------------------------------------------------------------------
// Linux cooked captures (tcpdump -i any)

const sllArpRequest = pick(
  anySll,
  "an outgoing ARP request",
  (d) => u16(d, 14) === ETHERTYPE_ARP && u16(d, SLL_LENGTH + 6) === 1,
);
const sll2ArpReply = pick(
  anySll2,
  "an incoming ARP reply",
  (d) => u16(d, 0) === ETHERTYPE_ARP && u16(d, SLL2_LENGTH + 6) === 2,
);

Deno.test("decodePacket() decodes an SLL header of an outgoing ARP request on the veth", () => {
  const pkt = decodePacket(sllArpRequest, LINKTYPE_LINUX_SLL);
  assert.deepEqual(pkt.layers[0], {
    type: "sll",
    packetType: PACKET_OUTGOING,
    arphrdType: ARPHRD_ETHER,
    address: MAC_A,
    protocol: ETHERTYPE_ARP,
  });
  assert.deepEqual(pkt.layers[1], {
    type: "arp",
    hardwareType: ARPHRD_ETHER,
    protocolType: ETHERTYPE_IPV4,
    hardwareSize: 6,
    protocolSize: 4,
    opcode: 1,
    senderMac: MAC_A,
    senderIp: IP4_A,
    targetMac: MAC_ZERO,
    targetIp: IP4_B,
  });
  assert.equal(pkt.layers.length, 2);
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() decodes an SLL header of an incoming loopback packet with a zero address", () => {
  const data = pick(
    anySll,
    "an echo request on lo",
    (d) => u16(d, 2) === ARPHRD_LOOPBACK && d[SLL_LENGTH + 20] === 8,
  );
  const pkt = decodePacket(data, LINKTYPE_LINUX_SLL);
  assert.deepEqual(pkt.layers[0], {
    type: "sll",
    packetType: PACKET_HOST,
    arphrdType: ARPHRD_LOOPBACK,
    address: MAC_ZERO,
    protocol: ETHERTYPE_IPV4,
  });
  assert.deepEqual(pkt.layers.slice(1).map((layer) => layer.type), ["ipv4", "icmp"]);
  const ip = pkt.layers[1] as { src: string; dst: string; checksumValid: boolean };
  assert.deepEqual([ip.src, ip.dst, ip.checksumValid], ["127.0.0.1", "127.0.0.1", true]);
});

Deno.test("decodePacket() decodes an SLL header carrying an IPv6 neighbour solicitation", () => {
  const data = pick(anySll, "a neighbour solicitation", icmpv6Type(SLL_LENGTH, 135));
  const pkt = decodePacket(data, LINKTYPE_LINUX_SLL);
  assert.deepEqual(pkt.layers[0], {
    type: "sll",
    packetType: PACKET_OUTGOING,
    arphrdType: ARPHRD_ETHER,
    address: MAC_A,
    protocol: ETHERTYPE_IPV6,
  });
  assert.deepEqual(pkt.layers.slice(1).map((layer) => layer.type), ["ipv6", "icmpv6"]);
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() decodes an SLL2 header with its interface index and an incoming ARP reply", () => {
  const pkt = decodePacket(sll2ArpReply, LINKTYPE_LINUX_SLL2);
  assert.deepEqual(pkt, {
    frame: frameInfo(48, LINKTYPE_LINUX_SLL2),
    layers: [
      {
        type: "sll2",
        packetType: PACKET_HOST,
        arphrdType: ARPHRD_ETHER,
        address: MAC_B,
        protocol: ETHERTYPE_ARP,
        interfaceIndex: 2,
      },
      {
        type: "arp",
        hardwareType: ARPHRD_ETHER,
        protocolType: ETHERTYPE_IPV4,
        hardwareSize: 6,
        protocolSize: 4,
        opcode: 2,
        senderMac: MAC_B,
        senderIp: IP4_B,
        targetMac: MAC_A,
        targetIp: IP4_A,
      },
    ],
    truncated: false,
  });
});

Deno.test("decodePacket() decodes an SLL2 header of lo (interface 1, ARPHRD_LOOPBACK)", () => {
  const data = pick(
    anySll2,
    "an echo reply on lo",
    (d) => u16(d, 8) === ARPHRD_LOOPBACK && d[SLL2_LENGTH + 20] === 0,
  );
  const pkt = decodePacket(data, LINKTYPE_LINUX_SLL2);
  assert.deepEqual(pkt.layers[0], {
    type: "sll2",
    packetType: PACKET_HOST,
    arphrdType: ARPHRD_LOOPBACK,
    address: MAC_ZERO,
    protocol: ETHERTYPE_IPV4,
    interfaceIndex: 1,
  });
  assert.deepEqual(pkt.layers.slice(1).map((layer) => layer.type), ["ipv4", "icmp"]);
});

Deno.test("decodePacket() decodes an SLL2 header of an outgoing IPv6 echo request", () => {
  const data = pick(anySll2, "an ICMPv6 echo request", icmpv6Type(SLL2_LENGTH, 128));
  const pkt = decodePacket(data, LINKTYPE_LINUX_SLL2);
  assert.deepEqual(pkt.layers[0], {
    type: "sll2",
    packetType: PACKET_OUTGOING,
    arphrdType: ARPHRD_ETHER,
    address: MAC_A,
    protocol: ETHERTYPE_IPV6,
    interfaceIndex: 2,
  });
  const ip = pkt.layers[1] as { src: string; dst: string };
  assert.deepEqual([ip.src, ip.dst], [IP6_A, IP6_B]);
});

Deno.test("decodeSll() and decodeSll2() write a link-layer address that is not 6 bytes as hex, at most 8 bytes", () => {
  const sll = new Uint8Array(16);
  sll.set([0, 3, 0, 0xff, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 0x08, 0x00]);
  assert.deepEqual(decodeSll(new DataView(sll.buffer), 0, 16), {
    type: "sll",
    packetType: 3,
    arphrdType: 0xff,
    address: "01:02:03:04:05:06:07:08",
    protocol: ETHERTYPE_IPV4,
  });
  const sll2 = new Uint8Array(20);
  sll2.set([0x86, 0xdd, 0, 0, 0, 0, 1, 0, 0, 1, 2, 4, 0xa, 0xb, 0xc, 0xd]);
  assert.deepEqual(decodeSll2(new DataView(sll2.buffer), 0, 20), {
    type: "sll2",
    packetType: 2,
    arphrdType: 1,
    address: "0a:0b:0c:0d",
    protocol: ETHERTYPE_IPV6,
    interfaceIndex: 256,
  });
});

// ---------------------------------------------------------------------------------------------
// Loopback: the lo capture, and BSD loopback link types made from it

const loSyn = pick(loTcp, "the SYN", (d) => d[ETHERNET_LENGTH + 20 + 13] === 0x02);

Deno.test("decodePacket() decodes a lo capture: Ethernet with zero MACs, IPv4 127.0.0.1 and TCP", () => {
  const pkt = decodeEthernetFrame(loSyn);
  assert.deepEqual(pkt.layers[0], {
    type: "ethernet",
    dst: MAC_ZERO,
    src: MAC_ZERO,
    etherType: ETHERTYPE_IPV4,
  });
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv4", "tcp"]);
  const ip = pkt.layers[1] as { src: string; dst: string; checksumValid: boolean };
  assert.deepEqual([ip.src, ip.dst, ip.checksumValid], ["127.0.0.1", "127.0.0.1", true]);
  const tcp = pkt.layers[2] as { dstPort: number; options: unknown[]; checksumValid: boolean };
  assert.equal(tcp.dstPort, 8081);
  assert.deepEqual(tcp.options[0], { kind: 2, length: 4, mss: 65495 });
  // lo leaves TCP checksums partial (CHECKSUM_PARTIAL: only the pseudo-header sum is filled in);
  // tshark with tcp.check_checksum:TRUE reports every one of them bad too.
  assert.equal(tcp.checksumValid, false);
  assert.equal(pkt.truncated, false);
});

/** The layers after the link layer, as an Ethernet decode of `frame` gives them. */
function networkLayers(frame: Uint8Array): Layer[] {
  return decodeEthernetFrame(frame).layers.slice(1);
}

Deno.test("decodePacket() decodes LINKTYPE_NULL with AF_INET in either byte order", () => {
  for (const family of [[2, 0, 0, 0], [0, 0, 0, 2]]) {
    const data = relinked(loSyn, ETHERNET_LENGTH, family);
    assert.deepEqual(decodePacket(data, LINKTYPE_NULL), {
      frame: frameInfo(data.length, LINKTYPE_NULL),
      layers: [{ type: "loopback", family: 2 }, ...networkLayers(loSyn)],
      truncated: false,
    }, `family bytes ${family}`);
  }
});

Deno.test("decodePacket() decodes LINKTYPE_NULL with every BSD AF_INET6 value as IPv6", () => {
  const frame = pick(tcp6, "the SYN", (d) => d[ETHERNET_LENGTH + 40 + 13] === 0x02);
  for (const family of [10, 24, 28, 30]) {
    const data = relinked(frame, ETHERNET_LENGTH, [family, 0, 0, 0]);
    const pkt = decodePacket(data, LINKTYPE_NULL);
    assert.deepEqual(pkt.layers, [{ type: "loopback", family }, ...networkLayers(frame)]);
    assert.equal((pkt.layers[2] as { checksumValid: boolean }).checksumValid, true);
  }
});

Deno.test("decodePacket() decodes LINKTYPE_LOOP in network byte order only", () => {
  const data = relinked(loSyn, ETHERNET_LENGTH, [0, 0, 0, 2]);
  assert.deepEqual(decodePacket(data, LINKTYPE_LOOP).layers, [
    { type: "loopback", family: 2 },
    ...networkLayers(loSyn),
  ]);
  const swapped = relinked(loSyn, ETHERNET_LENGTH, [2, 0, 0, 0]);
  assert.deepEqual(decodePacket(swapped, LINKTYPE_LOOP), {
    frame: frameInfo(swapped.length, LINKTYPE_LOOP),
    layers: [{ type: "loopback", family: 0x02000000 }],
    truncated: false,
  });
});

Deno.test("decodeLoopback() guesses the byte order of LINKTYPE_NULL from the low 16 bits", () => {
  const view = new DataView(new Uint8Array([0x1e, 0, 0, 0, 0, 0, 0, 0x1e]).buffer);
  assert.deepEqual(decodeLoopback(view, 0, 8, true), { type: "loopback", family: 30 });
  assert.deepEqual(decodeLoopback(view, 4, 8, true), { type: "loopback", family: 30 });
  assert.deepEqual(decodeLoopback(view, 4, 8, false), { type: "loopback", family: 30 });
});

// ---------------------------------------------------------------------------------------------
// Raw IP link types and unsupported ones

const ip4Echo = pick(arpPing, "an ICMP echo request", ipv4Carrying(14, IPPROTO_ICMP, 1));
const ip6Echo = pick(ping6, "an ICMPv6 echo request", icmpv6Type(14, 128));

Deno.test("decodePacket() takes the IP version from the packet for the raw link types 12, 14 and 101", () => {
  for (const linkType of [LINKTYPE_RAW_12, LINKTYPE_RAW_14, LINKTYPE_RAW]) {
    for (const frame of [ip4Echo, ip6Echo]) {
      const data = frame.subarray(ETHERNET_LENGTH);
      assert.deepEqual(decodePacket(data, linkType), {
        frame: frameInfo(data.length, linkType),
        layers: networkLayers(frame),
        truncated: false,
      }, `link type ${linkType}`);
    }
  }
});

Deno.test("decodePacket() decodes LINKTYPE_IPV4 and LINKTYPE_IPV6 carrying their own version without error", () => {
  const v4 = decodePacket(ip4Echo.subarray(ETHERNET_LENGTH), LINKTYPE_IPV4);
  assert.deepEqual(v4.layers, networkLayers(ip4Echo));
  assert.equal(v4.error, undefined);
  const v6 = decodePacket(ip6Echo.subarray(ETHERNET_LENGTH), LINKTYPE_IPV6);
  assert.deepEqual(v6.layers, networkLayers(ip6Echo));
  assert.equal(v6.error, undefined);
});

Deno.test("decodePacket() decodes an IPv6 packet under LINKTYPE_IPV4 as IPv6 and reports the link mismatch", () => {
  const data = ip6Echo.subarray(ETHERNET_LENGTH);
  assert.deepEqual(decodePacket(data, LINKTYPE_IPV4), {
    frame: frameInfo(data.length, LINKTYPE_IPV4),
    layers: networkLayers(ip6Echo),
    truncated: false,
    error: {
      layer: "link",
      reason: "link type IPV4 (Raw IPv4) carries an IPv6 packet; decoded as IPv6",
      offset: 0,
    },
  });
});

Deno.test("decodePacket() decodes an IPv4 packet under LINKTYPE_IPV6 as IPv4 and reports the link mismatch", () => {
  const data = ip4Echo.subarray(ETHERNET_LENGTH);
  const pkt = decodePacket(data, LINKTYPE_IPV6);
  assert.deepEqual(pkt.layers, networkLayers(ip4Echo));
  assert.deepEqual(pkt.error, {
    layer: "link",
    reason: "link type IPV6 (Raw IPv6) carries an IPv4 packet; decoded as IPv4",
    offset: 0,
  });
});

Deno.test("decodePacket() reports a raw IP packet of version 5 as an error of layer ip", () => {
  const data = ip4Echo.slice(ETHERNET_LENGTH);
  data[0] = 0x55;
  assert.deepEqual(decodePacket(data, LINKTYPE_RAW), {
    frame: frameInfo(data.length, LINKTYPE_RAW),
    layers: [],
    truncated: false,
    error: { layer: "ip", reason: "IP version 5 is neither 4 nor 6", offset: 0 },
  });
});

Deno.test("decodePacket() reports an unsupported link type as an error of layer link, with no layers", () => {
  assert.deepEqual(decodePacket(ip4Echo, 147), {
    frame: frameInfo(ip4Echo.length, 147),
    layers: [],
    truncated: false,
    error: { layer: "link", reason: "link type 147 is not supported", offset: 0 },
  });
});
