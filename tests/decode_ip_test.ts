/**
 * IPv4 and IPv6 decoding from the project's own recorded frames (tests/testdata, see its README):
 * plain headers, IPv4 options, IPv4 and IPv6 fragments, IPv6 extension headers, and one corrupted
 * field at a time.
 *
 * Expected values were read from tshark (`tshark -r F -V -x`). Fields that change each time
 * tests/record_fixtures.sh runs (IPv4 ids and checksums, flow labels, fragment ids, ports and
 * transport checksums) are read from the frame's bytes at their RFC offsets; every other field is
 * a literal.
 */

import assert from "node:assert/strict";
import { decodePacket } from "../parsers/decode.ts";
import { decodeIpv4, decodeIpv4Options } from "../parsers/ipv4.ts";
import { decodeIpv6, newIpv6Walk } from "../parsers/ipv6.ts";
import type { Ipv4Layer, Ipv6Layer, Layer, PacketRecord, UdpLayer } from "../parsers/types.ts";
import { load, pick, setU16, u16, u32 } from "./fixtures.ts";

const MAC_A = "02:00:00:00:99:01";
const MAC_B = "02:00:00:00:99:02";
const IP4_A = "10.99.0.1";
const IP4_B = "10.99.0.2";
const IP6_A = "fd00:99::1";
const IP6_B = "fd00:99::2";
const PORT_UDP = 9999;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERNET_LENGTH = 14;
const IP = ETHERNET_LENGTH; // offset of the IP header in an Ethernet frame
const IPV6_LENGTH = 40;
const IPPROTO_HOPOPTS = 0;
const IPPROTO_ICMP = 1;
const IPPROTO_IPV6 = 41;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_ICMPV6 = 58;
const IPV4_OPTION_NOP = 1;
const IPV4_OPTION_EOL = 0;
const IPV4_OPTION_RR = 7;
const IPV4_OPTION_TS = 68;
const IPV4_OPTION_RA = 148;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;

// ---------------------------------------------------------------------------------------------
// Fixture access and byte helpers

const arpPing = await load("arp_ping.pcap");
const fragments = await load("ip_fragments.pcap");
const ipv4Options = await load("ipv4_options.pcap");
const ipv6Ext = await load("ipv6_ext_headers.pcap");
const ping6 = await load("ping6_ndp.pcap");
const refused = await load("refused.pcap");
const tcpSession = await load("tcp_session.pcap");

/** The first record `match` accepts, copied; fails naming `what` when none does. */
/** An Ethernet frame whose IPv4 header carries `protocol` from 10.99.0.`from`. */
function ipv4Frame(protocol: number, from: number) {
  return (d: Uint8Array) =>
    u16(d, 12) === ETHERTYPE_IPV4 && d[IP + 9] === protocol && d[IP + 15] === from;
}

/** An Ethernet frame whose IPv6 header has this Next Header. */
function ipv6Frame(nextHeader: number) {
  return (d: Uint8Array) => u16(d, 12) === ETHERTYPE_IPV6 && d[IP + 6] === nextHeader;
}

/** An Ethernet frame of an IPv4 fragment at this byte offset. */
function ipv4Fragment(offset: number) {
  return (d: Uint8Array) =>
    u16(d, 12) === ETHERTYPE_IPV4 && (u16(d, IP + 6) & 0x1fff) * 8 === offset;
}

/** An Ethernet frame of an IPv6 fragment at this byte offset. */
function ipv6Fragment(offset: number) {
  return (d: Uint8Array) => ipv6Frame(IPPROTO_FRAGMENT)(d) && (u16(d, IP + 42) & 0xfff8) === offset;
}

/** Rewrites the IPv4 header checksum at `ip` so that only the field a test corrupts is wrong. */
function fixIpv4Checksum(data: Uint8Array, ip: number): void {
  const headerLength = (data[ip]! & 0x0f) * 4;
  setU16(data, ip + 10, 0);
  let sum = 0;
  for (let i = ip; i < ip + headerLength; i += 2) sum += u16(data, i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  setU16(data, ip + 10, ~sum & 0xffff);
}

function decodeEthernetFrame(data: Uint8Array): PacketRecord {
  return decodePacket(data, LINKTYPE_ETHERNET);
}

/** The fields of an IPv4 header at `ip` that differ between recordings. */
function ipv4Recorded(data: Uint8Array, ip: number): { id: number; checksum: number } {
  return { id: u16(data, ip + 4), checksum: u16(data, ip + 10) };
}

/** Bytes `[start, end)` of `data` as lower-case hex, as the decoders write option data. */
function hexOf(data: Uint8Array, start: number, end: number): string {
  return Array.from(data.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fields of an IPv6 header at `ip` that differ between recordings. */
function ipv6Recorded(data: Uint8Array, ip: number): { flowLabel: number } {
  return { flowLabel: u32(data, ip) & 0xfffff };
}

// ---------------------------------------------------------------------------------------------
// IPv4

Deno.test("decodePacket() decodes every field of a real IPv4 header without options", () => {
  const data = pick(arpPing, "an echo request", ipv4Frame(IPPROTO_ICMP, 1));
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[1], {
    type: "ipv4",
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength: 84,
    ...ipv4Recorded(data, IP),
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IPPROTO_ICMP,
    checksumValid: true,
    src: IP4_A,
    dst: IP4_B,
    options: [],
  });
  assert.deepEqual(pkt.layers[0], {
    type: "ethernet",
    dst: MAC_B,
    src: MAC_A,
    etherType: ETHERTYPE_IPV4,
  });
  assert.equal(pkt.truncated, false);
});

Deno.test("decodeIpv4() decodes a header at an offset and verifies its checksum", () => {
  const data = pick(arpPing, "an echo reply", ipv4Frame(IPPROTO_ICMP, 2));
  const ip = decodeIpv4(new DataView(data.buffer), IP, data.length);
  assert.deepEqual(ip, {
    type: "ipv4",
    version: 4,
    headerLength: 20,
    dscp: 0,
    ecn: 0,
    totalLength: 84,
    ...ipv4Recorded(data, IP),
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IPPROTO_ICMP,
    checksumValid: true,
    src: IP4_B,
    dst: IP4_A,
    options: [],
  });
});

Deno.test("decodePacket() decodes the DSCP of the IPv4 header of an ICMP error (CS6)", () => {
  const data = pick(refused, "the port unreachable", ipv4Frame(IPPROTO_ICMP, 2));
  const ip = decodeEthernetFrame(data).layers[1] as Ipv4Layer;
  assert.deepEqual([ip.dscp, ip.ecn, ip.totalLength, ip.checksumValid], [48, 0, 88, true]);
});

/** The IPv4 layer of the `index`-th frame of ipv4_options.pcap, checked against its bytes. */
function optionsFrame(index: number): { data: Uint8Array; ip: Ipv4Layer } {
  const record = ipv4Options[index];
  assert.ok(record !== undefined, `ipv4_options.pcap has no frame ${index + 1}`);
  const ip = decodeEthernetFrame(record.data).layers[1] as Ipv4Layer;
  return { data: record.data, ip };
}

Deno.test("decodePacket() lists a NOP and a record route option in a 60-byte IPv4 header", () => {
  const { data, ip } = optionsFrame(0);
  assert.deepEqual(ip, {
    type: "ipv4",
    version: 4,
    headerLength: 60,
    dscp: 0,
    ecn: 0,
    totalLength: 124,
    ...ipv4Recorded(data, IP),
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IPPROTO_ICMP,
    checksumValid: true,
    src: IP4_A,
    dst: IP4_B,
    options: [
      { type: IPV4_OPTION_NOP, length: 1 },
      // Pointer and the nine address slots, as the request left them for the reply to fill.
      { type: IPV4_OPTION_RR, length: 39, data: hexOf(data, IP + 23, IP + 60) },
    ],
  });
});

Deno.test("decodePacket() lists a record route option then an EOL in the reply's IPv4 header", () => {
  const { data, ip } = optionsFrame(1);
  assert.deepEqual([ip.src, ip.headerLength, ip.checksumValid], [IP4_B, 60, true]);
  assert.deepEqual(ip.options, [
    { type: IPV4_OPTION_RR, length: 39, data: hexOf(data, IP + 22, IP + 59) },
    { type: IPV4_OPTION_EOL, length: 1 },
  ]);
});

Deno.test("decodePacket() lists a 40-byte timestamp option in the IPv4 headers of a ping and its reply", () => {
  for (const index of [2, 3]) {
    const { data, ip } = optionsFrame(index);
    assert.deepEqual([ip.headerLength, ip.totalLength, ip.checksumValid], [60, 124, true]);
    assert.deepEqual(ip.options, [
      { type: IPV4_OPTION_TS, length: 40, data: hexOf(data, IP + 22, IP + 60) },
    ]);
  }
});

Deno.test("decodePacket() lists a router alert option and decodes the UDP after the 24-byte header", () => {
  const { data } = optionsFrame(4);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[1], {
    type: "ipv4",
    version: 4,
    headerLength: 24,
    dscp: 0,
    ecn: 0,
    totalLength: 56,
    ...ipv4Recorded(data, IP),
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IPPROTO_UDP,
    checksumValid: true,
    src: IP4_A,
    dst: IP4_B,
    options: [{ type: IPV4_OPTION_RA, length: 4, data: "0000" }],
  });
  assert.deepEqual(pkt.layers[2], {
    type: "udp",
    srcPort: u16(data, IP + 24),
    dstPort: PORT_UDP,
    length: 32,
    checksum: u16(data, IP + 24 + 6),
    checksumValid: true,
  });
});

Deno.test("decodePacket() lists NOP, timestamp and EOL options and stops at the EOL", () => {
  const { data, ip } = optionsFrame(5);
  assert.deepEqual([ip.headerLength, ip.totalLength, ip.checksumValid], [36, 68, true]);
  assert.deepEqual(ip.options, [
    { type: IPV4_OPTION_NOP, length: 1 },
    { type: IPV4_OPTION_TS, length: 12, data: hexOf(data, IP + 23, IP + 33) },
    { type: IPV4_OPTION_EOL, length: 1 },
  ]);
  const udp = decodeEthernetFrame(data).layers[2] as UdpLayer;
  assert.deepEqual([udp.dstPort, udp.length, udp.checksumValid], [PORT_UDP, 32, true]);
});

Deno.test("decodeIpv4Options() lists an option of length 1 and stops the walk there", () => {
  const data = ipv4Options[0]!.data.slice();
  data[IP + 20 + 2] = 1; // the record route's length byte
  fixIpv4Checksum(data, IP);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual((pkt.layers[1] as Ipv4Layer).options, [
    { type: IPV4_OPTION_NOP, length: 1 },
    { type: IPV4_OPTION_RR, length: 1 },
  ]);
  assert.equal((pkt.layers[1] as Ipv4Layer).checksumValid, true);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodeIpv4Options() lists an option running past the header with its length and stops", () => {
  const data = ipv4Options[0]!.data.slice();
  data[IP + 20 + 2] = 60;
  fixIpv4Checksum(data, IP);
  const ip = decodeEthernetFrame(data).layers[1] as Ipv4Layer;
  assert.deepEqual(ip.options, [
    { type: IPV4_OPTION_NOP, length: 1 },
    // The bytes up to the end of the 60-byte header, not the 60 the option claims.
    { type: IPV4_OPTION_RR, length: 60, data: hexOf(data, IP + 23, IP + 60) },
  ]);
});

Deno.test("decodeIpv4Options() lists an option whose length byte is beyond the end with length 1", () => {
  const view = new DataView(new Uint8Array([IPV4_OPTION_NOP, IPV4_OPTION_RA]).buffer);
  assert.deepEqual(decodeIpv4Options(view, 0, 2), [
    { type: IPV4_OPTION_NOP, length: 1 },
    { type: IPV4_OPTION_RA, length: 1 },
  ]);
});

// ---------------------------------------------------------------------------------------------
// IPv4 fragments

Deno.test("decodePacket() decodes the first IPv4 fragment down to the UDP header, unverified", () => {
  const data = pick(fragments, "the first IPv4 fragment", ipv4Fragment(0));
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.slice(1), [
    {
      type: "ipv4",
      version: 4,
      headerLength: 20,
      dscp: 0,
      ecn: 0,
      totalLength: 1500,
      ...ipv4Recorded(data, IP),
      reservedFlag: false,
      dontFragment: false,
      moreFragments: true,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IPPROTO_UDP,
      checksumValid: true,
      src: IP4_A,
      dst: IP4_B,
      options: [],
    },
    {
      type: "udp",
      srcPort: u16(data, IP + 20),
      dstPort: PORT_UDP,
      length: 3008,
      checksum: u16(data, IP + 26),
      // The datagram spans three fragments: its checksum cannot be verified from this one.
      checksumValid: null,
    },
  ]);
  // The frame is whole: a UDP length beyond the fragment is not a short capture.
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodePacket() decodes a later IPv4 fragment with no transport layer", () => {
  const first = pick(fragments, "the first IPv4 fragment", ipv4Fragment(0));
  for (const [offset, totalLength, more] of [[1480, 1500, true], [2960, 68, false]] as const) {
    const data = pick(fragments, `the IPv4 fragment at ${offset}`, ipv4Fragment(offset));
    assert.deepEqual(decodeEthernetFrame(data), {
      frame: {
        number: 1,
        time: "0.000000",
        length: data.length,
        captured: data.length,
        linkType: 1,
      },
      layers: [
        { type: "ethernet", dst: MAC_B, src: MAC_A, etherType: ETHERTYPE_IPV4 },
        {
          type: "ipv4",
          version: 4,
          headerLength: 20,
          dscp: 0,
          ecn: 0,
          totalLength,
          ...ipv4Recorded(data, IP),
          reservedFlag: false,
          dontFragment: false,
          moreFragments: more,
          fragmentOffset: offset,
          ttl: 64,
          protocol: IPPROTO_UDP,
          checksumValid: true,
          src: IP4_A,
          dst: IP4_B,
          options: [],
        },
      ],
      truncated: false,
    });
    assert.equal(u16(data, IP + 4), u16(first, IP + 4), "fragments share the IPv4 id");
  }
});

// ---------------------------------------------------------------------------------------------
// IPv4 corrupted one field at a time

const echoRequest = pick(arpPing, "an echo request", ipv4Frame(IPPROTO_ICMP, 1));
const tcpSyn = pick(tcpSession, "the SYN", (d) => ipv4Frame(IPPROTO_TCP, 1)(d) && d[IP + 33] === 2);

Deno.test("decodePacket() reports IPv4 version 5 as an error of layer ipv4 at the header's offset", () => {
  const data = echoRequest.slice();
  data[IP] = 0x55;
  assert.deepEqual(decodeEthernetFrame(data), {
    frame: { number: 1, time: "0.000000", length: 98, captured: 98, linkType: 1 },
    layers: [{ type: "ethernet", dst: MAC_B, src: MAC_A, etherType: ETHERTYPE_IPV4 }],
    truncated: false,
    error: { layer: "ipv4", reason: "IP version 5 is not 4", offset: IP },
  });
});

Deno.test("decodePacket() reports an IPv4 IHL of 4 as an error, listing version and header length", () => {
  const data = echoRequest.slice();
  data[IP] = 0x44;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.slice(1), [
    { type: "ipv4", partial: true, version: 4, headerLength: 16 },
  ]);
  assert.deepEqual(pkt.error, {
    layer: "ipv4",
    reason: "header length 16 is below the minimum 20",
    offset: IP,
  });
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() reports an IPv4 total length below the header length as an error", () => {
  const data = echoRequest.slice();
  setU16(data, IP + 2, 19);
  fixIpv4Checksum(data, IP);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv4"]);
  const ip = pkt.layers[1] as Ipv4Layer;
  assert.deepEqual([ip.totalLength, ip.checksumValid], [19, true]);
  assert.deepEqual(pkt.error, {
    layer: "ipv4",
    reason: "total length 19 is below the header length 20",
    offset: IP,
  });
});

Deno.test("decodePacket() marks a packet truncated when the IPv4 total length exceeds the frame", () => {
  const data = echoRequest.slice();
  setU16(data, IP + 2, 200);
  fixIpv4Checksum(data, IP);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv4", "icmp"]);
  assert.equal((pkt.layers[1] as Ipv4Layer).totalLength, 200);
  assert.equal(pkt.truncated, true);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodePacket() reports a flipped IPv4 header checksum byte as checksumValid false", () => {
  const data = echoRequest.slice();
  data[IP + 11]! ^= 0x01;
  const pkt = decodeEthernetFrame(data);
  const good = decodeEthernetFrame(echoRequest);
  assert.deepEqual(pkt.layers[1], {
    ...good.layers[1],
    checksum: u16(data, IP + 10),
    checksumValid: false,
  });
  assert.deepEqual(pkt.layers[2], good.layers[2]);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodePacket() reports the reserved IPv4 flag", () => {
  const data = echoRequest.slice();
  data[IP + 6]! |= 0x80;
  fixIpv4Checksum(data, IP);
  const ip = decodeEthernetFrame(data).layers[1] as Ipv4Layer;
  assert.deepEqual([ip.reservedFlag, ip.dontFragment, ip.moreFragments], [true, true, false]);
  assert.equal(ip.checksumValid, true);
});

Deno.test("decodePacket() bounds the transport by the frame when the IPv4 total length is 0 (TSO)", () => {
  const data = tcpSyn.slice();
  setU16(data, IP + 2, 0);
  fixIpv4Checksum(data, IP);
  const pkt = decodeEthernetFrame(data);
  const good = decodeEthernetFrame(tcpSyn);
  assert.deepEqual(pkt.layers.slice(2), good.layers.slice(2));
  assert.equal((pkt.layers[2] as { checksumValid: boolean }).checksumValid, true);
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
});

// ---------------------------------------------------------------------------------------------
// IPv6 and its extension headers

Deno.test("decodePacket() decodes every field of a real IPv6 header without extensions", () => {
  const data = pick(
    ping6,
    "an echo request",
    (d) => ipv6Frame(IPPROTO_ICMPV6)(d) && d[IP + 40] === 128,
  );
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers[0], {
    type: "ethernet",
    dst: MAC_B,
    src: MAC_A,
    etherType: ETHERTYPE_IPV6,
  });
  assert.deepEqual(pkt.layers[1], {
    type: "ipv6",
    version: 6,
    trafficClass: 0,
    ...ipv6Recorded(data, IP),
    payloadLength: 64,
    nextHeader: IPPROTO_ICMPV6,
    hopLimit: 64,
    src: IP6_A,
    dst: IP6_B,
    extensions: [],
  });
});

Deno.test("decodePacket() decodes hop-by-hop and destination options headers and the UDP after them", () => {
  const data = pick(ipv6Ext, "the hop-by-hop packet", ipv6Frame(IPPROTO_HOPOPTS));
  const udp = IP + IPV6_LENGTH + 16;
  assert.deepEqual(decodeEthernetFrame(data), {
    frame: { number: 1, time: "0.000000", length: 96, captured: 96, linkType: 1 },
    layers: [
      { type: "ethernet", dst: MAC_B, src: MAC_A, etherType: ETHERTYPE_IPV6 },
      {
        type: "ipv6",
        version: 6,
        trafficClass: 0,
        ...ipv6Recorded(data, IP),
        payloadLength: 42,
        nextHeader: IPPROTO_HOPOPTS,
        hopLimit: 64,
        src: IP6_A,
        dst: IP6_B,
        extensions: [
          {
            type: "hopByHop",
            nextHeader: 60,
            length: 8,
            // Router alert (MLD), then PadN.
            options: [{ type: 5, length: 4, data: "0000" }, { type: 1, length: 2, data: "" }],
          },
          {
            type: "destinationOptions",
            nextHeader: IPPROTO_UDP,
            length: 8,
            // Experimental 0x1e with 2 bytes of data, then PadN.
            options: [
              { type: 0x1e, length: 4, data: hexOf(data, IP + IPV6_LENGTH + 12, udp - 2) },
              { type: 1, length: 2, data: "" },
            ],
          },
        ],
      },
      {
        type: "udp",
        srcPort: u16(data, udp),
        dstPort: PORT_UDP,
        length: 26,
        checksum: u16(data, udp + 6),
        checksumValid: true,
      },
    ],
    truncated: false,
  });
});

Deno.test("decodePacket() decodes a segment routing header and checksums the UDP to the final segment", () => {
  const data = pick(
    ipv6Ext,
    "the SRH packet",
    (d) => ipv6Frame(IPPROTO_ROUTING)(d) && d[IP + 42] === 4,
  );
  const pkt = decodeEthernetFrame(data);
  const udp = IP + IPV6_LENGTH + 40;
  assert.deepEqual(pkt.layers.slice(1), [
    {
      type: "ipv6",
      version: 6,
      trafficClass: 0,
      ...ipv6Recorded(data, IP),
      payloadLength: 58,
      nextHeader: IPPROTO_ROUTING,
      hopLimit: 64,
      src: IP6_A,
      dst: IP6_B,
      extensions: [
        {
          type: "routing",
          nextHeader: IPPROTO_UDP,
          length: 40,
          routingType: 4,
          segmentsLeft: 1,
          // Last entry 1, flags 0, tag 0, then segments fd00:99::1 and fd00:99::2.
          data: "01000000fd000099000000000000000000000001fd000099000000000000000000000002",
        },
      ],
    },
    {
      type: "udp",
      srcPort: u16(data, udp),
      dstPort: PORT_UDP,
      length: 18,
      checksum: u16(data, udp + 6),
      // Summed over segment list[0] (fd00:99::1), the final destination; tshark agrees.
      checksumValid: true,
    },
  ]);
});

const type0Routed = pick(
  ipv6Ext,
  "the type 0 routing packet",
  (d) => ipv6Frame(IPPROTO_ROUTING)(d) && d[IP + 42] === 0,
);

Deno.test("decodePacket() decodes a type 0 routing header and checksums the UDP to its last address", () => {
  const udp = IP + IPV6_LENGTH + 24;
  assert.deepEqual(decodeEthernetFrame(type0Routed).layers.slice(1), [
    {
      type: "ipv6",
      version: 6,
      trafficClass: 0,
      flowLabel: 0,
      payloadLength: 42,
      nextHeader: IPPROTO_ROUTING,
      hopLimit: 64,
      src: IP6_A,
      dst: IP6_B,
      extensions: [
        {
          type: "routing",
          nextHeader: IPPROTO_UDP,
          length: 24,
          routingType: 0,
          segmentsLeft: 1,
          // Reserved word, then Address[1] fd00:99::1.
          data: "00000000fd000099000000000000000000000001",
        },
      ],
    },
    {
      type: "udp",
      srcPort: PORT_UDP,
      dstPort: PORT_UDP,
      length: 18,
      checksum: u16(type0Routed, udp + 6),
      // Summed over Address[1] (fd00:99::1), the final destination (RFC 8200 8.1); tshark agrees.
      checksumValid: true,
    },
  ]);
});

Deno.test("decodePacket() follows an ICMPv6 parameter problem with the quoted routed packet", () => {
  const data = pick(ipv6Ext, "the parameter problem", ipv6Frame(IPPROTO_ICMPV6));
  const icmp = IP + IPV6_LENGTH;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.slice(0, 3), [
    { type: "ethernet", dst: MAC_A, src: MAC_B, etherType: ETHERTYPE_IPV6 },
    {
      type: "ipv6",
      version: 6,
      trafficClass: 0,
      ...ipv6Recorded(data, IP),
      payloadLength: 90,
      nextHeader: IPPROTO_ICMPV6,
      hopLimit: 64,
      src: IP6_B,
      dst: IP6_A,
      extensions: [],
    },
    {
      type: "icmpv6",
      messageType: 4,
      code: 0,
      checksum: u16(data, icmp + 2),
      checksumValid: true,
      // The pointer: the offending byte is the routing type, at offset 42 of the quoted packet.
      restOfHeader: 42,
    },
  ]);
  // The quoted packet decodes as the original did. tshark 4.0 calls the quoted UDP checksum bad
  // (it sums the quoted header's destination, not the routing header's final one) though it
  // calls the very same bytes good in the original frame.
  assert.deepEqual(pkt.layers.slice(3), decodeEthernetFrame(type0Routed).layers.slice(1));
  assert.equal(pkt.truncated, false);
  assert.equal(pkt.error, undefined);
});

Deno.test("decodeIpv6() reports the upper layer and the checksum's final destination in its walk", () => {
  const walk = newIpv6Walk();
  const hop = pick(ipv6Ext, "the hop-by-hop packet", ipv6Frame(IPPROTO_HOPOPTS));
  decodeIpv6(new DataView(hop.buffer), IP, hop.length, hop.length, walk);
  assert.deepEqual(walk, {
    upperOffset: IP + IPV6_LENGTH + 16,
    upperProtocol: IPPROTO_UDP,
    finalDstOffset: IP + 24,
    laterFragment: false,
    truncated: false,
    error: undefined,
  });
  const srh = pick(
    ipv6Ext,
    "the SRH packet",
    (d) => ipv6Frame(IPPROTO_ROUTING)(d) && d[IP + 42] === 4,
  );
  decodeIpv6(new DataView(srh.buffer), IP, srh.length, srh.length, walk);
  assert.equal(walk.finalDstOffset, IP + IPV6_LENGTH + 8, "segment list[0]");
  decodeIpv6(new DataView(type0Routed.buffer), IP, type0Routed.length, type0Routed.length, walk);
  assert.equal(walk.finalDstOffset, IP + IPV6_LENGTH + 8, "the last of one address");
});

// ---------------------------------------------------------------------------------------------
// IPv6 fragments

Deno.test("decodePacket() decodes the first IPv6 fragment's fragment header and UDP header", () => {
  const data = pick(fragments, "the first IPv6 fragment", ipv6Fragment(0));
  const udp = IP + IPV6_LENGTH + 8;
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.slice(1), [
    {
      type: "ipv6",
      version: 6,
      trafficClass: 0,
      ...ipv6Recorded(data, IP),
      payloadLength: 1456,
      nextHeader: IPPROTO_FRAGMENT,
      hopLimit: 64,
      src: IP6_A,
      dst: IP6_B,
      extensions: [
        {
          type: "fragment",
          nextHeader: IPPROTO_UDP,
          length: 8,
          offset: 0,
          moreFragments: true,
          id: u32(data, IP + IPV6_LENGTH + 4),
        },
      ],
    },
    {
      type: "udp",
      srcPort: u16(data, udp),
      dstPort: PORT_UDP,
      length: 3008,
      checksum: u16(data, udp + 6),
      checksumValid: null,
    },
  ]);
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() decodes a later IPv6 fragment with no transport layer", () => {
  const first = pick(fragments, "the first IPv6 fragment", ipv6Fragment(0));
  for (const [offset, payloadLength, more] of [[1448, 1456, true], [2896, 120, false]] as const) {
    const data = pick(fragments, `the IPv6 fragment at ${offset}`, ipv6Fragment(offset));
    const pkt = decodeEthernetFrame(data);
    assert.deepEqual(pkt.layers.slice(1), [
      {
        type: "ipv6",
        version: 6,
        trafficClass: 0,
        ...ipv6Recorded(data, IP),
        payloadLength,
        nextHeader: IPPROTO_FRAGMENT,
        hopLimit: 64,
        src: IP6_A,
        dst: IP6_B,
        extensions: [
          {
            type: "fragment",
            nextHeader: IPPROTO_UDP,
            length: 8,
            offset,
            moreFragments: more,
            id: u32(first, IP + IPV6_LENGTH + 4),
          },
        ],
      },
    ]);
    assert.equal(pkt.truncated, false);
    assert.equal(pkt.error, undefined);
  }
});

// ---------------------------------------------------------------------------------------------
// IPv6 corrupted one field at a time

const udp6 = pick(refused, "a UDP datagram over IPv6", ipv6Frame(IPPROTO_UDP));
const tcp6Syn = pick(refused, "a TCP SYN over IPv6", ipv6Frame(IPPROTO_TCP));
const hopByHop = pick(ipv6Ext, "the hop-by-hop packet", ipv6Frame(IPPROTO_HOPOPTS));

Deno.test("decodePacket() reports IPv6 version 4 as an error of layer ipv6", () => {
  const data = udp6.slice();
  data[IP] = 0x40 | (data[IP]! & 0x0f);
  assert.deepEqual(decodeEthernetFrame(data), {
    frame: { number: 1, time: "0.000000", length: 94, captured: 94, linkType: 1 },
    layers: [{ type: "ethernet", dst: MAC_B, src: MAC_A, etherType: ETHERTYPE_IPV6 }],
    truncated: false,
    error: { layer: "ipv6", reason: "IP version 4 is not 6", offset: IP },
  });
});

Deno.test("decodePacket() reports an IPv6 payload length of 0 before a UDP header as a udp error", () => {
  const data = udp6.slice();
  setU16(data, IP + 4, 0);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv6"]);
  assert.equal((pkt.layers[1] as Ipv6Layer).payloadLength, 0);
  assert.deepEqual(pkt.error, {
    layer: "udp",
    reason: "the IP length leaves 0 bytes, less than the 8-byte header",
    offset: IP + IPV6_LENGTH,
  });
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() reports an IPv6 payload length of 0 before a TCP header as a tcp error", () => {
  const data = tcp6Syn.slice();
  setU16(data, IP + 4, 0);
  assert.deepEqual(decodeEthernetFrame(data).error, {
    layer: "tcp",
    reason: "the IP length leaves 0 bytes, less than the 20-byte header",
    offset: IP + IPV6_LENGTH,
  });
});

Deno.test("decodePacket() names the hop-by-hop header that runs past the IPv6 payload length", () => {
  const data = hopByHop.slice();
  setU16(data, IP + 4, 4);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual((pkt.layers[1] as Ipv6Layer).extensions, []);
  assert.deepEqual(pkt.error, {
    layer: "hopByHop",
    reason: "extension header of 8 bytes runs past the payload length",
    offset: IP + IPV6_LENGTH,
  });
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() names an extension header the IPv6 payload length leaves no room for", () => {
  const data = hopByHop.slice();
  setU16(data, IP + 4, 0);
  assert.deepEqual(decodeEthernetFrame(data).error, {
    layer: "hopByHop",
    reason: "extension header needs 2 bytes but the payload length leaves 0",
    offset: IP + IPV6_LENGTH,
  });
});

Deno.test("decodePacket() names the destination options header that runs past the payload length", () => {
  const data = hopByHop.slice();
  setU16(data, IP + 4, 12);
  const pkt = decodeEthernetFrame(data);
  const ip = pkt.layers[1] as Ipv6Layer;
  assert.deepEqual(ip.extensions.map((extension) => extension.type), ["hopByHop"]);
  assert.deepEqual(pkt.layers.length, 2);
  assert.deepEqual(pkt.error, {
    layer: "destinationOptions",
    reason: "extension header of 8 bytes runs past the payload length",
    offset: IP + IPV6_LENGTH + 8,
  });
});

Deno.test("decodePacket() names the routing header that runs past the payload length", () => {
  const data = type0Routed.slice();
  setU16(data, IP + 4, 16);
  assert.deepEqual(decodeEthernetFrame(data).error, {
    layer: "routing",
    reason: "extension header of 24 bytes runs past the payload length",
    offset: IP + IPV6_LENGTH,
  });
});

Deno.test("decodePacket() names the fragment header that runs past the payload length", () => {
  const data = pick(fragments, "the last IPv6 fragment", ipv6Fragment(2896));
  setU16(data, IP + 4, 4);
  assert.deepEqual(decodeEthernetFrame(data).error, {
    layer: "fragment",
    reason: "extension header of 8 bytes runs past the payload length",
    offset: IP + IPV6_LENGTH,
  });
});

Deno.test("decodePacket() marks a packet truncated when the IPv6 payload length exceeds the frame", () => {
  const data = udp6.slice();
  setU16(data, IP + 4, 400);
  const pkt = decodeEthernetFrame(data);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv6", "udp"]);
  assert.equal(pkt.truncated, true);
  assert.equal(pkt.error, undefined);
});

// ---------------------------------------------------------------------------------------------
// Tunnels, built from real packets

/** `inner` (a raw IP packet) behind the IPv4 header of `outer`'s frame, with lengths fixed. */
function tunnelled(outer: Uint8Array, protocol: number, inner: Uint8Array): Uint8Array {
  const data = new Uint8Array(IP + 20 + inner.length);
  data.set(outer.subarray(0, IP + 20));
  data.set(inner, IP + 20);
  data[IP + 9] = protocol;
  setU16(data, IP + 2, 20 + inner.length);
  fixIpv4Checksum(data, IP);
  return data;
}

Deno.test("decodePacket() decodes IPv6 in IPv4 (protocol 41) down to the inner UDP, checksummed", () => {
  const data = tunnelled(echoRequest, IPPROTO_IPV6, udp6.subarray(IP));
  const pkt = decodeEthernetFrame(data);
  const inner: Layer[] = decodeEthernetFrame(udp6).layers.slice(1);
  assert.deepEqual(pkt.layers.map((layer) => layer.type), ["ethernet", "ipv4", "ipv6", "udp"]);
  assert.equal((pkt.layers[1] as Ipv4Layer).protocol, IPPROTO_IPV6);
  assert.deepEqual(pkt.layers.slice(2), inner);
  assert.equal((pkt.layers[3] as UdpLayer).checksumValid, true);
  assert.equal(pkt.truncated, false);
});

Deno.test("decodePacket() decodes IPv4 in IPv4 (protocol 4) from a raw link", () => {
  const data = tunnelled(echoRequest, 4, echoRequest.subarray(IP)).subarray(IP);
  const pkt = decodePacket(data, LINKTYPE_RAW);
  const inner = decodeEthernetFrame(echoRequest).layers.slice(1);
  assert.deepEqual(pkt.layers.slice(1), inner);
  assert.equal((pkt.layers[0] as Ipv4Layer).protocol, 4);
  assert.equal(pkt.error, undefined);
});
