/**
 * Writes the two captures snout's offline benchmark reads: classic pcap files (Ethernet,
 * microsecond timestamps) of deterministic, mixed traffic with valid checksums.
 *
 * - `diverse-N.pcap` draws addresses from thousands of hosts (6,000 IPv4 hosts spread over
 *   10.0.0.0/8 and 6,000 IPv6 hosts spread over fd00::/16).
 * - `hosts256-N.pcap` draws them from 256 hosts (192 IPv4, 64 IPv6).
 *
 * The traffic is mostly TCP connections (SYN with MSS, SACK-permitted, timestamps and window
 * scale; timestamps on the other segments; payloads of up to 200 bytes and a few full-sized
 * segments), DNS queries and answers over UDP, ICMP echo with a few port-unreachables quoting
 * IPv4+UDP, ARP, IPv6 (TCP, UDP, ICMPv6 echo) and a few 802.1Q-tagged frames.
 *
 * Usage:
 * `deno run --allow-read --allow-write bench/make_captures.ts [--count N] [--out DIR] [--seed S]`
 *
 * The script imports nothing from the project, so it keeps working while the library changes.
 *
 * @module
 */

// ---- Command line --------------------------------------------------------------------------

/** Packets per capture when `--count` is not given. */
const DEFAULT_PACKET_COUNT = 1_000_000;
/** Where the captures go when `--out` is not given, relative to the working directory. */
const DEFAULT_OUTPUT_DIRECTORY = "bench/out";
/** PRNG seed when `--seed` is not given. */
const DEFAULT_SEED = 20240607;

// ---- pcap ------------------------------------------------------------------------------------

/** Classic pcap magic for microsecond timestamps. */
const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;
const PCAP_GLOBAL_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;
const PCAP_SNAPLEN = 262144;
const LINKTYPE_ETHERNET = 1;
const MICROSECONDS_PER_SECOND = 1_000_000;
const MICROSECONDS_PER_MILLISECOND = 1_000;
/** First packet's time: 2023-11-14T22:13:20Z. */
const CAPTURE_START_EPOCH_SECONDS = 1_700_000_000;
/** Mean gap between packets. */
const MEAN_PACKET_GAP_MICROSECONDS = 40;

/** Bytes gathered before one write to the file. */
const WRITE_CHUNK_BYTES = 16 * 1024 * 1024;
/** Upper bound of one record (header plus the largest frame built here). */
const MAX_RECORD_BYTES = 2048;

// ---- Link layer ----------------------------------------------------------------------------

const MAC_LENGTH = 6;
const VLAN_TAG_LENGTH = 4;
/** Shortest Ethernet frame without its FCS; shorter frames are padded with zeros. */
const ETHERNET_MIN_FRAME_LENGTH = 60;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_PCP_SHIFT = 13;
const VLAN_IDS = [10, 20, 100, 4000] as const;
/** First MAC byte: locally administered, unicast. */
const MAC_LOCAL_BIT = 0x02;
const MAC_UNICAST_LOCAL_MASK = 0xfc;
const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

const ARP_HARDWARE_ETHERNET = 1;
const ARP_OPERATION_REQUEST = 1;
const ARP_OPERATION_REPLY = 2;
const ARP_IPV4_PACKET_LENGTH = 28;
const IPV4_ADDRESS_LENGTH = 4;

// ---- Network layer ---------------------------------------------------------------------------

const IPV4_HEADER_LENGTH = 20;
const IPV4_VERSION_IHL = 0x45;
const IPV4_DONT_FRAGMENT = 0x4000;
const IPV6_HEADER_LENGTH = 40;
const IPV6_ADDRESS_LENGTH = 16;
const IPV6_VERSION_SHIFT = 28;
const IPV6_VERSION = 6;
const IPV6_FLOW_LABEL_MASK = 0xfffff;
const IPV6_HOP_LIMIT = 64;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const INITIAL_TTLS = [64, 64, 63, 128, 127, 255] as const;
/** 10.0.0.0/8 */
const IPV4_NETWORK_10 = 0x0a000000;
const IPV4_HOST_BITS_MASK = 0x00ffffff;
const OCTET_MASK = 0xff;
const BROADCAST_OCTET = 0xff;
/** fd00::/16 */
const IPV6_PREFIX_FD00 = [0xfd, 0x00] as const;

// ---- Transport layer -------------------------------------------------------------------------

const TCP_HEADER_LENGTH = 20;
const TCP_DATA_OFFSET_SHIFT = 12;
const TCP_WORD_LENGTH = 4;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const TCP_OPTION_NOP = 1;
const TCP_OPTION_MSS = 2;
const TCP_OPTION_WINDOW_SCALE = 3;
const TCP_OPTION_SACK_PERMITTED = 4;
const TCP_OPTION_TIMESTAMPS = 8;
const TCP_OPTION_MSS_LENGTH = 4;
const TCP_OPTION_WINDOW_SCALE_LENGTH = 3;
const TCP_OPTION_SACK_PERMITTED_LENGTH = 2;
const TCP_OPTION_TIMESTAMPS_LENGTH = 10;
/** Linux SYN: MSS, SACK-permitted, timestamps, NOP, window scale. */
const TCP_SYN_OPTIONS_LINUX_LENGTH = 20;
/** Windows-like SYN: MSS, NOP, window scale, NOP, NOP, SACK-permitted. */
const TCP_SYN_OPTIONS_PLAIN_LENGTH = 12;
/** NOP, NOP, timestamps. */
const TCP_TIMESTAMP_OPTIONS_LENGTH = 12;
const TCP_MSS = 1460;
const TCP_WINDOW_SCALES = [7, 8, 9] as const;
const TCP_SYN_WINDOW = 64240;
const TCP_MAX_WINDOW = 0xffff;
const TCP_MIN_WINDOW = 500;
const TCP_SERVER_PORTS = [443, 443, 443, 443, 8443, 22, 5432, 993] as const;
/** Server ports whose segments each carry one TLS application-data record. */
const TLS_PORTS: ReadonlySet<number> = new Set([443, 8443, 993]);
const TLS_RECORD_HEADER_LENGTH = 5;
const TLS_CONTENT_APPLICATION_DATA = 0x17;
const TLS_VERSION_1_2 = 0x0303;
const EPHEMERAL_PORT_FIRST = 32768;
const EPHEMERAL_PORT_LAST = 60999;
/** Percent of connections whose segments carry no timestamps (Windows-like peers). */
const TCP_NO_TIMESTAMPS_PERCENT = 10;
/** Mean number of data or ACK segments in an established connection. */
const TCP_MEAN_ESTABLISHED_SEGMENTS = 16;
/** Long enough for a TLS record header and one byte, so TLS dissectors need no reassembly. */
const TCP_MIN_PAYLOAD = 6;
const TCP_MAX_SMALL_PAYLOAD = 200;
const TCP_MAX_REQUEST_PAYLOAD = 120;
/** Percent of server data segments that are full-sized (1514-byte frames with timestamps). */
const TCP_FULL_SEGMENT_PERCENT = 3;
/** Percent of established-state steps that are a pure ACK rather than data. */
const TCP_PURE_ACK_PERCENT = 35;
/** Percent of established-state steps that are client data (the rest are server data). */
const TCP_CLIENT_DATA_PERCENT = 30;
/** Percent of connections that end with a RST instead of FINs. */
const TCP_RESET_PERCENT = 4;

const UDP_HEADER_LENGTH = 8;
const UDP_CHECKSUM_OFFSET = 6;
/** A computed UDP checksum of zero is sent as all ones (zero means "no checksum"). */
const UDP_CHECKSUM_ZERO_SUBSTITUTE = 0xffff;
const DNS_PORT = 53;
const DNS_HEADER_LENGTH = 12;
const DNS_FLAGS_QUERY_RD = 0x0100;
const DNS_FLAGS_RESPONSE_RD_RA = 0x8180;
const DNS_TYPE_A = 1;
const DNS_TYPE_AAAA = 28;
const DNS_CLASS_IN = 1;
/** Pointer to the question name at offset 12. */
const DNS_NAME_POINTER_TO_QUESTION = 0xc00c;
const DNS_MAX_TTL = 86400;
const DNS_NAME_COUNT = 1024;
const DNS_MAX_PENDING = 256;
const DNS_QUESTION_FIXED_LENGTH = 4;
const DNS_ANSWER_FIXED_LENGTH = 12;

const ICMP_HEADER_LENGTH = 8;
const ICMP_CHECKSUM_OFFSET = 2;
const ICMP_ECHO_REPLY = 0;
const ICMP_DESTINATION_UNREACHABLE = 3;
const ICMP_CODE_PORT_UNREACHABLE = 3;
const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;
/** Like `ping`: 8 bytes of timestamp then a counting pattern. */
const PING_DATA_LENGTH = 56;
const PING_TIMESTAMP_LENGTH = 8;
const PING_PATTERN_FIRST = 0x10;
const PING_MAX_PENDING = 64;
const UNREACHABLE_QUOTED_PAYLOAD_MAX = 120;

const TCP_CHECKSUM_OFFSET = 16;
const UINT16_MASK = 0xffff;
const UINT16_RANGE = 0x10000;
const UINT32_RANGE = 0x1_0000_0000;
const BITS_PER_BYTE = 8;
const HALF_WORD_BITS = 16;

// ---- Traffic mix, per 10,000 events ----------------------------------------------------------

const MIX_TCP = 7500;
const MIX_DNS = 1500;
const MIX_ICMP_ECHO = 450;
const MIX_ICMP_UNREACHABLE = 50;
const MIX_ICMPV6_ECHO = 200;
const MIX_ARP = 300;
const MIX_TOTAL = MIX_TCP + MIX_DNS + MIX_ICMP_ECHO + MIX_ICMP_UNREACHABLE + MIX_ICMPV6_ECHO +
  MIX_ARP;
/** Percent of TCP connections and DNS exchanges carried over IPv6. */
const IPV6_PERCENT = 15;
/** Per mille of frames (or connections) that carry an 802.1Q tag. */
const VLAN_PER_MILLE = 10;
const PERCENT = 100;
const PER_MILLE = 1000;

/** Random bytes that payloads are copied from. */
const PAYLOAD_POOL_LENGTH = 1 << 16;

/** How a capture's hosts are drawn. */
interface CaptureProfile {
  /** File name stem. */
  name: string;
  ipv4Hosts: number;
  ipv6Hosts: number;
  /** Connections open at once. */
  flowSlots: number;
}

const PROFILES: readonly CaptureProfile[] = [
  { name: "diverse", ipv4Hosts: 6000, ipv6Hosts: 6000, flowSlots: 4096 },
  { name: "hosts256", ipv4Hosts: 192, ipv6Hosts: 64, flowSlots: 512 },
];

/** mulberry32: small, fast and good enough for traffic that only has to look plausible. */
class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    // The constants are mulberry32's own.
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.uint32() / UINT32_RANGE) * n);
  }

  /** An integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }

  /** True `percent` times in a hundred. */
  percent(percent: number): boolean {
    return this.below(PERCENT) < percent;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)] as T;
  }
}

/** The hosts of one capture: addresses, their MACs, and the IPv6 addresses' checksum sums. */
class Hosts {
  readonly ipv4: Uint32Array;
  readonly ipv4Mac: Uint8Array;
  readonly ipv6: Uint8Array;
  readonly ipv6Mac: Uint8Array;
  /** Unfolded one's-complement sum of each IPv6 address, for pseudo-headers. */
  readonly ipv6Sum: Uint32Array;

  constructor(random: Random, ipv4Count: number, ipv6Count: number) {
    this.ipv4 = new Uint32Array(ipv4Count);
    const seen = new Set<number>();
    for (let i = 0; i < ipv4Count;) {
      const address = (IPV4_NETWORK_10 | (random.uint32() & IPV4_HOST_BITS_MASK)) >>> 0;
      const last = address & OCTET_MASK;
      if (last === 0 || last === BROADCAST_OCTET || seen.has(address)) continue;
      seen.add(address);
      this.ipv4[i++] = address;
    }
    this.ipv6 = new Uint8Array(ipv6Count * IPV6_ADDRESS_LENGTH);
    this.ipv6Sum = new Uint32Array(ipv6Count);
    for (let i = 0; i < ipv6Count; i++) {
      const start = i * IPV6_ADDRESS_LENGTH;
      this.ipv6[start] = IPV6_PREFIX_FD00[0];
      this.ipv6[start + 1] = IPV6_PREFIX_FD00[1];
      for (let j = IPV6_PREFIX_FD00.length; j < IPV6_ADDRESS_LENGTH; j++) {
        this.ipv6[start + j] = random.below(OCTET_MASK + 1);
      }
      this.ipv6Sum[i] = onesComplementSum(this.ipv6, start, start + IPV6_ADDRESS_LENGTH, 0);
    }
    this.ipv4Mac = randomMacs(random, ipv4Count);
    this.ipv6Mac = randomMacs(random, ipv6Count);
  }

  count(ipv6: boolean): number {
    return ipv6 ? this.ipv6Sum.length : this.ipv4.length;
  }

  macs(ipv6: boolean): Uint8Array {
    return ipv6 ? this.ipv6Mac : this.ipv4Mac;
  }
}

function randomMacs(random: Random, count: number): Uint8Array {
  const macs = new Uint8Array(count * MAC_LENGTH);
  for (let i = 0; i < macs.length; i++) macs[i] = random.below(OCTET_MASK + 1);
  for (let i = 0; i < macs.length; i += MAC_LENGTH) {
    macs[i] = ((macs[i] ?? 0) & MAC_UNICAST_LOCAL_MASK) | MAC_LOCAL_BIT;
  }
  return macs;
}

/** Adds big-endian 16-bit words of `bytes[start..end)` to `initial`, without folding. */
function onesComplementSum(bytes: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] ?? 0) << BITS_PER_BYTE) | (bytes[i + 1] ?? 0);
  if (i < end) sum += (bytes[i] ?? 0) << BITS_PER_BYTE;
  return sum;
}

/** Folds a sum to 16 bits and complements it: the value to store in a checksum field. */
function finishChecksum(sum: number): number {
  let folded = sum;
  while (folded > UINT16_MASK) folded = (folded & UINT16_MASK) + (folded >>> HALF_WORD_BITS);
  return ~folded & UINT16_MASK;
}

/** Gathers records in a large buffer and writes it to the file in big chunks. */
class PcapWriter {
  readonly bytes = new Uint8Array(WRITE_CHUNK_BYTES);
  readonly view = new DataView(this.bytes.buffer);
  #position = 0;
  #file: Deno.FsFile;

  constructor(file: Deno.FsFile) {
    this.#file = file;
    const view = this.view;
    view.setUint32(0, PCAP_MAGIC_MICROSECONDS, true);
    view.setUint16(4, PCAP_VERSION_MAJOR, true);
    view.setUint16(6, PCAP_VERSION_MINOR, true);
    view.setInt32(8, 0, true); // thiszone
    view.setUint32(12, 0, true); // sigfigs
    view.setUint32(16, PCAP_SNAPLEN, true);
    view.setUint32(20, LINKTYPE_ETHERNET, true);
    this.#position = PCAP_GLOBAL_HEADER_LENGTH;
  }

  /** Makes room for one record and returns the offset of its frame's first byte. */
  begin(): number {
    if (this.#position + MAX_RECORD_BYTES > this.bytes.length) this.flush();
    return this.#position + PCAP_RECORD_HEADER_LENGTH;
  }

  /** Pads the frame to the Ethernet minimum and writes its record header. */
  end(frameStart: number, frameEnd: number, seconds: number, microseconds: number): void {
    let end = frameEnd;
    if (end - frameStart < ETHERNET_MIN_FRAME_LENGTH) {
      this.bytes.fill(0, end, frameStart + ETHERNET_MIN_FRAME_LENGTH);
      end = frameStart + ETHERNET_MIN_FRAME_LENGTH;
    }
    const length = end - frameStart;
    const header = frameStart - PCAP_RECORD_HEADER_LENGTH;
    this.view.setUint32(header, seconds, true);
    this.view.setUint32(header + 4, microseconds, true);
    this.view.setUint32(header + 8, length, true);
    this.view.setUint32(header + 12, length, true);
    this.#position = end;
  }

  flush(): void {
    let written = 0;
    while (written < this.#position) {
      written += this.#file.writeSync(this.bytes.subarray(written, this.#position));
    }
    this.#position = 0;
  }
}

/** Where a TCP connection is in its life. */
const FlowState = {
  Closed: 0,
  SynSent: 1,
  SynReceived: 2,
  Established: 3,
  ClientFin: 4,
  ServerFin: 5,
} as const;
type FlowState = typeof FlowState[keyof typeof FlowState];

/** One TCP connection in progress. */
interface Flow {
  state: FlowState;
  ipv6: boolean;
  client: number;
  server: number;
  clientPort: number;
  serverPort: number;
  clientSeq: number;
  serverSeq: number;
  timestamps: boolean;
  clientTsOffset: number;
  serverTsOffset: number;
  vlan: number;
  segmentsLeft: number;
  clientTtl: number;
  serverTtl: number;
}

/** A DNS query waiting for its answer, or a ping waiting for its reply. */
interface Exchange {
  ipv6: boolean;
  client: number;
  server: number;
  clientPort: number;
  id: number;
  sequence: number;
  name: number;
  type: number;
}

function closedFlow(): Flow {
  return {
    state: FlowState.Closed,
    ipv6: false,
    client: 0,
    server: 0,
    clientPort: 0,
    serverPort: 0,
    clientSeq: 0,
    serverSeq: 0,
    timestamps: true,
    clientTsOffset: 0,
    serverTsOffset: 0,
    vlan: 0,
    segmentsLeft: 0,
    clientTtl: 0,
    serverTtl: 0,
  };
}

function encodeDnsName(labels: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: number[] = [];
  for (const label of labels) {
    const bytes = encoder.encode(label);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  return new Uint8Array(parts);
}

function makeDnsNames(random: Random): Uint8Array[] {
  const words = ["api", "www", "cdn", "mail", "static", "auth", "img", "db", "edge", "login"];
  const domains = ["example", "snout", "packets", "kernel", "deno", "tcpdump", "wireshark"];
  const tops = ["com", "net", "org", "io", "internal"];
  const names: Uint8Array[] = [];
  for (let i = 0; i < DNS_NAME_COUNT; i++) {
    const host = `${random.pick(words)}${random.below(PER_MILLE)}`;
    names.push(encodeDnsName([host, random.pick(domains), random.pick(tops)]));
  }
  return names;
}

/** Builds one capture's packets, one event at a time. */
class TrafficGenerator {
  readonly #random: Random;
  readonly #hosts: Hosts;
  readonly #writer: PcapWriter;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #flows: Flow[];
  readonly #payload: Uint8Array;
  readonly #dnsNames: Uint8Array[];
  readonly #dnsPending: Exchange[] = [];
  readonly #pingPending: Exchange[] = [];
  #seconds = CAPTURE_START_EPOCH_SECONDS;
  #microseconds = 0;
  #pingId = 0;
  #pingSequence = 0;
  /** The pseudo-header sum of the last header `#ip` wrote. */
  #pseudo = 0;

  constructor(random: Random, profile: CaptureProfile, writer: PcapWriter) {
    this.#random = random;
    this.#hosts = new Hosts(random, profile.ipv4Hosts, profile.ipv6Hosts);
    this.#writer = writer;
    this.#bytes = writer.bytes;
    this.#view = writer.view;
    this.#flows = Array.from({ length: profile.flowSlots }, closedFlow);
    this.#payload = new Uint8Array(PAYLOAD_POOL_LENGTH);
    for (let i = 0; i < this.#payload.length; i++) this.#payload[i] = random.below(OCTET_MASK + 1);
    this.#dnsNames = makeDnsNames(random);
  }

  /** Writes exactly one packet. */
  next(): void {
    this.#tick();
    const draw = this.#random.below(MIX_TOTAL);
    let bound = MIX_TCP;
    if (draw < bound) return this.#tcp();
    if (draw < (bound += MIX_DNS)) return this.#dns();
    if (draw < (bound += MIX_ICMP_ECHO)) return this.#ping(false);
    if (draw < (bound += MIX_ICMP_UNREACHABLE)) return this.#portUnreachable();
    if (draw < (bound += MIX_ICMPV6_ECHO)) return this.#ping(true);
    return this.#arp();
  }

  #tick(): void {
    this.#microseconds += 1 + this.#random.below(2 * MEAN_PACKET_GAP_MICROSECONDS);
    if (this.#microseconds >= MICROSECONDS_PER_SECOND) {
      this.#seconds += 1;
      this.#microseconds -= MICROSECONDS_PER_SECOND;
    }
  }

  #milliseconds(): number {
    return (this.#seconds - CAPTURE_START_EPOCH_SECONDS) * PER_MILLE +
      Math.floor(this.#microseconds / MICROSECONDS_PER_MILLISECOND);
  }

  #vlanPerPacket(): number {
    return this.#random.below(PER_MILLE) < VLAN_PER_MILLE ? this.#random.pick(VLAN_IDS) : 0;
  }

  #twoHosts(ipv6: boolean): [number, number] {
    const count = this.#hosts.count(ipv6);
    const a = this.#random.below(count);
    let b = this.#random.below(count - 1);
    if (b >= a) b++;
    return [a, b];
  }

  // ---- Layers: each writes its header at `offset` and returns the offset after it. ----

  #ethernet(offset: number, ipv6: boolean, dst: number, src: number, type: number, vlan: number) {
    const macs = this.#hosts.macs(ipv6);
    this.#bytes.set(macs.subarray(dst * MAC_LENGTH, dst * MAC_LENGTH + MAC_LENGTH), offset);
    this.#bytes.set(
      macs.subarray(src * MAC_LENGTH, src * MAC_LENGTH + MAC_LENGTH),
      offset + MAC_LENGTH,
    );
    let at = offset + 2 * MAC_LENGTH;
    if (vlan !== 0) {
      this.#view.setUint16(at, ETHERTYPE_VLAN);
      this.#view.setUint16(at + 2, (this.#random.below(BITS_PER_BYTE) << VLAN_PCP_SHIFT) | vlan);
      at += VLAN_TAG_LENGTH;
    }
    this.#view.setUint16(at, type);
    return at + 2;
  }

  /** Writes an IPv4 or IPv6 header, leaves its pseudo-header sum in `#pseudo`. */
  #ip(
    offset: number,
    ipv6: boolean,
    src: number,
    dst: number,
    protocol: number,
    payloadLength: number,
    ttl: number,
  ): number {
    const view = this.#view;
    if (ipv6) {
      const flowLabel = this.#random.uint32() & IPV6_FLOW_LABEL_MASK;
      view.setUint32(offset, ((IPV6_VERSION << IPV6_VERSION_SHIFT) | flowLabel) >>> 0);
      view.setUint16(offset + 4, payloadLength);
      view.setUint8(offset + 6, protocol);
      view.setUint8(offset + 7, IPV6_HOP_LIMIT);
      const addresses = this.#hosts.ipv6;
      this.#bytes.set(
        addresses.subarray(src * IPV6_ADDRESS_LENGTH, (src + 1) * IPV6_ADDRESS_LENGTH),
        offset + 8,
      );
      this.#bytes.set(
        addresses.subarray(dst * IPV6_ADDRESS_LENGTH, (dst + 1) * IPV6_ADDRESS_LENGTH),
        offset + 8 + IPV6_ADDRESS_LENGTH,
      );
      this.#pseudo = (this.#hosts.ipv6Sum[src] ?? 0) + (this.#hosts.ipv6Sum[dst] ?? 0) +
        payloadLength + protocol;
      return offset + IPV6_HEADER_LENGTH;
    }
    const source = this.#hosts.ipv4[src] ?? 0;
    const destination = this.#hosts.ipv4[dst] ?? 0;
    this.#ipv4Header(
      offset,
      source,
      destination,
      protocol,
      IPV4_HEADER_LENGTH + payloadLength,
      ttl,
    );
    this.#pseudo = (source >>> HALF_WORD_BITS) + (source & UINT16_MASK) +
      (destination >>> HALF_WORD_BITS) + (destination & UINT16_MASK) + payloadLength + protocol;
    return offset + IPV4_HEADER_LENGTH;
  }

  #ipv4Header(
    offset: number,
    source: number,
    destination: number,
    protocol: number,
    totalLength: number,
    ttl: number,
  ): void {
    const view = this.#view;
    view.setUint8(offset, IPV4_VERSION_IHL);
    view.setUint8(offset + 1, 0);
    view.setUint16(offset + 2, totalLength);
    view.setUint16(offset + 4, this.#random.below(UINT16_RANGE));
    view.setUint16(offset + 6, protocol === IPPROTO_ICMP ? 0 : IPV4_DONT_FRAGMENT);
    view.setUint8(offset + 8, ttl);
    view.setUint8(offset + 9, protocol);
    view.setUint16(offset + 10, 0);
    view.setUint32(offset + 12, source);
    view.setUint32(offset + 16, destination);
    const sum = onesComplementSum(this.#bytes, offset, offset + IPV4_HEADER_LENGTH, 0);
    view.setUint16(offset + 10, finishChecksum(sum));
  }

  #copyPayload(offset: number, length: number): number {
    const start = this.#random.below(PAYLOAD_POOL_LENGTH - length);
    this.#bytes.set(this.#payload.subarray(start, start + length), offset);
    return offset + length;
  }

  #storeChecksum(start: number, end: number, fieldOffset: number, pseudo: number, udp: boolean) {
    this.#view.setUint16(start + fieldOffset, 0);
    let checksum = finishChecksum(onesComplementSum(this.#bytes, start, end, pseudo));
    if (udp && checksum === 0) checksum = UDP_CHECKSUM_ZERO_SUBSTITUTE;
    this.#view.setUint16(start + fieldOffset, checksum);
  }

  #finish(frame: number, end: number): void {
    this.#writer.end(frame, end, this.#seconds, this.#microseconds);
  }

  // ---- TCP ----

  #tcp(): void {
    const random = this.#random;
    const flow = this.#flows[random.below(this.#flows.length)] as Flow;
    switch (flow.state) {
      case FlowState.Closed:
        return this.#openFlow(flow);
      case FlowState.SynSent:
        flow.state = FlowState.SynReceived;
        this.#segment(flow, false, TCP_SYN | TCP_ACK, 0);
        flow.serverSeq = (flow.serverSeq + 1) >>> 0;
        return;
      case FlowState.SynReceived:
        flow.state = FlowState.Established;
        return this.#segment(flow, true, TCP_ACK, 0);
      case FlowState.Established:
        return this.#established(flow);
      case FlowState.ClientFin:
        flow.state = FlowState.ServerFin;
        this.#segment(flow, false, TCP_FIN | TCP_ACK, 0);
        flow.serverSeq = (flow.serverSeq + 1) >>> 0;
        return;
      case FlowState.ServerFin:
        flow.state = FlowState.Closed;
        return this.#segment(flow, true, TCP_ACK, 0);
    }
  }

  #openFlow(flow: Flow): void {
    const random = this.#random;
    flow.ipv6 = random.percent(IPV6_PERCENT);
    [flow.client, flow.server] = this.#twoHosts(flow.ipv6);
    flow.clientPort = random.between(EPHEMERAL_PORT_FIRST, EPHEMERAL_PORT_LAST);
    flow.serverPort = random.pick(TCP_SERVER_PORTS);
    flow.clientSeq = random.uint32();
    flow.serverSeq = random.uint32();
    flow.timestamps = !random.percent(TCP_NO_TIMESTAMPS_PERCENT);
    flow.clientTsOffset = random.uint32();
    flow.serverTsOffset = random.uint32();
    flow.vlan = random.below(PER_MILLE) < VLAN_PER_MILLE ? random.pick(VLAN_IDS) : 0;
    flow.segmentsLeft = 1 + random.below(2 * TCP_MEAN_ESTABLISHED_SEGMENTS);
    flow.clientTtl = random.pick(INITIAL_TTLS);
    flow.serverTtl = random.pick(INITIAL_TTLS);
    flow.state = FlowState.SynSent;
    this.#segment(flow, true, TCP_SYN, 0);
    flow.clientSeq = (flow.clientSeq + 1) >>> 0;
  }

  #established(flow: Flow): void {
    const random = this.#random;
    if (flow.segmentsLeft-- <= 0) {
      if (random.percent(TCP_RESET_PERCENT)) {
        flow.state = FlowState.Closed;
        return this.#segment(flow, random.percent(PERCENT / 2), TCP_RST | TCP_ACK, 0);
      }
      flow.state = FlowState.ClientFin;
      this.#segment(flow, true, TCP_FIN | TCP_ACK, 0);
      flow.clientSeq = (flow.clientSeq + 1) >>> 0;
      return;
    }
    if (random.percent(TCP_PURE_ACK_PERCENT)) {
      return this.#segment(flow, random.percent(PERCENT / 2), TCP_ACK, 0);
    }
    const fromClient = random.percent(TCP_CLIENT_DATA_PERCENT);
    let length: number;
    if (fromClient) {
      length = random.between(TCP_MIN_PAYLOAD, TCP_MAX_REQUEST_PAYLOAD);
    } else if (random.percent(TCP_FULL_SEGMENT_PERCENT)) {
      length = TCP_MSS - (flow.timestamps ? TCP_TIMESTAMP_OPTIONS_LENGTH : 0) -
        (flow.ipv6 ? IPV6_HEADER_LENGTH - IPV4_HEADER_LENGTH : 0);
    } else {
      length = random.between(TCP_MIN_PAYLOAD, TCP_MAX_SMALL_PAYLOAD);
    }
    this.#segment(flow, fromClient, TCP_PSH | TCP_ACK, length);
    if (fromClient) flow.clientSeq = (flow.clientSeq + length) >>> 0;
    else flow.serverSeq = (flow.serverSeq + length) >>> 0;
  }

  #segment(flow: Flow, fromClient: boolean, flags: number, payloadLength: number): void {
    const random = this.#random;
    const view = this.#view;
    const src = fromClient ? flow.client : flow.server;
    const dst = fromClient ? flow.server : flow.client;
    const syn = (flags & TCP_SYN) !== 0;
    const optionsLength = syn
      ? (flow.timestamps ? TCP_SYN_OPTIONS_LINUX_LENGTH : TCP_SYN_OPTIONS_PLAIN_LENGTH)
      : (flow.timestamps ? TCP_TIMESTAMP_OPTIONS_LENGTH : 0);
    const tcpLength = TCP_HEADER_LENGTH + optionsLength + payloadLength;

    const frame = this.#writer.begin();
    const network = this.#ethernet(
      frame,
      flow.ipv6,
      dst,
      src,
      flow.ipv6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4,
      flow.vlan,
    );
    const tcp = this.#ip(
      network,
      flow.ipv6,
      src,
      dst,
      IPPROTO_TCP,
      tcpLength,
      fromClient ? flow.clientTtl : flow.serverTtl,
    );
    const pseudo = this.#pseudo;
    view.setUint16(tcp, fromClient ? flow.clientPort : flow.serverPort);
    view.setUint16(tcp + 2, fromClient ? flow.serverPort : flow.clientPort);
    view.setUint32(tcp + 4, fromClient ? flow.clientSeq : flow.serverSeq);
    const ackNumber = flags & TCP_ACK ? (fromClient ? flow.serverSeq : flow.clientSeq) : 0;
    view.setUint32(tcp + 8, ackNumber);
    const dataOffsetWords = (TCP_HEADER_LENGTH + optionsLength) / TCP_WORD_LENGTH;
    view.setUint16(tcp + 12, (dataOffsetWords << TCP_DATA_OFFSET_SHIFT) | flags);
    const window = syn
      ? TCP_SYN_WINDOW
      : (flags & TCP_RST ? 0 : random.between(TCP_MIN_WINDOW, TCP_MAX_WINDOW));
    view.setUint16(tcp + 14, window);
    view.setUint16(tcp + 18, 0); // urgent pointer

    let at = tcp + TCP_HEADER_LENGTH;
    const now = this.#milliseconds();
    const tsValue = ((fromClient ? flow.clientTsOffset : flow.serverTsOffset) + now) >>> 0;
    const tsEcho = flags === TCP_SYN
      ? 0
      : ((fromClient ? flow.serverTsOffset : flow.clientTsOffset) + now - 1) >>> 0;
    if (syn) {
      view.setUint8(at, TCP_OPTION_MSS);
      view.setUint8(at + 1, TCP_OPTION_MSS_LENGTH);
      view.setUint16(
        at + 2,
        flow.ipv6 ? TCP_MSS - (IPV6_HEADER_LENGTH - IPV4_HEADER_LENGTH) : TCP_MSS,
      );
      at += TCP_OPTION_MSS_LENGTH;
      if (flow.timestamps) {
        at = this.#sackPermitted(at);
        at = this.#timestamps(at, tsValue, tsEcho);
        view.setUint8(at++, TCP_OPTION_NOP);
        at = this.#windowScale(at);
      } else {
        view.setUint8(at++, TCP_OPTION_NOP);
        at = this.#windowScale(at);
        view.setUint8(at++, TCP_OPTION_NOP);
        view.setUint8(at++, TCP_OPTION_NOP);
        at = this.#sackPermitted(at);
      }
    } else if (flow.timestamps) {
      view.setUint8(at++, TCP_OPTION_NOP);
      view.setUint8(at++, TCP_OPTION_NOP);
      at = this.#timestamps(at, tsValue, tsEcho);
    }
    const end = this.#copyPayload(at, payloadLength);
    if (payloadLength > TLS_RECORD_HEADER_LENGTH && TLS_PORTS.has(flow.serverPort)) {
      view.setUint8(at, TLS_CONTENT_APPLICATION_DATA);
      view.setUint16(at + 1, TLS_VERSION_1_2);
      view.setUint16(at + 3, payloadLength - TLS_RECORD_HEADER_LENGTH);
    }
    this.#storeChecksum(tcp, end, TCP_CHECKSUM_OFFSET, pseudo, false);
    this.#finish(frame, end);
  }

  #sackPermitted(at: number): number {
    this.#view.setUint8(at, TCP_OPTION_SACK_PERMITTED);
    this.#view.setUint8(at + 1, TCP_OPTION_SACK_PERMITTED_LENGTH);
    return at + TCP_OPTION_SACK_PERMITTED_LENGTH;
  }

  #timestamps(at: number, value: number, echo: number): number {
    this.#view.setUint8(at, TCP_OPTION_TIMESTAMPS);
    this.#view.setUint8(at + 1, TCP_OPTION_TIMESTAMPS_LENGTH);
    this.#view.setUint32(at + 2, value);
    this.#view.setUint32(at + 6, echo);
    return at + TCP_OPTION_TIMESTAMPS_LENGTH;
  }

  #windowScale(at: number): number {
    this.#view.setUint8(at, TCP_OPTION_WINDOW_SCALE);
    this.#view.setUint8(at + 1, TCP_OPTION_WINDOW_SCALE_LENGTH);
    this.#view.setUint8(at + 2, this.#random.pick(TCP_WINDOW_SCALES));
    return at + TCP_OPTION_WINDOW_SCALE_LENGTH;
  }

  // ---- UDP: DNS ----

  #dns(): void {
    const random = this.#random;
    const pending = this.#dnsPending;
    if (pending.length > 0 && (pending.length >= DNS_MAX_PENDING || random.percent(PERCENT / 2))) {
      const index = random.below(pending.length);
      const query = pending[index] as Exchange;
      pending[index] = pending[pending.length - 1] as Exchange;
      pending.pop();
      return this.#dnsMessage(query, true);
    }
    const ipv6 = random.percent(IPV6_PERCENT);
    const [client, server] = this.#twoHosts(ipv6);
    const query: Exchange = {
      ipv6,
      client,
      server,
      clientPort: random.between(EPHEMERAL_PORT_FIRST, EPHEMERAL_PORT_LAST),
      id: random.below(UINT16_RANGE),
      sequence: 0,
      name: random.below(this.#dnsNames.length),
      type: random.percent(PERCENT / 4) ? DNS_TYPE_AAAA : DNS_TYPE_A,
    };
    pending.push(query);
    this.#dnsMessage(query, false);
  }

  #dnsMessage(query: Exchange, response: boolean): void {
    const random = this.#random;
    const view = this.#view;
    const name = this.#dnsNames[query.name] as Uint8Array;
    const rdataLength = query.type === DNS_TYPE_AAAA ? IPV6_ADDRESS_LENGTH : IPV4_ADDRESS_LENGTH;
    const dnsLength = DNS_HEADER_LENGTH + name.length + DNS_QUESTION_FIXED_LENGTH +
      (response ? DNS_ANSWER_FIXED_LENGTH + rdataLength : 0);
    const udpLength = UDP_HEADER_LENGTH + dnsLength;
    const src = response ? query.server : query.client;
    const dst = response ? query.client : query.server;

    const frame = this.#writer.begin();
    const type = query.ipv6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
    const network = this.#ethernet(frame, query.ipv6, dst, src, type, this.#vlanPerPacket());
    const udp = this.#ip(
      network,
      query.ipv6,
      src,
      dst,
      IPPROTO_UDP,
      udpLength,
      random.pick(INITIAL_TTLS),
    );
    const pseudo = this.#pseudo;
    view.setUint16(udp, response ? DNS_PORT : query.clientPort);
    view.setUint16(udp + 2, response ? query.clientPort : DNS_PORT);
    view.setUint16(udp + 4, udpLength);
    let at = udp + UDP_HEADER_LENGTH;
    view.setUint16(at, query.id);
    view.setUint16(at + 2, response ? DNS_FLAGS_RESPONSE_RD_RA : DNS_FLAGS_QUERY_RD);
    view.setUint16(at + 4, 1); // questions
    view.setUint16(at + 6, response ? 1 : 0); // answers
    view.setUint16(at + 8, 0); // authority records
    view.setUint16(at + 10, 0); // additional records
    at += DNS_HEADER_LENGTH;
    this.#bytes.set(name, at);
    at += name.length;
    view.setUint16(at, query.type);
    view.setUint16(at + 2, DNS_CLASS_IN);
    at += DNS_QUESTION_FIXED_LENGTH;
    if (response) {
      view.setUint16(at, DNS_NAME_POINTER_TO_QUESTION);
      view.setUint16(at + 2, query.type);
      view.setUint16(at + 4, DNS_CLASS_IN);
      view.setUint32(at + 6, random.between(1, DNS_MAX_TTL));
      view.setUint16(at + 10, rdataLength);
      at = this.#copyPayload(at + DNS_ANSWER_FIXED_LENGTH, rdataLength);
    }
    this.#storeChecksum(udp, at, UDP_CHECKSUM_OFFSET, pseudo, true);
    this.#finish(frame, at);
  }

  // ---- ICMP and ICMPv6 ----

  #ping(ipv6: boolean): void {
    const random = this.#random;
    const pending = this.#pingPending;
    const index = pending.findIndex((ping) => ping.ipv6 === ipv6);
    if (index >= 0 && (pending.length >= PING_MAX_PENDING || random.percent(PERCENT / 2))) {
      const request = pending[index] as Exchange;
      pending.splice(index, 1);
      return this.#echo(request, true);
    }
    const [client, server] = this.#twoHosts(ipv6);
    this.#pingId = (this.#pingId + 1) & UINT16_MASK;
    this.#pingSequence = (this.#pingSequence + 1) & UINT16_MASK;
    const request: Exchange = {
      ipv6,
      client,
      server,
      clientPort: 0,
      id: this.#pingId,
      sequence: this.#pingSequence,
      name: 0,
      type: 0,
    };
    if (pending.length >= PING_MAX_PENDING) pending.shift();
    pending.push(request);
    this.#echo(request, false);
  }

  #echo(request: Exchange, reply: boolean): void {
    const view = this.#view;
    const ipv6 = request.ipv6;
    const src = reply ? request.server : request.client;
    const dst = reply ? request.client : request.server;
    const icmpLength = ICMP_HEADER_LENGTH + PING_DATA_LENGTH;
    const frame = this.#writer.begin();
    const type = ipv6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
    const network = this.#ethernet(frame, ipv6, dst, src, type, this.#vlanPerPacket());
    const protocol = ipv6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    const icmp = this.#ip(
      network,
      ipv6,
      src,
      dst,
      protocol,
      icmpLength,
      this.#random.pick(INITIAL_TTLS),
    );
    if (ipv6) view.setUint8(icmp, reply ? ICMPV6_ECHO_REPLY : ICMPV6_ECHO_REQUEST);
    else view.setUint8(icmp, reply ? ICMP_ECHO_REPLY : ICMP_ECHO_REQUEST);
    view.setUint8(icmp + 1, 0);
    view.setUint16(icmp + 4, request.id);
    view.setUint16(icmp + 6, request.sequence);
    const data = icmp + ICMP_HEADER_LENGTH;
    view.setUint32(data, request.sequence);
    view.setUint32(data + 4, request.id);
    for (let i = PING_TIMESTAMP_LENGTH; i < PING_DATA_LENGTH; i++) {
      view.setUint8(data + i, PING_PATTERN_FIRST + i - PING_TIMESTAMP_LENGTH);
    }
    const end = data + PING_DATA_LENGTH;
    // ICMPv4's checksum covers only the message; ICMPv6's also covers the pseudo-header.
    this.#storeChecksum(icmp, end, ICMP_CHECKSUM_OFFSET, ipv6 ? this.#pseudo : 0, false);
    this.#finish(frame, end);
  }

  #portUnreachable(): void {
    const random = this.#random;
    const view = this.#view;
    const [client, server] = this.#twoHosts(false);
    const quotedPayload = random.between(0, UNREACHABLE_QUOTED_PAYLOAD_MAX);
    const icmpLength = ICMP_HEADER_LENGTH + IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH;
    const frame = this.#writer.begin();
    const network = this.#ethernet(
      frame,
      false,
      client,
      server,
      ETHERTYPE_IPV4,
      this.#vlanPerPacket(),
    );
    const icmp = this.#ip(
      network,
      false,
      server,
      client,
      IPPROTO_ICMP,
      icmpLength,
      random.pick(INITIAL_TTLS),
    );
    view.setUint8(icmp, ICMP_DESTINATION_UNREACHABLE);
    view.setUint8(icmp + 1, ICMP_CODE_PORT_UNREACHABLE);
    view.setUint32(icmp + 4, 0); // unused
    const quoted = icmp + ICMP_HEADER_LENGTH;
    this.#ipv4Header(
      quoted,
      this.#hosts.ipv4[client] ?? 0,
      this.#hosts.ipv4[server] ?? 0,
      IPPROTO_UDP,
      IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH + quotedPayload,
      random.pick(INITIAL_TTLS),
    );
    const udp = quoted + IPV4_HEADER_LENGTH;
    view.setUint16(udp, random.between(EPHEMERAL_PORT_FIRST, EPHEMERAL_PORT_LAST));
    view.setUint16(udp + 2, random.between(EPHEMERAL_PORT_FIRST, EPHEMERAL_PORT_LAST));
    view.setUint16(udp + 4, UDP_HEADER_LENGTH + quotedPayload);
    // The original datagram's checksum covered bytes that are not quoted: any value will do.
    view.setUint16(udp + UDP_CHECKSUM_OFFSET, 1 + random.below(UINT16_MASK));
    const end = udp + UDP_HEADER_LENGTH;
    this.#storeChecksum(icmp, end, ICMP_CHECKSUM_OFFSET, 0, false);
    this.#finish(frame, end);
  }

  // ---- ARP ----

  #arp(): void {
    const random = this.#random;
    const view = this.#view;
    const bytes = this.#bytes;
    const macs = this.#hosts.ipv4Mac;
    const [asker, target] = this.#twoHosts(false);
    const reply = random.percent(PERCENT / 2);
    const sender = reply ? target : asker;
    const receiver = reply ? asker : target;
    const frame = this.#writer.begin();
    const vlan = this.#vlanPerPacket();
    let arp: number;
    if (reply) {
      arp = this.#ethernet(frame, false, receiver, sender, ETHERTYPE_ARP, vlan);
    } else {
      bytes.set(BROADCAST_MAC, frame);
      bytes.set(
        macs.subarray(sender * MAC_LENGTH, (sender + 1) * MAC_LENGTH),
        frame + MAC_LENGTH,
      );
      let at = frame + 2 * MAC_LENGTH;
      if (vlan !== 0) {
        view.setUint16(at, ETHERTYPE_VLAN);
        view.setUint16(at + 2, vlan);
        at += VLAN_TAG_LENGTH;
      }
      view.setUint16(at, ETHERTYPE_ARP);
      arp = at + 2;
    }
    view.setUint16(arp, ARP_HARDWARE_ETHERNET);
    view.setUint16(arp + 2, ETHERTYPE_IPV4);
    view.setUint8(arp + 4, MAC_LENGTH);
    view.setUint8(arp + 5, IPV4_ADDRESS_LENGTH);
    view.setUint16(arp + 6, reply ? ARP_OPERATION_REPLY : ARP_OPERATION_REQUEST);
    let at = arp + 8;
    bytes.set(macs.subarray(sender * MAC_LENGTH, (sender + 1) * MAC_LENGTH), at);
    view.setUint32(at + MAC_LENGTH, this.#hosts.ipv4[sender] ?? 0);
    at += MAC_LENGTH + IPV4_ADDRESS_LENGTH;
    if (reply) {
      bytes.set(macs.subarray(receiver * MAC_LENGTH, (receiver + 1) * MAC_LENGTH), at);
    } else {
      bytes.fill(0, at, at + MAC_LENGTH);
    }
    view.setUint32(at + MAC_LENGTH, this.#hosts.ipv4[receiver] ?? 0);
    const end = arp + ARP_IPV4_PACKET_LENGTH;
    this.#finish(frame, end);
  }
}

function parseArguments(args: readonly string[]): { count: number; out: string; seed: number } {
  let count = DEFAULT_PACKET_COUNT;
  let out = DEFAULT_OUTPUT_DIRECTORY;
  let seed = DEFAULT_SEED;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[i + 1];
    if (flag === "--help" || flag === "-h") {
      console.log(
        "Usage: deno run --allow-read --allow-write bench/make_captures.ts" +
          " [--count N] [--out DIR] [--seed S]",
      );
      Deno.exit(0);
    }
    if (value === undefined) throw new Error(`Cannot parse arguments: ${flag} needs a value`);
    i++;
    if (flag === "--count" || flag === "--seed") {
      const number = Number(value);
      if (!Number.isSafeInteger(number) || number < (flag === "--count" ? 1 : 0)) {
        throw new Error(`Cannot parse arguments: ${flag} must be a whole number, got "${value}"`);
      }
      if (flag === "--count") count = number;
      else seed = number;
    } else if (flag === "--out") {
      out = value;
    } else {
      throw new Error(`Cannot parse arguments: unknown flag "${flag}"`);
    }
  }
  return { count, out, seed };
}

/** Writes one capture to `path` (through a temporary name, so a partial file never looks done). */
function writeCapture(path: string, profile: CaptureProfile, count: number, seed: number): void {
  const temporary = `${path}.partial`;
  const file = Deno.openSync(temporary, { write: true, create: true, truncate: true });
  try {
    const writer = new PcapWriter(file);
    const generator = new TrafficGenerator(new Random(seed), profile, writer);
    for (let i = 0; i < count; i++) generator.next();
    writer.flush();
  } finally {
    file.close();
  }
  Deno.renameSync(temporary, path);
}

/** Exit status for a command line that cannot be parsed. */
const EXIT_USAGE = 2;

if (import.meta.main) {
  let parsed: ReturnType<typeof parseArguments>;
  try {
    parsed = parseArguments(Deno.args);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(EXIT_USAGE);
  }
  const { count, out, seed } = parsed;
  Deno.mkdirSync(out, { recursive: true });
  for (const [index, profile] of PROFILES.entries()) {
    const path = `${out}/${profile.name}-${count}.pcap`;
    const started = performance.now();
    writeCapture(path, profile, count, seed + index);
    const seconds = ((performance.now() - started) / PER_MILLE).toFixed(1);
    const size = Deno.statSync(path).size;
    console.log(`Wrote ${path}: ${count} packets, ${size} bytes in ${seconds} s`);
  }
}
