/**
 * Tests for the output formatters (summary, verbose, hex, JSON) and the buffered output writer.
 *
 * Records are built by hand with the values of real packets: the TCP handshake of the tcpdump
 * test capture print-flags.pcap, the ICMP and ARP frames of dhcp-rfc4388.pcap, the SACK segment
 * of ssh.pcap and the neighbour solicitation of icmpv6-ns-nonce.pcap (values read with tshark),
 * plus the addresses and ports of snout's own loopback and namespace test traffic.
 *
 * @module
 */

import assert from "node:assert/strict";
import { styleText } from "node:util";
import type {
  ArpLayer,
  CapturedPacket,
  EthernetLayer,
  Frame,
  IcmpLayer,
  Icmpv6Layer,
  Ipv4Layer,
  Ipv6Layer,
  Layer,
  PacketRecord,
  TcpLayer,
  UdpLayer,
} from "../parsers/types.ts";
import { formatHex } from "../format/hex.ts";
import { formatJson } from "../format/json.ts";
import { formatSummary } from "../format/summary.ts";
import { paint, safeText } from "../format/text.ts";
import { formatVerbose } from "../format/verbose.ts";
import { LineBytes, OutputClosedError, OutputWriter, type SyncWriter } from "../io/output.ts";
import { readRecords } from "../io/read_records.ts";
import { formatTime } from "../parsers/capture_format.ts";
import { decodePacket } from "../parsers/decode.ts";
import { fixture, haveProgram, run } from "./helpers.ts";

// ------------------------------------------------------------------------------ record builders

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_NULL = 0;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const ESC = "\x1b";

function frame(length: number, overrides: Partial<Frame> = {}): Frame {
  return {
    number: 1,
    time: "1700000000.123456",
    length,
    captured: length,
    linkType: LINKTYPE_ETHERNET,
    ...overrides,
  };
}

function ethernet(etherType: number): EthernetLayer {
  return { type: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType };
}

function ipv4(
  protocol: number,
  totalLength: number,
  overrides: Partial<Ipv4Layer> = {},
): Ipv4Layer {
  return {
    type: "ipv4",
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength,
    id: 0xd7d1,
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol,
    checksum: 0x0ac3,
    checksumValid: true,
    src: "10.0.0.1",
    dst: "10.0.0.2",
    options: [],
    ...overrides,
  };
}

function ipv6(
  nextHeader: number,
  payloadLength: number,
  overrides: Partial<Ipv6Layer> = {},
): Ipv6Layer {
  return {
    type: "ipv6",
    version: 6,
    trafficClass: 0,
    flowLabel: 0x12345,
    payloadLength,
    nextHeader,
    hopLimit: 64,
    src: "fd00::1",
    dst: "fd00::2",
    extensions: [],
    ...overrides,
  };
}

/** The SYN of print-flags.pcap, frame 1. */
function synTcp(overrides: Partial<TcpLayer> = {}): TcpLayer {
  return {
    type: "tcp",
    srcPort: 55920,
    dstPort: 80,
    seq: 928549246,
    ack: 0,
    headerLength: 40,
    flags: 0x002,
    window: 32767,
    checksum: 0x1421,
    checksumValid: true,
    urgentPointer: 0,
    payloadLength: 0,
    options: [
      { kind: 2, length: 4, mss: 16396 },
      { kind: 4, length: 2 },
      { kind: 8, length: 10, tsval: 1306300950, tsecr: 0 },
      { kind: 1 },
      { kind: 3, length: 3, shift: 2 },
    ],
    ...overrides,
  };
}

function udp(srcPort: number, dstPort: number, length: number): UdpLayer {
  return { type: "udp", srcPort, dstPort, length, checksum: 0x5b7e, checksumValid: true };
}

function icmp(messageType: number, code: number, extra: Partial<IcmpLayer> = {}): IcmpLayer {
  return { type: "icmp", messageType, code, checksum: 0xb7db, checksumValid: true, ...extra };
}

function icmpv6(messageType: number, code: number, extra: Partial<Icmpv6Layer> = {}): Icmpv6Layer {
  return { type: "icmpv6", messageType, code, checksum: 0x566e, checksumValid: true, ...extra };
}

function arp(opcode: number, overrides: Partial<ArpLayer> = {}): ArpLayer {
  return {
    type: "arp",
    hardwareType: 1,
    protocolType: ETHERTYPE_IPV4,
    hardwareSize: 6,
    protocolSize: 4,
    opcode,
    senderMac: "a6:82:4b:c9:a1:a7",
    senderIp: "10.40.2.3",
    targetMac: "00:00:00:00:00:00",
    targetIp: "10.40.1.1",
    ...overrides,
  };
}

function packet(length: number, layers: Layer[], extra: Partial<PacketRecord> = {}): PacketRecord {
  return { frame: frame(length), layers, truncated: false, ...extra };
}

/** Ethernet + IPv4 + TCP SYN, as print-flags.pcap frame 1 (addresses of snout's namespace tests). */
function synPacket(): PacketRecord {
  return packet(74, [ethernet(ETHERTYPE_IPV4), ipv4(6, 60), synTcp()]);
}

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x0a) || code > 0x7e) return true;
  }
  return false;
}

function stripEscapes(text: string): string {
  // Colour codes are ESC [ digits m.
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ESC) {
      while (i < text.length && text[i] !== "m") i++;
    } else {
      out += text[i];
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ summary

Deno.test("formatSummary() writes a TCP SYN like tcpdump -n -tt, options included", () => {
  assert.equal(
    formatSummary(synPacket()),
    "1700000000.123456 IP 10.0.0.1.55920 > 10.0.0.2.80: Flags [S], seq 928549246, win 32767, " +
      "options [mss 16396,sackOK,TS val 1306300950 ecr 0,nop,wscale 2], length 0",
  );
});

Deno.test("formatSummary() gives a data segment seq as first:next and an ack", () => {
  const tcp = synTcp({
    seq: 928549247,
    ack: 930778610,
    flags: 0x018,
    window: 8192,
    payloadLength: 202,
    headerLength: 32,
    options: [{ kind: 1 }, { kind: 1 }, {
      kind: 8,
      length: 10,
      tsval: 1306300951,
      tsecr: 1306300950,
    }],
  });
  assert.equal(
    formatSummary(packet(268, [ethernet(ETHERTYPE_IPV4), ipv4(6, 254), tcp])),
    "1700000000.123456 IP 10.0.0.1.55920 > 10.0.0.2.80: Flags [P.], seq 928549247:928549449, " +
      "ack 930778610, win 8192, options [nop,nop,TS val 1306300951 ecr 1306300950], length 202",
  );
});

Deno.test("formatSummary() leaves seq out of a bare ACK and wraps seq:next at 2^32", () => {
  const ack = synTcp({ flags: 0x010, ack: 1, options: [] });
  assert.equal(
    formatSummary(packet(54, [ethernet(ETHERTYPE_IPV4), ipv4(6, 40), ack])),
    "1700000000.123456 IP 10.0.0.1.55920 > 10.0.0.2.80: Flags [.], ack 1, win 32767, length 0",
  );
  const wrap = synTcp({ flags: 0x018, seq: 4294967290, ack: 1, payloadLength: 10, options: [] });
  assert.match(
    formatSummary(packet(64, [ethernet(ETHERTYPE_IPV4), ipv4(6, 50), wrap])),
    /seq 4294967290:4, ack 1,/,
  );
});

Deno.test("formatSummary() names every TCP flag with tcpdump's letters and shows urg", () => {
  const tcp = synTcp({ flags: 0x1ff, ack: 5, urgentPointer: 7, options: [] });
  assert.equal(
    formatSummary(packet(54, [ethernet(ETHERTYPE_IPV4), ipv4(6, 40), tcp])),
    "1700000000.123456 IP 10.0.0.1.55920 > 10.0.0.2.80: Flags [FSRP.UEWe], seq 928549246, " +
      "ack 5, win 32767, urg 7, length 0",
  );
  const none = synTcp({ flags: 0, options: [] });
  assert.match(
    formatSummary(packet(54, [ethernet(ETHERTYPE_IPV4), ipv4(6, 40), none])),
    /: Flags \[none\], win 32767, length 0$/,
  );
});

Deno.test("formatSummary() writes SACK blocks, unknown and experimental options, and stops at eol", () => {
  const tcp = synTcp({
    flags: 0x010,
    ack: 4082238874,
    options: [
      { kind: 1 },
      { kind: 5, length: 18, blocks: [[4082238970, 4082238971], [1, 2]] },
      { kind: 99, length: 4, data: "0102" },
      { kind: 254, length: 4, data: "acc0" },
      { kind: 30, length: 4, data: "0081" },
      { kind: 0 },
      { kind: 0 },
    ],
  });
  assert.equal(
    formatSummary(packet(78, [ethernet(ETHERTYPE_IPV4), ipv4(6, 64), tcp])),
    "1700000000.123456 IP 10.0.0.1.55920 > 10.0.0.2.80: Flags [.], ack 4082238874, win 32767, " +
      "options [nop,sack 2 {4082238970:4082238971}{1:2},unknown-99 0x0102,exp-acc0,mptcp 0x0081," +
      "eol], length 0",
  );
});

Deno.test("formatSummary() writes UDP with the payload length from the UDP header", () => {
  assert.equal(
    formatSummary(packet(62, [ethernet(ETHERTYPE_IPV4), ipv4(17, 48), udp(5353, 53, 28)])),
    "1700000000.123456 IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 20",
  );
  assert.match(
    formatSummary(packet(62, [ethernet(ETHERTYPE_IPV4), ipv4(17, 48), udp(5353, 53, 4)])),
    /10\.0\.0\.2\.53: truncated-udplength 4$/,
  );
});

Deno.test("formatSummary() writes ICMP echo with id, seq and the IP payload length", () => {
  const pkt = packet(98, [ethernet(ETHERTYPE_IPV4), ipv4(1, 84), icmp(8, 0, { id: 1, seq: 1 })]);
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64",
  );
  const reply = packet(62, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(1, 48, { src: "10.30.4.4", dst: "10.40.2.3" }),
    icmp(0, 0, { id: 16420, seq: 0 }),
  ]);
  assert.equal(
    formatSummary(reply),
    "1700000000.123456 IP 10.30.4.4 > 10.40.2.3: ICMP echo reply, id 16420, seq 0, length 28",
  );
});

Deno.test("formatSummary() describes an ICMP port unreachable from the quoted headers", () => {
  const pkt = packet(70, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(1, 56, { src: "10.0.0.2", dst: "10.0.0.1" }),
    icmp(3, 3),
    ipv4(17, 28, { src: "10.0.0.1", dst: "10.0.0.2" }),
    udp(40000, 33434, 8),
  ]);
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 33434 unreachable, length 36",
  );
});

Deno.test("formatSummary() reads a quoted TCP header that was cut to its first 8 bytes", () => {
  const pkt = packet(70, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(1, 56, { src: "10.0.0.2", dst: "10.0.0.1" }),
    icmp(3, 3),
    ipv4(6, 40, { src: "10.0.0.1", dst: "10.0.0.2" }),
    { type: "tcp", partial: true, srcPort: 40000, dstPort: 80, seq: 1 },
  ], { truncated: true });
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 tcp port 80 unreachable, length 36 " +
      "[|tcp]",
  );
});

Deno.test("formatSummary() uses tcpdump's words for other ICMP unreachable codes", () => {
  const quoted = (code: number) =>
    formatSummary(packet(90, [
      ethernet(ETHERTYPE_IPV4),
      ipv4(1, 76, { src: "10.40.1.1", dst: "10.40.2.3" }),
      icmp(3, code),
      ipv4(1, 48, { src: "10.40.2.3", dst: "10.30.4.4" }),
      icmp(8, 0, { id: 16420, seq: 0 }),
    ]));
  assert.equal(
    quoted(1),
    "1700000000.123456 IP 10.40.1.1 > 10.40.2.3: ICMP host 10.30.4.4 unreachable, length 56",
  );
  assert.match(quoted(0), /ICMP net 10\.30\.4\.4 unreachable, length 56$/);
  assert.match(quoted(2), /ICMP 10\.30\.4\.4 protocol 1 unreachable, length 56$/);
  assert.match(quoted(4), /ICMP 10\.30\.4\.4 unreachable - need to frag, length 56$/);
  assert.match(
    quoted(13),
    /ICMP host 10\.30\.4\.4 unreachable - admin prohibited filter, length 56$/,
  );
  assert.match(quoted(99), /ICMP #99 10\.30\.4\.4 unreachable, length 56$/);
});

Deno.test("formatSummary() names time exceeded and falls back to type and code", () => {
  const message = (type: number, code: number) =>
    formatSummary(packet(62, [ethernet(ETHERTYPE_IPV4), ipv4(1, 48), icmp(type, code)]));
  assert.match(message(11, 0), /: ICMP time exceeded in-transit, length 28$/);
  assert.match(message(11, 1), /: ICMP ip reassembly time exceeded, length 28$/);
  assert.match(message(10, 0), /: ICMP router solicitation, length 28$/);
  assert.equal(
    message(42, 0),
    "1700000000.123456 IP 10.0.0.1 > 10.0.0.2: ICMP type 42 code 0, length 28",
  );
});

Deno.test("formatSummary() writes ICMPv6 echo like tcpdump", () => {
  const pkt = packet(118, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(58, 64),
    icmpv6(128, 0, { id: 1, seq: 1 }),
  ]);
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP6 fd00::1 > fd00::2: ICMP6, echo request, id 1, seq 1, length 64",
  );
});

Deno.test("formatSummary() writes neighbour discovery messages with their target", () => {
  const solicitation = packet(86, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(58, 32, { src: "::", dst: "ff02::1:ffe1:f" }),
    icmpv6(135, 0, { target: "fe80::546f:f7ff:fee1:f", ndOptions: [{ type: 14, length: 8 }] }),
  ]);
  assert.equal(
    formatSummary(solicitation),
    "1700000000.123456 IP6 :: > ff02::1:ffe1:f: ICMP6, neighbor solicitation, " +
      "who has fe80::546f:f7ff:fee1:f, length 32",
  );
  const advertisement = packet(86, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(58, 32),
    icmpv6(136, 0, { target: "fd00::2", ndOptions: [{ type: 2, length: 8 }] }),
  ]);
  assert.match(
    formatSummary(advertisement),
    /: ICMP6, neighbor advertisement, tgt is fd00::2, length 32$/,
  );
  const rs = packet(62, [ethernet(ETHERTYPE_IPV6), ipv6(58, 8), icmpv6(133, 0)]);
  assert.match(formatSummary(rs), /: ICMP6, router solicitation, length 8$/);
  const ra = packet(70, [ethernet(ETHERTYPE_IPV6), ipv6(58, 16), icmpv6(134, 0)]);
  assert.match(formatSummary(ra), /: ICMP6, router advertisement, length 16$/);
  const unknown = packet(62, [ethernet(ETHERTYPE_IPV6), ipv6(58, 8), icmpv6(250, 3)]);
  assert.match(formatSummary(unknown), /: ICMP6, type 250 code 3, length 8$/);
});

Deno.test("formatSummary() describes ICMPv6 errors from the quoted IPv6 header", () => {
  const unreachable = (code: number) =>
    formatSummary(packet(110, [
      ethernet(ETHERTYPE_IPV6),
      ipv6(58, 56),
      icmpv6(1, code),
      ipv6(17, 8, { src: "fd00::2", dst: "fd00::1" }),
      udp(40000, 33434, 8),
    ]));
  assert.equal(
    unreachable(4),
    "1700000000.123456 IP6 fd00::1 > fd00::2: ICMP6, destination unreachable, unreachable port, " +
      "fd00::1 udp port 33434, length 56",
  );
  assert.match(unreachable(0), /destination unreachable, unreachable route fd00::1, length 56$/);
  assert.match(
    unreachable(2),
    /beyond scope fd00::1, source address fd00::2, length 56$/,
  );
  const exceeded = formatSummary(packet(110, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(58, 56),
    icmpv6(3, 0),
    ipv6(17, 8, { src: "fd00::2", dst: "fd00::1" }),
    udp(40000, 33434, 8),
  ]));
  assert.match(exceeded, /: ICMP6, time exceeded in-transit for fd00::1, length 56$/);
  const tooBig = formatSummary(packet(110, [ethernet(ETHERTYPE_IPV6), ipv6(58, 56), icmpv6(2, 0)]));
  assert.match(tooBig, /: ICMP6, packet too big, length 56$/);
});

Deno.test("formatSummary() writes TCP and UDP over IPv6 with IP6 and address.port", () => {
  const tcp = synTcp({ srcPort: 40000, options: [{ kind: 2, length: 4, mss: 1440 }], seq: 1 });
  assert.equal(
    formatSummary(packet(78, [ethernet(ETHERTYPE_IPV6), ipv6(6, 24), tcp])),
    "1700000000.123456 IP6 fd00::1.40000 > fd00::2.80: Flags [S], seq 1, win 32767, " +
      "options [mss 1440], length 0",
  );
  assert.equal(
    formatSummary(packet(82, [ethernet(ETHERTYPE_IPV6), ipv6(17, 28), udp(5353, 53, 28)])),
    "1700000000.123456 IP6 fd00::1.5353 > fd00::2.53: UDP, length 20",
  );
});

Deno.test("formatSummary() writes a later IPv6 fragment as frag (offset|length)", () => {
  const fragment = ipv6(44, 24, {
    extensions: [{
      type: "fragment",
      nextHeader: 17,
      length: 8,
      offset: 1480,
      moreFragments: false,
      id: 0x1234,
    }],
  });
  assert.equal(
    formatSummary(packet(78, [ethernet(ETHERTYPE_IPV6), fragment])),
    "1700000000.123456 IP6 fd00::1 > fd00::2: frag (1480|16)",
  );
});

Deno.test("formatSummary() writes an unknown IPv6 next header as ip-proto-N after extensions", () => {
  const pkt = packet(94, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(0, 40, {
      extensions: [{
        type: "hopByHop",
        nextHeader: 99,
        length: 8,
        options: [{ type: 1, length: 6 }],
      }],
    }),
  ]);
  assert.equal(formatSummary(pkt), "1700000000.123456 IP6 fd00::1 > fd00::2: ip-proto-99 32");
});

Deno.test("formatSummary() writes ARP and RARP as tcpdump does", () => {
  const frameOf = (layer: ArpLayer, length = 60) =>
    formatSummary(packet(length, [ethernet(ETHERTYPE_ARP), layer]));
  assert.equal(
    frameOf(arp(1)),
    "1700000000.123456 ARP, Request who-has 10.40.1.1 tell 10.40.2.3, length 46",
  );
  assert.equal(
    frameOf(
      arp(2, {
        senderMac: "74:83:ef:07:d0:a9",
        senderIp: "10.40.1.1",
        targetMac: "a6:82:4b:c9:a1:a7",
        targetIp: "10.40.2.3",
      }),
      42,
    ),
    "1700000000.123456 ARP, Reply 10.40.1.1 is-at 74:83:ef:07:d0:a9, length 28",
  );
  assert.match(
    frameOf(arp(1, { targetMac: "02:00:00:00:00:09" })),
    /Request who-has 10\.40\.1\.1 \(02:00:00:00:00:09\) tell 10\.40\.2\.3, length 46$/,
  );
  assert.match(
    frameOf(arp(3, { targetMac: "a6:82:4b:c9:a1:a7", senderIp: "0.0.0.0", targetIp: "0.0.0.0" })),
    /ARP, Reverse Request who-is a6:82:4b:c9:a1:a7 tell a6:82:4b:c9:a1:a7, length 46$/,
  );
  assert.match(
    frameOf(arp(4, { targetMac: "a6:82:4b:c9:a1:a7", targetIp: "10.40.2.9" })),
    /ARP, Reverse Reply a6:82:4b:c9:a1:a7 at 10\.40\.2\.9, length 46$/,
  );
  assert.match(frameOf(arp(77)), /ARP, Unknown \(77\), length 46$/);
});

Deno.test("formatSummary() hides VLAN tags and counts them out of the ARP length", () => {
  const pkt = packet(64, [
    ethernet(0x88a8),
    { type: "vlan", tpid: 0x88a8, pcp: 0, dei: 0, id: 200, etherType: 0x8100 },
    { type: "vlan", tpid: 0x8100, pcp: 0, dei: 0, id: 2001, etherType: ETHERTYPE_ARP },
    arp(1, { senderIp: "172.21.79.97", targetIp: "172.21.79.100" }),
  ]);
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 ARP, Request who-has 172.21.79.100 tell 172.21.79.97, length 42",
  );
  const tagged = packet(66, [
    ethernet(0x8100),
    { type: "vlan", tpid: 0x8100, pcp: 0, dei: 0, id: 165, etherType: ETHERTYPE_IPV4 },
    ipv4(17, 48),
    udp(5353, 53, 28),
  ]);
  assert.equal(
    formatSummary(tagged),
    "1700000000.123456 IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 20",
  );
});

Deno.test("formatSummary() writes a later IPv4 fragment as ip-proto-N, like tcpdump", () => {
  const pkt = packet(58, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(17, 44, { fragmentOffset: 1480, moreFragments: true, dontFragment: false }),
  ]);
  assert.equal(formatSummary(pkt), "1700000000.123456 IP 10.0.0.1 > 10.0.0.2: ip-proto-17");
});

Deno.test("formatSummary() writes an unknown IP protocol as ip-proto-N and its length", () => {
  const pkt = packet(58, [ethernet(ETHERTYPE_IPV4), ipv4(99, 44)]);
  assert.equal(formatSummary(pkt), "1700000000.123456 IP 10.0.0.1 > 10.0.0.2: ip-proto-99 24");
});

Deno.test("formatSummary() writes IP in IP as two IP headers, like tcpdump", () => {
  const pkt = packet(82, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(4, 68, { src: "192.0.2.1", dst: "192.0.2.2" }),
    ipv4(17, 48),
    udp(5353, 53, 28),
  ]);
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP 192.0.2.1 > 192.0.2.2: IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 20",
  );
});

Deno.test("formatSummary() writes other EtherTypes with MAC addresses, name and hex", () => {
  assert.equal(
    formatSummary(packet(60, [ethernet(0x88cc)])),
    "1700000000.123456 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype LLDP (0x88cc), length 60",
  );
  assert.equal(
    formatSummary(packet(60, [ethernet(0x9999)])),
    "1700000000.123456 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x9999), " +
      "length 60",
  );
  assert.equal(
    formatSummary(packet(60, [ethernet(46)])),
    "1700000000.123456 02:00:00:00:00:01 > 02:00:00:00:00:02, 802.3, length 60",
  );
});

Deno.test("formatSummary() writes Linux cooked and BSD loopback frames like Ethernet ones", () => {
  const sll = {
    frame: frame(76, { linkType: LINKTYPE_LINUX_SLL }),
    layers: [
      {
        type: "sll" as const,
        packetType: 4,
        arphrdType: 1,
        address: "02:00:00:00:00:01",
        protocol: ETHERTYPE_IPV4,
      },
      ipv4(6, 60),
      synTcp(),
    ],
    truncated: false,
  };
  assert.equal(formatSummary(sll), formatSummary(synPacket()));
  const loopback = {
    frame: frame(52, { linkType: LINKTYPE_NULL }),
    layers: [{ type: "loopback" as const, family: 2 }, ipv4(17, 48), udp(5353, 53, 28)],
    truncated: false,
  };
  assert.equal(
    formatSummary(loopback),
    "1700000000.123456 IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 20",
  );
  const unknownFamily = {
    frame: frame(44, { linkType: LINKTYPE_NULL }),
    layers: [{ type: "loopback" as const, family: 99 }],
    truncated: false,
  };
  assert.equal(formatSummary(unknownFamily), "1700000000.123456 AF 99, length 44");
});

Deno.test("formatSummary() ends a truncated packet with tcpdump's marker for the last layer", () => {
  const pkt = synPacket();
  pkt.frame.captured = 60;
  pkt.layers[2] = { type: "tcp", partial: true, srcPort: 12336, dstPort: 12336 };
  pkt.truncated = true;
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP 10.0.0.1.12336 > 10.0.0.2.12336: [|tcp]",
  );
  const snapped = packet(1514, [ethernet(ETHERTYPE_IPV4), ipv4(17, 1500), udp(5353, 53, 1480)], {
    truncated: true,
  });
  assert.equal(
    formatSummary(snapped),
    "1700000000.123456 IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 1472 [|udp]",
  );
});

Deno.test("formatSummary() ends a packet with a decode error with the layer, offset and reason", () => {
  const pkt = packet(98, [
    ethernet(ETHERTYPE_IPV4),
    { type: "ipv4", partial: true, version: 4, headerLength: 16 },
  ], {
    error: { layer: "ipv4", reason: "header length 16 is below the minimum 20", offset: 14 },
  });
  assert.equal(
    formatSummary(pkt),
    "1700000000.123456 IP [error: ipv4 at 14: header length 16 is below the minimum 20]",
  );
  const transport = packet(54, [ethernet(ETHERTYPE_IPV6), ipv6(58, 0)], {
    error: {
      layer: "icmpv6",
      reason: "the IP length leaves 0 bytes, less than the 4-byte header",
      offset: 54,
    },
  });
  assert.equal(
    formatSummary(transport),
    "1700000000.123456 IP6 fd00::1 > fd00::2: [error: icmpv6 at 54: the IP length leaves 0 bytes, " +
      "less than the 4-byte header]",
  );
  const nothing = {
    frame: frame(41, { linkType: 101 }),
    layers: [],
    truncated: true,
    error: { layer: "ip", reason: "IP version 3 is neither 4 nor 6", offset: 0 },
  };
  assert.equal(
    formatSummary(nothing),
    "1700000000.123456 IP [error: ip at 0: IP version 3 is neither 4 nor 6]",
  );
});

Deno.test("formatSummary() escapes the free-form text of a record", () => {
  // Addresses and times come from the decoders, which build them from numbers only (the fuzz
  // tests check it); error text and layer names are escaped.
  const evil = "\x1b]0;owned\x07\x9b31m\u202e";
  const pkt = packet(74, [ethernet(ETHERTYPE_IPV4), ipv4(6, 60), synTcp()], {
    truncated: true,
    error: { layer: evil, reason: evil, offset: 1 },
  });
  const line = formatSummary(pkt);
  assert.equal(hasControlCharacters(line), false);
  assert.ok(line.includes(".]0;owned..31m."));
});

Deno.test("formatSummary() adds colour only when asked, around the same text", () => {
  const pkt = synPacket();
  const plain = formatSummary(pkt);
  assert.ok(!plain.includes(ESC));
  assert.ok(!formatSummary(pkt, { color: false }).includes(ESC));
  const colored = formatSummary(pkt, { color: true });
  assert.ok(colored.includes(ESC));
  assert.equal(stripEscapes(colored), plain);
  const arpPlain = formatSummary(packet(60, [ethernet(ETHERTYPE_ARP), arp(1)]));
  const arpColored = formatSummary(packet(60, [ethernet(ETHERTYPE_ARP), arp(1)]), { color: true });
  assert.equal(stripEscapes(arpColored), arpPlain);
});

Deno.test("paint() writes the codes node:util's styleText writes for each style", () => {
  const styles = [
    ["protocol", "green"],
    ["address", "cyan"],
    ["flags", "yellow"],
    ["layer", "bold"],
    ["problem", "red"],
  ] as const;
  for (const [style, format] of styles) {
    assert.equal(
      paint(style, "10.0.0.1"),
      styleText(format, "10.0.0.1", { validateStream: false }),
    );
  }
});

/**
 * Fixtures (see tests/testdata/README.md) whose every line tcpdump 4.99 prints the same way:
 * no application payload tcpdump would decode, no IPv6 extension headers, no SLL2 direction.
 */
const TCPDUMP_PARITY_FIXTURES = [
  "arp_ping.pcap",
  "ping6_ndp.pcap",
  "refused.pcap",
  "tcp_sack.pcap",
  "lo_tcp.pcap",
  "ipv4_options.pcap",
  "any_sll.pcap",
];

const canRunTcpdump = Deno.permissions.querySync({ name: "read" }).state === "granted" &&
  Deno.permissions.querySync({ name: "run" }).state === "granted" && haveProgram("tcpdump");

Deno.test({
  name: "formatSummary() prints the recorded fixtures as tcpdump -n -tt -S does",
  ignore: !canRunTcpdump,
  fn: async (t) => {
    for (const name of TCPDUMP_PARITY_FIXTURES) {
      await t.step(name, async () => {
        const path = fixture(name);
        const tcpdump = await run("tcpdump", ["-n", "-tt", "-S", "-r", path], {
          env: { TZ: "UTC" },
        });
        assert.equal(tcpdump.code, 0, tcpdump.stderr);
        const ours: string[] = [];
        let number = 0;
        for await (const record of readRecords(path)) {
          const pkt = decodePacket(record.data, record.linkType, {
            number: ++number,
            time: formatTime(record.seconds, record.nanos, record.digits),
            length: record.length,
          });
          ours.push(formatSummary(pkt));
        }
        assert.deepEqual(ours, tcpdump.stdout.trimEnd().split("\n"));
      });
    }
  },
});

// ------------------------------------------------------------------------------------ verbose

Deno.test("formatVerbose() writes a frame line and one line per layer with every field", () => {
  assert.equal(
    formatVerbose(synPacket()),
    [
      "frame 1 time=1700000000.123456 len=74 caplen=74 linktype=1",
      "ethernet src=02:00:00:00:00:01 dst=02:00:00:00:00:02 type=0x0800",
      "ipv4 ver=4 hdrlen=20 tos=0x00 dscp=0 ecn=0 totallen=60 id=0xd7d1 flags=DF fragoff=0 " +
      "ttl=64 proto=6 (tcp) cksum=0x0ac3 (ok) src=10.0.0.1 dst=10.0.0.2",
      "tcp sport=55920 dport=80 seq=928549246 ack=0 hdrlen=40 flags=SYN (0x002) win=32767 " +
      "cksum=0x1421 (ok) urg=0 payload=0 options=[mss 16396 (len 4), sackOK (len 2), " +
      "TS val 1306300950 ecr 0 (len 10), nop, wscale 2 (len 3)]",
    ].join("\n"),
  );
});

Deno.test("formatVerbose() shows checksum verdicts, IPv4 flags and options, and the interface", () => {
  const pkt = packet(62, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(17, 48, {
      headerLength: 24,
      dscp: 46,
      ecn: 1,
      reservedFlag: true,
      moreFragments: true,
      checksumValid: false,
      options: [{ type: 148, length: 4 }],
    }),
    { ...udp(5353, 53, 28), checksumValid: null },
  ]);
  pkt.frame.interface = 2;
  const lines = formatVerbose(pkt).split("\n");
  assert.equal(lines[0], "frame 1 time=1700000000.123456 len=62 caplen=62 linktype=1 interface=2");
  assert.equal(
    lines[2],
    "ipv4 ver=4 hdrlen=24 tos=0xb9 dscp=46 ecn=1 totallen=48 id=0xd7d1 flags=RF,DF,MF " +
      "fragoff=0 ttl=64 proto=17 (udp) cksum=0x0ac3 (bad) src=10.0.0.1 dst=10.0.0.2 " +
      "options=[RA(148) len=4]",
  );
  assert.equal(lines[3], "udp sport=5353 dport=53 len=28 cksum=0x5b7e (unverified)");
});

Deno.test("formatVerbose() writes ARP, VLAN, ICMP and ICMPv6 fields", () => {
  const arpText = formatVerbose(packet(64, [
    ethernet(0x8100),
    { type: "vlan", tpid: 0x8100, pcp: 5, dei: 1, id: 165, etherType: ETHERTYPE_ARP },
    arp(1),
  ])).split("\n");
  assert.equal(arpText[2], "vlan tpid=0x8100 pcp=5 dei=1 id=165 type=0x0806");
  assert.equal(
    arpText[3],
    "arp htype=1 ptype=0x0800 hlen=6 plen=4 op=1 (request) sha=a6:82:4b:c9:a1:a7 " +
      "spa=10.40.2.3 tha=00:00:00:00:00:00 tpa=10.40.1.1",
  );
  const icmpText = formatVerbose(
    packet(98, [ethernet(ETHERTYPE_IPV4), ipv4(1, 84), icmp(8, 0, { id: 16420, seq: 0 })]),
  ).split("\n");
  assert.equal(icmpText[3], "icmp type=8 code=0 cksum=0xb7db (ok) id=16420 seq=0");
  const ndText = formatVerbose(packet(86, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(58, 32),
    icmpv6(135, 0, { target: "fe80::546f:f7ff:fee1:f", ndOptions: [{ type: 14, length: 8 }] }),
  ])).split("\n");
  assert.equal(
    ndText[2],
    "ipv6 ver=6 tclass=0x00 flow=0x12345 plen=32 next=58 (icmpv6) hlim=64 src=fd00::1 dst=fd00::2",
  );
  assert.equal(
    ndText[3],
    "icmpv6 type=135 code=0 cksum=0x566e (ok) target=fe80::546f:f7ff:fee1:f " +
      "ndopts=[nonce(14) len=8]",
  );
});

Deno.test("formatVerbose() puts each IPv6 extension header on an indented line", () => {
  const pkt = packet(118, [
    ethernet(ETHERTYPE_IPV6),
    ipv6(0, 64, {
      extensions: [
        { type: "hopByHop", nextHeader: 43, length: 8, options: [{ type: 5, length: 4 }] },
        { type: "routing", nextHeader: 44, length: 24, routingType: 0, segmentsLeft: 1 },
        { type: "fragment", nextHeader: 17, length: 8, offset: 0, moreFragments: true, id: 7 },
      ],
    }),
    udp(5353, 53, 24),
  ]);
  const lines = formatVerbose(pkt).split("\n");
  assert.deepEqual(lines.slice(3, 6), [
    "  hopByHop next=43 (routing) len=8 options=[RouterAlert(5) len=4]",
    "  routing next=44 (fragment) len=24 rtype=0 segleft=1",
    "  fragment next=17 (udp) len=8 offset=0 more=true id=0x00000007",
  ]);
  assert.equal(lines[6], "udp sport=5353 dport=53 len=24 cksum=0x5b7e (ok)");
});

Deno.test("formatVerbose() marks a partial layer and ends with truncation and error lines", () => {
  const pkt = packet(262144, [
    ethernet(ETHERTYPE_IPV4),
    ipv4(6, 12336, { checksumValid: false }),
    { type: "tcp", partial: true, srcPort: 12336, dstPort: 12336, seq: 808464432 },
  ], {
    truncated: true,
    error: { layer: "tcp", reason: "header needs 20 bytes, 12 captured", offset: 34 },
  });
  pkt.frame.captured = 46;
  const lines = formatVerbose(pkt).split("\n");
  assert.deepEqual(lines.slice(3), [
    "tcp (partial) sport=12336 dport=12336 seq=808464432",
    "truncated: the headers promise more than the 46 bytes captured",
    "error: tcp at 34: header needs 20 bytes, 12 captured",
  ]);
});

Deno.test("formatVerbose() makes strings terminal-safe and colours only when asked", () => {
  const evil = "\x1b[2J\x9b";
  const pkt = packet(74, [ethernet(ETHERTYPE_IPV4), ipv4(6, 60, { src: evil }), synTcp()], {
    error: { layer: "tcp", reason: evil, offset: 34 },
  });
  const plain = formatVerbose(pkt);
  assert.equal(hasControlCharacters(plain), false);
  assert.ok(plain.includes("src=.[2J."));
  const colored = formatVerbose(pkt, { color: true });
  assert.ok(colored.includes(ESC));
  assert.equal(stripEscapes(colored), plain);
});

// ---------------------------------------------------------------------------------------- hex

Deno.test("formatHex() gives nothing for no bytes", () => {
  assert.equal(formatHex(new Uint8Array(0)), "");
});

Deno.test("formatHex() pads a one-byte line so the ASCII column lines up", () => {
  assert.equal(formatHex(new Uint8Array([0x45])), "0000  45" + " ".repeat(47) + "E");
});

Deno.test("formatHex() writes 15 bytes on one padded line", () => {
  const bytes = new Uint8Array([
    0x45,
    0x10,
    0x00,
    0x3c,
    0x97,
    0x53,
    0x40,
    0x00,
    0x40,
    0x06,
    0xa5,
    0x56,
    0x7f,
    0x00,
    0x00,
  ]);
  assert.equal(
    formatHex(bytes),
    "0000  45 10 00 3c 97 53 40 00 40 06 a5 56 7f 00 00     E..<.S@.@..V...",
  );
});

Deno.test("formatHex() writes 16 bytes on exactly one line", () => {
  const bytes = new Uint8Array([
    0x45,
    0x10,
    0x00,
    0x3c,
    0x97,
    0x53,
    0x40,
    0x00,
    0x40,
    0x06,
    0xa5,
    0x56,
    0x7f,
    0x00,
    0x00,
    0x01,
  ]);
  assert.equal(
    formatHex(bytes),
    "0000  45 10 00 3c 97 53 40 00 40 06 a5 56 7f 00 00 01  E..<.S@.@..V....",
  );
});

Deno.test("formatHex() starts a second line at offset 0010 for the 17th byte", () => {
  const bytes = new Uint8Array(17).map((_, i) => 0x41 + i);
  assert.equal(
    formatHex(bytes),
    "0000  41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP\n" +
      "0010  51" + " ".repeat(47) + "Q",
  );
});

Deno.test("formatHex() shows every byte outside 0x20-0x7e as a dot", () => {
  const bytes = new Uint8Array([0x00, 0x1b, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0x9b, 0xff, 0x0a]);
  const dump = formatHex(bytes);
  assert.equal(dump.slice(dump.length - 10), "... ~.....");
  assert.equal(hasControlCharacters(dump), false);
  const all = formatHex(new Uint8Array(256).map((_, i) => i));
  assert.equal(hasControlCharacters(all), false);
  assert.equal(all.split("\n").length, 16);
});

Deno.test("formatHex() widens the offsets when the data passes 64 KiB", () => {
  const lines = formatHex(new Uint8Array(0x10001)).split("\n");
  assert.equal(lines[0]!.slice(0, 7), "00000  ");
  assert.equal(lines[lines.length - 1], "10000  00" + " ".repeat(47) + ".");
});

// --------------------------------------------------------------------------------------- JSON

Deno.test("formatJson() writes frame, layers, truncated and error, in that order", () => {
  const pkt = packet(98, [
    ethernet(ETHERTYPE_IPV4),
    { type: "ipv4", partial: true, version: 4, headerLength: 16 },
  ], {
    error: { layer: "ipv4", reason: "header length 16 is below the minimum 20", offset: 14 },
  });
  const line = formatJson(pkt);
  assert.deepEqual(Object.keys(JSON.parse(line)), ["frame", "layers", "truncated", "error"]);
  assert.deepEqual(JSON.parse(line), pkt);
  assert.ok(!line.includes("\n"));
  assert.deepEqual(Object.keys(JSON.parse(formatJson(synPacket()))), [
    "frame",
    "layers",
    "truncated",
  ]);
});

Deno.test("formatJson() leaves out a captured packet's raw bytes", () => {
  const pkt: CapturedPacket = { ...synPacket(), data: new Uint8Array([0x1b, 0x5b, 0x32, 0x4a]) };
  const line = formatJson(pkt);
  assert.ok(!line.includes('"data"'));
  assert.deepEqual(Object.keys(JSON.parse(line)), ["frame", "layers", "truncated"]);
  assert.deepEqual(JSON.parse(line), synPacket());
});

Deno.test("formatJson() writes pure ASCII, escaping control and non-ASCII characters", () => {
  const evil = "\x1b[2J\x7f\x9b\u202e😀";
  const pkt = packet(74, [ethernet(ETHERTYPE_IPV4), ipv4(6, 60, { src: evil }), synTcp()]);
  const line = formatJson(pkt);
  assert.equal(hasControlCharacters(line), false);
  assert.ok(!line.includes("\x7f"));
  assert.equal((JSON.parse(line).layers[1] as Ipv4Layer).src, evil);
});

// -------------------------------------------------------------------------------------- safety

Deno.test("safeText() maps every character outside 0x20-0x7e to a dot", () => {
  let all = "";
  for (let i = 0; i < 0x100; i++) all += String.fromCharCode(i);
  const safe = safeText(all);
  assert.equal(safe.length, 0x100);
  assert.equal(safe.slice(0x20, 0x7f), all.slice(0x20, 0x7f));
  assert.equal(safe.slice(0, 0x20), ".".repeat(0x20));
  assert.equal(safe.slice(0x7f), ".".repeat(0x81));
});

// ------------------------------------------------------------------------------- OutputWriter

/** A sink that records each write and accepts at most `limit` bytes a call. */
class RecordingSink implements SyncWriter {
  readonly writes: Uint8Array[] = [];
  constructor(readonly limit = Infinity) {}
  writeSync(p: Uint8Array): number {
    const n = Math.min(p.length, this.limit);
    this.writes.push(p.slice(0, n));
    return n;
  }
  text(): string {
    const total = this.writes.reduce((sum, w) => sum + w.length, 0);
    const all = new Uint8Array(total);
    let offset = 0;
    for (const w of this.writes) {
      all.set(w, offset);
      offset += w.length;
    }
    return new TextDecoder().decode(all);
  }
}

/** A sink whose reader has gone: every write throws BrokenPipe. Counts the writes tried. */
class ClosedPipeSink implements SyncWriter {
  calls = 0;
  writeSync(): number {
    this.calls++;
    throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  }
}

/** A sink that fails with EAGAIN until `fail` is cleared, then records into `sink`. */
class FlakySink implements SyncWriter {
  fail = true;
  readonly sink = new RecordingSink();
  writeSync(p: Uint8Array): number {
    if (this.fail) throw new Error("Resource temporarily unavailable (os error 11)");
    return this.sink.writeSync(p);
  }
}

Deno.test("OutputWriter writes nothing until its buffer fills or it is flushed", () => {
  const sink = new RecordingSink();
  const out = new OutputWriter(sink);
  for (let i = 0; i < 1000; i++) out.writeLine("line " + i);
  assert.equal(sink.writes.length, 0);
  out.flush();
  assert.equal(sink.writes.length, 1);
  assert.equal(sink.text(), Array.from({ length: 1000 }, (_, i) => "line " + i + "\n").join(""));
  out.flush();
  assert.equal(sink.writes.length, 1);
});

Deno.test("OutputWriter writes in chunks no larger than its buffer", () => {
  const sink = new RecordingSink();
  const out = new OutputWriter(sink, { bufferSize: 64 });
  let expected = "";
  for (let i = 0; i < 500; i++) {
    const line = "1700000000." + i + " IP 10.0.0.1 > 10.0.0.2: ip-proto-99 " + i;
    out.writeLine(line);
    expected += line + "\n";
  }
  out.flush();
  assert.equal(sink.text(), expected);
  assert.ok(sink.writes.every((w) => w.length <= 64));
  assert.ok(sink.writes.length >= expected.length / 64);
  assert.ok(sink.writes.length < expected.length / 16);
});

Deno.test("OutputWriter writes a string larger than its buffer in pieces", () => {
  const sink = new RecordingSink();
  const out = new OutputWriter(sink, { bufferSize: 16 });
  const big = "0123456789abcdef".repeat(100) + "xyz";
  out.write(big);
  out.flush();
  assert.equal(sink.text(), big);
  assert.ok(sink.writes.every((w) => w.length <= 16));
});

Deno.test("OutputWriter keeps multi-byte characters whole across chunks", () => {
  const sink = new RecordingSink();
  const out = new OutputWriter(sink, { bufferSize: 5 });
  const text = "aé€😀".repeat(50);
  out.writeLine(text);
  out.flush();
  assert.equal(sink.text(), text + "\n");
  for (const w of sink.writes) new TextDecoder("utf-8", { fatal: true }).decode(w);
});

Deno.test("OutputWriter continues partial writes until every byte is written", () => {
  const sink = new RecordingSink(3);
  const out = new OutputWriter(sink, { bufferSize: 32 });
  const text = "a line of output that the sink takes three bytes at a time\n".repeat(20);
  out.write(text);
  out.flush();
  assert.equal(sink.text(), text);
  assert.ok(sink.writes.every((w) => w.length <= 3));
});

Deno.test("OutputWriter reports a closed pipe once as OutputClosedError, then drops writes", () => {
  const sink = new ClosedPipeSink();
  const out = new OutputWriter(sink, { bufferSize: 16 });
  assert.equal(out.closed, false);
  assert.throws(() => out.write("more than sixteen bytes of output"), OutputClosedError);
  assert.equal(out.closed, true);
  out.writeLine("dropped");
  out.flush();
  out[Symbol.dispose]();
  assert.equal(sink.calls, 1);
});

Deno.test("OutputWriter treats an EPIPE error code like BrokenPipe", () => {
  const sink: SyncWriter = {
    writeSync(): number {
      throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    },
  };
  const out = new OutputWriter(sink);
  out.writeLine("x");
  assert.throws(() => out.flush(), OutputClosedError);
  assert.equal(out.closed, true);
});

Deno.test("OutputWriter keeps unwritten bytes after another write error, for a retry", () => {
  const flaky = new FlakySink();
  const out = new OutputWriter(flaky, { bufferSize: 8 });
  assert.throws(
    () => out.write("0123456789abcdefghij"),
    { message: "Cannot write output: Resource temporarily unavailable (os error 11)" },
  );
  assert.equal(out.closed, false);
  flaky.fail = false;
  out.flush();
  assert.equal(flaky.sink.text(), "0123456789abcdefghij");
});

Deno.test("OutputWriter keeps long lines, encoded one by one, in order with short ones", () => {
  for (const bufferSize of [8, 64, 4096]) {
    const sink = new RecordingSink(7);
    const out = new OutputWriter(sink, { bufferSize });
    let expected = "";
    for (let i = 0; i < 30; i++) {
      // Lines of 3 to about 1,000 characters, some with characters of two to four bytes.
      const line = (i % 4 === 0 ? "é€😀" : "json").repeat(i * i) + i;
      out.writeLine(line);
      expected += line + "\n";
    }
    out.flush();
    assert.equal(sink.text(), expected, `buffer of ${bufferSize}`);
    assert.ok(sink.writes.every((w) => w.length <= 7));
  }
});

Deno.test("OutputWriter keeps a long line and its line break after a write error", () => {
  const flaky = new FlakySink();
  const out = new OutputWriter(flaky, { bufferSize: 64 });
  const long = "x".repeat(500);
  assert.throws(() => out.writeLine(long), { message: /^Cannot write output: Resource/ });
  flaky.fail = false;
  out.writeLine("next");
  out.flush();
  assert.equal(flaky.sink.text(), long + "\nnext\n");
});

Deno.test("OutputWriter keeps lines written as bytes in order with lines given as strings", () => {
  const sink = new RecordingSink(5);
  const out = new OutputWriter(sink, { bufferSize: 32 });
  let expected = "";
  for (let i = 0; i < 40; i++) {
    if (i % 3 === 0) {
      out.writeLine("string " + i);
      expected += "string " + i + "\n";
    } else {
      // Some byte lines are longer than the whole buffer: it grows to hold them.
      const line = out.beginLine();
      line.text("bytes ".repeat(i % 7));
      line.decimal(i * 100_003);
      out.endLine();
      expected += "bytes ".repeat(i % 7) + i * 100_003 + "\n";
    }
  }
  out.flush();
  assert.equal(sink.text(), expected);
  assert.ok(sink.writes.every((w) => w.length <= 5));
});

Deno.test("OutputWriter drops lines written as bytes once the reader has gone", () => {
  const sink = new ClosedPipeSink();
  const out = new OutputWriter(sink, { bufferSize: 16 });
  const writeLine = () => {
    out.beginLine().text("a line of twenty-four b");
    out.endLine();
  };
  assert.throws(writeLine, OutputClosedError);
  for (let i = 0; i < 100; i++) writeLine();
  out.flush();
  assert.equal(sink.calls, 1);
});

Deno.test("OutputWriter rejects a buffer too small for one character", () => {
  assert.throws(() => new OutputWriter(new RecordingSink(), { bufferSize: 3 }), RangeError);
  assert.throws(() => new OutputWriter(new RecordingSink(), { bufferSize: 1.5 }), RangeError);
});

Deno.test("OutputWriter flushes when disposed", () => {
  const sink = new RecordingSink();
  {
    using out = new OutputWriter(sink);
    out.writeLine("bye");
  }
  assert.equal(sink.text(), "bye\n");
});

Deno.test("LineBytes gives its buffer away without a copy and gathers into one handed back", () => {
  const lines = new LineBytes();
  lines.writeLine("first");
  const given = lines.giveAway();
  assert.equal(new TextDecoder().decode(given), "first\n");
  structuredClone(given, { transfer: [given.buffer as ArrayBuffer] }); // as postMessage does
  assert.equal(given.byteLength, 0, "transferred away");
  lines.reuse(); // nothing handed back: a fresh buffer
  lines.beginLine().text("second");
  lines.endLine();
  const fresh = lines.giveAway();
  assert.equal(new TextDecoder().decode(fresh), "second\n");
  const spare = new Uint8Array(4);
  lines.reuse(spare);
  lines.writeLine("third, longer than the spare, é");
  const again = lines.giveAway();
  assert.equal(new TextDecoder().decode(again), "third, longer than the spare, é\n");
  lines.reuse(spare);
  lines.writeLine("4th");
  assert.equal(lines.giveAway().buffer, spare.buffer, "the handed-back buffer is used");
});
