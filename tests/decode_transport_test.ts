/**
 * TCP, UDP, ICMP and ICMPv6 decoding from the project's own recorded frames (tests/testdata, see
 * its README), checksums included, and one corrupted field at a time.
 *
 * Expected values were read from tshark (`tshark -r F -V -x -o tcp.check_checksum:TRUE -o
 * udp.check_checksum:TRUE`). Fields that change each time tests/record_fixtures.sh runs
 * (ephemeral ports, sequence numbers, TCP timestamps and later windows, ICMP ids, checksums) are
 * read from the frame's bytes at their RFC offsets, or checked against each other (an ACK against
 * the SYN it answers); every other field is a literal. Every veth fixture was recorded with
 * transmit checksum offload off, so its checksums are complete; lo's TCP checksums are not.
 */

import assert from "node:assert/strict";
import { decodePacket } from "../parsers/decode.ts";
import { decodeIcmp, decodeIcmpv6 } from "../parsers/icmp.ts";
import { decodeTcp, decodeTcpOptions } from "../parsers/tcp.ts";
import type { IcmpLayer, PacketRecord, TcpLayer, UdpLayer } from "../parsers/types.ts";
import { decodeUdp } from "../parsers/udp.ts";
import { FIXTURES, load, pick, setU16, u16, u32 } from "./fixtures.ts";
import { formatSummary } from "../format/summary.ts";

const IP6_A = "fd00:99::1";
const IP6_B = "fd00:99::2";
const IP6_SOLICITED_NODE_B = "ff02::1:ff00:2";
const PORT_TCP = 8080;
const PORT_CLOSED = 9;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IP = 14; // offset of the IP header in an Ethernet frame
const L4 = IP + 20; // offset of the transport header after an IPv4 header without options
const L4V6 = IP + 40; // offset of the transport header after an IPv6 header without extensions
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const LINKTYPE_ETHERNET = 1;

const FIN = 0x001;
const SYN = 0x002;
const RST = 0x004;
const PSH = 0x008;
const ACK = 0x010;

const TCP_OPTION_NOP = { kind: 1 };
const SACK_PERMITTED = { kind: 4, length: 2 };
const WINDOW_SCALE_10 = { kind: 3, length: 3, shift: 10 };

// ---------------------------------------------------------------------------------------------
// Fixture access and byte helpers

const arpPing = await load("arp_ping.pcap");
const ping6 = await load("ping6_ndp.pcap");
const refused = await load("refused.pcap");
const tcpSession = await load("tcp_session.pcap");
const tcp6Session = await load("tcp6_session.pcap");
const tcpSack = await load("tcp_sack.pcap");

/** The first record `match` accepts, copied; fails naming `what` when none does. */
/** An Ethernet frame with TCP over IPv4 from 10.99.0.`from` with exactly these flags. */
function tcp4(from: number, flags: number) {
  return (d: Uint8Array) =>
    u16(d, 12) === ETHERTYPE_IPV4 && d[IP + 9] === IPPROTO_TCP && d[IP + 15] === from &&
    (u16(d, L4 + 12) & 0x0fff) === flags;
}

/** An Ethernet frame with TCP over IPv6 from fd00:99::`from` with exactly these flags. */
function tcp6(from: number, flags: number) {
  return (d: Uint8Array) =>
    u16(d, 12) === ETHERTYPE_IPV6 && d[IP + 6] === IPPROTO_TCP && d[IP + 23] === from &&
    (u16(d, L4V6 + 12) & 0x0fff) === flags;
}

/** An Ethernet frame with IPv4 carrying `protocol` whose first transport byte is `first`. */
function ipv4Carrying(protocol: number, first?: number) {
  return (d: Uint8Array) =>
    u16(d, 12) === ETHERTYPE_IPV4 && d[IP + 9] === protocol &&
    (first === undefined || d[L4] === first);
}

/** An Ethernet frame with IPv6 carrying `nextHeader` whose first transport byte is `first`. */
function ipv6Carrying(nextHeader: number, first?: number) {
  return (d: Uint8Array) =>
    u16(d, 12) === ETHERTYPE_IPV6 && d[IP + 6] === nextHeader &&
    (first === undefined || d[L4V6] === first);
}

function decodeEthernetFrame(data: Uint8Array): PacketRecord {
  return decodePacket(data, LINKTYPE_ETHERNET);
}

/** Sum of the 16-bit words of `[start, end)`, for pseudo-header address sums. */
function wordSum(data: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += u16(data, i);
  return sum;
}

/** The TCP fields that differ between recordings, read from the header at `tcp`. */
function tcpRecorded(data: Uint8Array, tcp: number) {
  return {
    seq: u32(data, tcp + 4),
    ack: u32(data, tcp + 8),
    checksum: u16(data, tcp + 16),
  };
}

/** The timestamps option of a header whose options are NOP, NOP, timestamps. */
function timestampsAfterNops(data: Uint8Array, tcp: number) {
  return { kind: 8, length: 10, tsval: u32(data, tcp + 24), tsecr: u32(data, tcp + 28) };
}

// ---------------------------------------------------------------------------------------------
// TCP

const syn = pick(tcpSession, "the SYN", tcp4(1, SYN));
const synAck = pick(tcpSession, "the SYN-ACK", tcp4(2, SYN | ACK));
const rst = pick(refused, "the RST/ACK over IPv4", tcp4(2, RST | ACK));

Deno.test("decodePacket() decodes a real SYN with MSS, SACK-permitted, timestamps and window scale", () => {
  const pkt = decodeEthernetFrame(syn);
  assert.deepEqual(pkt.layers[2], {
    type: "tcp",
    srcPort: u16(syn, L4),
    dstPort: PORT_TCP,
    ...tcpRecorded(syn, L4),
    headerLength: 40,
    flags: SYN,
    window: 64240,
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [
      { kind: 2, length: 4, mss: 1460 },
      SACK_PERMITTED,
      { kind: 8, length: 10, tsval: u32(syn, L4 + 28), tsecr: 0 },
      TCP_OPTION_NOP,
      WINDOW_SCALE_10,
    ],
  });
  assert.equal((pkt.layers[2] as TcpLayer).ack, 0);
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() decodes a real SYN-ACK that acknowledges the SYN and echoes its timestamp", () => {
  const first = decodeEthernetFrame(syn).layers[2] as TcpLayer;
  const tcp = decodeEthernetFrame(synAck).layers[2] as TcpLayer;
  assert.deepEqual(tcp, {
    type: "tcp",
    srcPort: PORT_TCP,
    dstPort: first.srcPort,
    ...tcpRecorded(synAck, L4),
    headerLength: 40,
    flags: SYN | ACK,
    window: 65160,
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [
      { kind: 2, length: 4, mss: 1460 },
      SACK_PERMITTED,
      { kind: 8, length: 10, tsval: u32(synAck, L4 + 28), tsecr: first.options[2]!.tsval },
      TCP_OPTION_NOP,
      WINDOW_SCALE_10,
    ],
  });
  assert.equal(tcp.ack, (first.seq + 1) >>> 0);
});

Deno.test("decodePacket() decodes a real 12-byte data segment with its payload length", () => {
  const data = pick(tcpSession, "the request", tcp4(1, PSH | ACK));
  assert.deepEqual(decodeEthernetFrame(data).layers[2], {
    type: "tcp",
    srcPort: u16(data, L4),
    dstPort: PORT_TCP,
    ...tcpRecorded(data, L4),
    headerLength: 32,
    flags: PSH | ACK,
    window: u16(data, L4 + 14),
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 12,
    options: [TCP_OPTION_NOP, TCP_OPTION_NOP, timestampsAfterNops(data, L4)],
  });
});

Deno.test("decodePacket() decodes a real 300-byte reply segment with a valid checksum", () => {
  const data = pick(tcpSession, "the reply", tcp4(2, PSH | ACK));
  const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
  assert.deepEqual(
    [tcp.srcPort, tcp.headerLength, tcp.payloadLength, tcp.checksumValid],
    [PORT_TCP, 32, 300, true],
  );
});

Deno.test("decodePacket() decodes the FIN of each side", () => {
  for (const from of [1, 2]) {
    const data = pick(tcpSession, `the FIN from .${from}`, tcp4(from, FIN | ACK));
    const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
    assert.deepEqual([tcp.flags, tcp.payloadLength, tcp.checksumValid], [FIN | ACK, 0, true]);
  }
});

Deno.test("decodePacket() decodes the SACK block of a real duplicate ACK", () => {
  const data = pick(
    tcpSack,
    "the duplicate ACK with SACK",
    (d) => tcp4(1, ACK)(d) && d[L4 + 12] === 0xb0,
  );
  const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
  const left = u32(data, L4 + 36);
  const right = u32(data, L4 + 40);
  assert.deepEqual(tcp, {
    type: "tcp",
    srcPort: u16(data, L4),
    dstPort: 8082,
    ...tcpRecorded(data, L4),
    headerLength: 44,
    flags: ACK,
    window: u16(data, L4 + 14),
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [
      TCP_OPTION_NOP,
      TCP_OPTION_NOP,
      timestampsAfterNops(data, L4),
      TCP_OPTION_NOP,
      TCP_OPTION_NOP,
      { kind: 5, length: 10, blocks: [[left, right]] },
    ],
  });
  // The gap is the one redirected 200-byte chunk; the block covers what arrived after it.
  assert.equal(left, (tcp.ack + 200) >>> 0);
  assert.ok(right > left && (right - left) % 200 === 0, `block [${left}, ${right}]`);
});

Deno.test("decodePacket() decodes a real RST/ACK without options", () => {
  assert.deepEqual(decodeEthernetFrame(rst).layers[2], {
    type: "tcp",
    srcPort: PORT_CLOSED,
    dstPort: u16(rst, L4 + 2),
    ...tcpRecorded(rst, L4),
    headerLength: 20,
    flags: RST | ACK,
    window: 0,
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [],
  });
  assert.equal(u32(rst, L4 + 4), 0, "the RST's sequence number");
});

Deno.test("decodePacket() verifies a real TCP checksum over the IPv6 pseudo-header", () => {
  const data = pick(tcp6Session, "the IPv6 SYN", tcp6(1, SYN));
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[2], {
    type: "tcp",
    srcPort: u16(data, L4V6),
    dstPort: PORT_TCP,
    ...tcpRecorded(data, L4V6),
    headerLength: 40,
    flags: SYN,
    window: 64800,
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [
      { kind: 2, length: 4, mss: 1440 },
      SACK_PERMITTED,
      { kind: 8, length: 10, tsval: u32(data, L4V6 + 28), tsecr: 0 },
      TCP_OPTION_NOP,
      WINDOW_SCALE_10,
    ],
  });
  for (const record of tcp6Session) {
    const tcp = decodeEthernetFrame(record.data).layers[2] as TcpLayer;
    assert.equal(tcp.checksumValid, true, `segment seq ${tcp.seq}`);
  }
});

Deno.test("decodeTcp() verifies the checksum only with the pseudo-header's address sum", () => {
  const view = new DataView(syn.buffer);
  const addressSum = wordSum(syn, IP + 12, IP + 20);
  const good = decodeTcp(view, L4, syn.length, syn.length, addressSum);
  assert.equal(good.type === "tcp" && "checksumValid" in good && good.checksumValid, true);
  const bad = decodeTcp(view, L4, syn.length, syn.length, 0);
  assert.equal(bad.type === "tcp" && "checksumValid" in bad && bad.checksumValid, false);
  const short = decodeTcp(view, L4, syn.length - 1, syn.length, addressSum);
  assert.equal(short.type === "tcp" && "checksumValid" in short && short.checksumValid, null);
});

// ---------------------------------------------------------------------------------------------
// UDP

const udp4 = pick(refused, "the UDP datagram over IPv4", ipv4Carrying(IPPROTO_UDP));
const udp6 = pick(refused, "the UDP datagram over IPv6", ipv6Carrying(IPPROTO_UDP));

Deno.test("decodePacket() decodes a real UDP header over IPv4 and verifies its checksum", () => {
  const pkt = decodeEthernetFrame(udp4);
  assert.deepEqual(pkt.layers[2], {
    type: "udp",
    srcPort: u16(udp4, L4),
    dstPort: PORT_CLOSED,
    length: 40,
    checksum: u16(udp4, L4 + 6),
    checksumValid: true,
  });
  assert.equal(pkt.layers.length, 3);
});

Deno.test("decodePacket() decodes a real UDP header over IPv6 and verifies its checksum", () => {
  assert.deepEqual(decodeEthernetFrame(udp6).layers[2], {
    type: "udp",
    srcPort: u16(udp6, L4V6),
    dstPort: PORT_CLOSED,
    length: 40,
    checksum: u16(udp6, L4V6 + 6),
    checksumValid: true,
  });
});

Deno.test("decodeUdp() verifies the checksum only with the pseudo-header's address sum", () => {
  const view = new DataView(udp4.buffer);
  const addressSum = wordSum(udp4, IP + 12, IP + 20);
  const good = decodeUdp(view, L4, udp4.length, udp4.length, addressSum, false);
  assert.equal("checksumValid" in good && good.checksumValid, true);
  const bad = decodeUdp(view, L4, udp4.length, udp4.length, addressSum + 1, false);
  assert.equal("checksumValid" in bad && bad.checksumValid, false);
});

// ---------------------------------------------------------------------------------------------
// ICMP

const echoRequest = pick(arpPing, "an echo request", ipv4Carrying(IPPROTO_ICMP, 8));
const echoReply = pick(arpPing, "an echo reply", ipv4Carrying(IPPROTO_ICMP, 0));
const unreachable = pick(refused, "the port unreachable", ipv4Carrying(IPPROTO_ICMP, 3));

Deno.test("decodePacket() decodes a real ICMP echo request and the reply that answers it", () => {
  assert.deepEqual(decodeEthernetFrame(echoRequest).layers[2], {
    type: "icmp",
    messageType: 8,
    code: 0,
    checksum: u16(echoRequest, L4 + 2),
    checksumValid: true,
    id: u16(echoRequest, L4 + 4),
    seq: 1,
  });
  assert.deepEqual(decodeEthernetFrame(echoReply).layers[2], {
    type: "icmp",
    messageType: 0,
    code: 0,
    checksum: u16(echoReply, L4 + 2),
    checksumValid: true,
    id: u16(echoRequest, L4 + 4),
    seq: 1,
  });
});

Deno.test("decodePacket() follows an ICMP port unreachable with the quoted IPv4 and UDP headers", () => {
  const pkt = decodeEthernetFrame(unreachable);
  assert.deepEqual(pkt.layers[2], {
    type: "icmp",
    messageType: 3,
    code: 3,
    checksum: u16(unreachable, L4 + 2),
    checksumValid: true,
    restOfHeader: 0, // unused
  });
  // The quoted datagram is the one sent to port 9, whole: it decodes as that frame does.
  assert.deepEqual(pkt.layers.slice(3), decodeEthernetFrame(udp4).layers.slice(1));
  assert.deepEqual(pkt.layers.map((layer) => layer.type), [
    "ethernet",
    "ipv4",
    "icmp",
    "ipv4",
    "udp",
  ]);
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodePacket() reports an ICMP error quoting a non-IPv4 header as an ipv4 error at its offset", () => {
  const data = unreachable.slice();
  data[L4 + 8] = 0x65;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv4", "icmp"]);
  assert.deepEqual(pkt.error, { layer: "ipv4", reason: "IP version 6 is not 4", offset: L4 + 8 });
});

Deno.test("decodeIcmp() verifies the checksum only over the whole message", () => {
  const view = new DataView(echoRequest.buffer);
  const whole = decodeIcmp(view, L4, echoRequest.length, echoRequest.length) as IcmpLayer;
  assert.equal(whole.checksumValid, true);
  const cut = decodeIcmp(view, L4, echoRequest.length - 1, echoRequest.length) as IcmpLayer;
  assert.deepEqual(cut, { ...whole, checksumValid: null });
});

// ---------------------------------------------------------------------------------------------
// ICMPv6

Deno.test("decodePacket() decodes a real ICMPv6 echo request and the reply that answers it", () => {
  const request = pick(ping6, "an echo request", ipv6Carrying(IPPROTO_ICMPV6, 128));
  const reply = pick(ping6, "an echo reply", ipv6Carrying(IPPROTO_ICMPV6, 129));
  assert.deepEqual(decodeEthernetFrame(request).layers[2], {
    type: "icmpv6",
    messageType: 128,
    code: 0,
    checksum: u16(request, L4V6 + 2),
    checksumValid: true,
    id: u16(request, L4V6 + 4),
    seq: 1,
  });
  assert.deepEqual(decodeEthernetFrame(reply).layers[2], {
    type: "icmpv6",
    messageType: 129,
    code: 0,
    checksum: u16(reply, L4V6 + 2),
    checksumValid: true,
    id: u16(request, L4V6 + 4),
    seq: 1,
  });
});

Deno.test("decodePacket() decodes a real neighbour solicitation with its target and source link-layer option", () => {
  const data = pick(ping6, "a neighbour solicitation", ipv6Carrying(IPPROTO_ICMPV6, 135));
  assert.deepEqual(decodeEthernetFrame(data).layers, [
    { type: "ethernet", dst: "33:33:ff:00:00:02", src: "02:00:00:00:99:01", etherType: 0x86dd },
    {
      type: "ipv6",
      version: 6,
      trafficClass: 0,
      flowLabel: 0,
      payloadLength: 32,
      nextHeader: IPPROTO_ICMPV6,
      hopLimit: 255,
      src: IP6_A,
      dst: IP6_SOLICITED_NODE_B,
      extensions: [],
    },
    {
      type: "icmpv6",
      messageType: 135,
      code: 0,
      checksum: u16(data, L4V6 + 2),
      checksumValid: true,
      restOfHeader: 0, // reserved
      target: IP6_B,
      // Source link-layer address: A's MAC.
      ndOptions: [{ type: 1, length: 8, data: "020000009901" }],
    },
  ]);
});

Deno.test("decodePacket() decodes a real neighbour advertisement with its target link-layer option", () => {
  const data = pick(ping6, "a neighbour advertisement", ipv6Carrying(IPPROTO_ICMPV6, 136));
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[2], {
    type: "icmpv6",
    messageType: 136,
    code: 0,
    checksum: u16(data, L4V6 + 2),
    checksumValid: true,
    restOfHeader: 0x60000000, // solicited and override, not router
    target: IP6_B,
    // Target link-layer address: B's MAC.
    ndOptions: [{ type: 2, length: 8, data: "020000009902" }],
  });
  assert.deepEqual(
    [(pkt.layers[1] as { src: string }).src, (pkt.layers[1] as { hopLimit: number }).hopLimit],
    [IP6_B, 255],
  );
});

Deno.test("decodePacket() follows an ICMPv6 port unreachable with the quoted IPv6 and UDP headers", () => {
  const data = pick(refused, "the ICMPv6 port unreachable", ipv6Carrying(IPPROTO_ICMPV6, 1));
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[2], {
    type: "icmpv6",
    messageType: 1,
    code: 4,
    checksum: u16(data, L4V6 + 2),
    checksumValid: true,
    restOfHeader: 0, // unused
  });
  assert.deepEqual(pkt.layers.slice(3), decodeEthernetFrame(udp6).layers.slice(1));
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodeIcmpv6() verifies the checksum only with the pseudo-header's address sum", () => {
  const data = pick(ping6, "an echo request", ipv6Carrying(IPPROTO_ICMPV6, 128));
  const view = new DataView(data.buffer);
  const addressSum = wordSum(data, IP + 8, IP + 40);
  const good = decodeIcmpv6(view, L4V6, data.length, data.length, addressSum);
  assert.equal("checksumValid" in good && good.checksumValid, true);
  const bad = decodeIcmpv6(view, L4V6, data.length, data.length, 0);
  assert.equal("checksumValid" in bad && bad.checksumValid, false);
});

// ---------------------------------------------------------------------------------------------
// Corrupted one field at a time

Deno.test("decodePacket() reports a TCP data offset of 4 as an error, listing the fields up to it", () => {
  const data = syn.slice();
  data[L4 + 12] = 0x40;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[2], {
    type: "tcp",
    partial: true,
    srcPort: u16(syn, L4),
    dstPort: PORT_TCP,
    seq: u32(syn, L4 + 4),
    ack: 0,
    headerLength: 16,
  });
  assert.deepEqual(pkt.error, {
    layer: "tcp",
    reason: "header length 16 is below the minimum 20",
    offset: L4,
  });
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() reports an IPv4 total length too short for a TCP header as a tcp error", () => {
  const data = rst.slice();
  setU16(data, IP + 2, 30);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv4"]);
  assert.deepEqual(pkt.error, {
    layer: "tcp",
    reason: "the IP length leaves 10 bytes, less than the 20-byte header",
    offset: L4,
  });
});

Deno.test("decodePacket() reports an IPv4 total length too short for an ICMP header as an icmp error", () => {
  const data = echoRequest.slice();
  setU16(data, IP + 2, 22);
  assert.deepEqual(decodeEthernetFrame(data).error, {
    layer: "icmp",
    reason: "the IP length leaves 2 bytes, less than the 4-byte header",
    offset: L4,
  });
});

Deno.test("decodePacket() reports a flipped TCP checksum byte as checksumValid false", () => {
  const data = syn.slice();
  data[L4 + 17]! ^= 0x20;
  const good = decodeEthernetFrame(syn).layers[2] as TcpLayer;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[2], { ...good, checksum: u16(data, L4 + 16), checksumValid: false });
  assert.equal(pkt.error, undefined);
});

Deno.test("decodePacket() reports a flipped UDP checksum byte as checksumValid false", () => {
  for (const [frame, udp] of [[udp4, L4], [udp6, L4V6]] as const) {
    const data = frame.slice();
    data[udp + 7]! ^= 0x01;
    const layer = decodeEthernetFrame(data).layers[2] as UdpLayer;
    assert.deepEqual([layer.checksum, layer.checksumValid], [u16(data, udp + 6), false]);
  }
});

Deno.test("decodePacket() reports a UDP checksum of 0 over IPv4 as not present (null)", () => {
  const data = udp4.slice();
  setU16(data, L4 + 6, 0);
  const layer = decodeEthernetFrame(data).layers[2] as UdpLayer;
  assert.deepEqual([layer.checksum, layer.checksumValid], [0, null]);
});

Deno.test("decodePacket() reports a UDP checksum of 0 over IPv6 as invalid", () => {
  const data = udp6.slice();
  setU16(data, L4V6 + 6, 0);
  const layer = decodeEthernetFrame(data).layers[2] as UdpLayer;
  assert.deepEqual([layer.checksum, layer.checksumValid], [0, false]);
});

Deno.test("decodePacket() reports a flipped ICMP checksum byte as checksumValid false", () => {
  const data = echoRequest.slice();
  data[L4 + 2]! ^= 0x80;
  const good = decodeEthernetFrame(echoRequest).layers[2] as IcmpLayer;
  assert.deepEqual(decodeEthernetFrame(data).layers[2], {
    ...good,
    checksum: u16(data, L4 + 2),
    checksumValid: false,
  });
});

Deno.test("decodePacket() reports a flipped ICMPv6 checksum byte as checksumValid false", () => {
  const data = pick(ping6, "a neighbour solicitation", ipv6Carrying(IPPROTO_ICMPV6, 135));
  data[L4V6 + 3]! ^= 0x04;
  const layer = decodeEthernetFrame(data).layers[2] as IcmpLayer;
  assert.deepEqual([layer.checksum, layer.checksumValid], [u16(data, L4V6 + 2), false]);
  assert.equal(layer.target, IP6_B);
});

// TCP options of the SYN, at L4 + 20: MSS (4), SACK-permitted (2), timestamps (10), NOP, WS (3).
const OPTIONS = L4 + 20;

function hex(data: Uint8Array, start: number, end: number): string {
  return Array.from(data.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("decodePacket() lists a TCP option of length 1 with the rest of the header as data, and stops", () => {
  const data = syn.slice();
  data[OPTIONS + 1] = 1; // the MSS option's length
  const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
  assert.deepEqual(tcp.options, [{ kind: 2, length: 1, data: hex(data, OPTIONS + 2, L4 + 40) }]);
  assert.equal(tcp.checksumValid, false);
});

Deno.test("decodePacket() lists a TCP option running past the header with the bytes there are, and stops", () => {
  const data = syn.slice();
  data[OPTIONS + 7] = 32; // the timestamps option's length
  const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
  assert.deepEqual(tcp.options, [
    { kind: 2, length: 4, mss: 1460 },
    SACK_PERMITTED,
    { kind: 8, length: 32, data: hex(data, OPTIONS + 8, L4 + 40) },
  ]);
});

Deno.test("decodePacket() keeps an unknown TCP option kind as kind, length and hex data", () => {
  const data = syn.slice();
  data[OPTIONS + 6] = 254; // the timestamps option becomes an experimental one
  const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
  assert.deepEqual(tcp.options, [
    { kind: 2, length: 4, mss: 1460 },
    SACK_PERMITTED,
    { kind: 254, length: 10, data: hex(data, OPTIONS + 8, OPTIONS + 16) },
    TCP_OPTION_NOP,
    WINDOW_SCALE_10,
  ]);
});

Deno.test("decodePacket() keeps a known TCP option of the wrong length as hex data and walks on", () => {
  const data = syn.slice();
  data[OPTIONS + 1] = 3; // MSS claims 3 bytes; the walk goes on from the byte after them,
  data[OPTIONS + 3] = 1; // which is made a NOP
  const tcp = decodeEthernetFrame(data).layers[2] as TcpLayer;
  assert.deepEqual(tcp.options, [
    { kind: 2, length: 3, data: "05" },
    TCP_OPTION_NOP,
    SACK_PERMITTED,
    { kind: 8, length: 10, tsval: u32(syn, OPTIONS + 8), tsecr: 0 },
    TCP_OPTION_NOP,
    WINDOW_SCALE_10,
  ]);
});

Deno.test("decodeTcpOptions() lists a kind whose length byte is beyond the header with empty data", () => {
  const view = new DataView(new Uint8Array([1, 0, 2]).buffer);
  assert.deepEqual(decodeTcpOptions(view, 0, 3), [{ kind: 1 }, { kind: 0 }, { kind: 2, data: "" }]);
});

// Header lengths that disagree with the IP length: tshark flags each as malformed ("Bogus TCP
// header length", "Bad length value"); snout keeps the layer and reports a decode error.

Deno.test({
  name: "decodePacket() reports a TCP data offset longer than the IP payload as a tcp error",
  fn() {
    const data = rst.slice();
    data[L4 + 12] = 0x60;
    const pkt = decodeEthernetFrame(data);
    assert.equal(pkt.error?.layer, "tcp");
    assert.equal(pkt.error?.offset, L4);
    assert.equal(pkt.truncated, false);
  },
});

Deno.test({
  name: "decodePacket() reports a UDP length below the 8-byte header as a udp error",
  fn() {
    const data = udp4.slice();
    setU16(data, L4 + 4, 4);
    const pkt = decodeEthernetFrame(data);
    assert.equal(pkt.error?.layer, "udp");
    assert.equal(pkt.error?.offset, L4);
  },
});

Deno.test({
  name: "decodePacket() reports a UDP length beyond an unfragmented IP payload as a udp error",
  fn() {
    const data = udp4.slice();
    setU16(data, L4 + 4, 200);
    const pkt = decodeEthernetFrame(data);
    assert.equal(pkt.error?.layer, "udp");
    assert.equal(pkt.error?.offset, L4);
  },
});

/** `pkt` with every `checksumValid`, however deep (quoted headers too), set to null. */
function unverified(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unverified);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      key === "checksumValid" ? null : unverified(field),
    ]),
  );
}

Deno.test({
  name: "decodePacket() with checksums: false leaves only checksumValid out, and summaries alike",
  async fn() {
    let verified = 0;
    for (const name of FIXTURES) {
      for (const [i, record] of (await load(name)).entries()) {
        const frame = { number: i + 1, length: record.length };
        const full = decodePacket(record.data, record.linkType, frame);
        const quick = decodePacket(record.data, record.linkType, frame, { checksums: false });
        assert.deepEqual(quick, unverified(full), `${name} frame ${i + 1}`);
        assert.equal(formatSummary(quick), formatSummary(full), `${name} frame ${i + 1}`);
        verified += JSON.stringify(full).split('"checksumValid":true').length - 1;
      }
    }
    // The comparison means something only if the full decodes did verify checksums.
    assert.ok(verified > 100, `only ${verified} checksums verified`);
  },
});
