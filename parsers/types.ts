/**
 * The records snout's decoders produce. Every record is plain data: it can be
 * serialised with `JSON.stringify` and is the shape `cli.ts --json` prints.
 *
 * @module
 */

/** A decoder's complaint about a header that makes no sense, returned, never thrown. */
export interface DecodeError {
  type: "error";
  /** The layer that could not be decoded (`"ipv4"`, `"tcp"`, ...). */
  layer: string;
  /** What is wrong, in a phrase: `"header length 16 is below the minimum 20"`. */
  reason: string;
  /** Byte offset of that layer's header within the frame. */
  offset: number;
  /** Bytes the header needed, where the problem is a short capture. */
  required?: number;
  /** Bytes there were, where the problem is a short capture. */
  available?: number;
}

/** Per-frame facts that come from the capture, not from the packet's bytes. */
export interface Frame {
  /** 1-based position in the capture. */
  number: number;
  /** Capture time as epoch seconds in decimal, at the capture's full precision. */
  time: string;
  /** Length of the packet on the wire. */
  length: number;
  /** Bytes captured (at most `length`). */
  captured: number;
  /** The LINKTYPE_ value the frame was decoded as. */
  linkType: number;
  /** Interface index (pcapng interface id, or kernel ifindex for live captures). */
  interface?: number;
}

/** Ethernet II header. */
export interface EthernetLayer {
  type: "ethernet";
  /** Destination MAC, lower-case `aa:bb:cc:dd:ee:ff`. */
  dst: string;
  /** Source MAC. */
  src: string;
  /** EtherType, or for 802.3 frames the length field. */
  etherType: number;
}

/** One 802.1Q (tpid 0x8100) or 802.1ad (tpid 0x88a8) tag. */
export interface VlanLayer {
  type: "vlan";
  tpid: number;
  /** Priority code point, 0-7. */
  pcp: number;
  /** Drop eligible indicator, 0 or 1. */
  dei: number;
  /** VLAN identifier, 0-4095. */
  id: number;
  /** EtherType of what follows the tag. */
  etherType: number;
}

/** ARP or RARP (opcode 3 and 4) packet. Addresses are text where their size is known. */
export interface ArpLayer {
  type: "arp";
  hardwareType: number;
  protocolType: number;
  hardwareSize: number;
  protocolSize: number;
  opcode: number;
  /** MAC text for 6-byte hardware addresses, hex otherwise. */
  senderMac: string;
  /** Dotted quad for 4-byte IPv4 addresses, hex otherwise. */
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** One IPv4 option as found in the header. */
export interface Ipv4Option {
  /** Option type byte (copied, class and number together), e.g. 148 for Router Alert. */
  type: number;
  /** Option length in bytes, including the type (and length) byte; 1 for EOL and NOP. */
  length: number;
  /**
   * The option's bytes after its type and length bytes, as hex (up to the end of the header when
   * the length claims more); absent for EOL, NOP and an option without a usable length byte.
   */
  data?: string;
}

/** IPv4 header. */
export interface Ipv4Layer {
  type: "ipv4";
  version: number;
  /** Header length in bytes (IHL * 4). */
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  /** The reserved ("evil") flag bit. */
  reservedFlag: boolean;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in bytes (the header field times 8). */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** Header checksum verdict; null when the header is not wholly captured. */
  checksumValid: boolean | null;
  /** Dotted quad. */
  src: string;
  dst: string;
  options: Ipv4Option[];
}

/** One option of a hop-by-hop or destination options header. */
export interface Ipv6Option {
  /** Option type (the action, change and number bits together); 0 is Pad1, 1 is PadN. */
  type: number;
  /** Option length in bytes, including the type and length bytes; 1 for Pad1. */
  length: number;
  /** The option's data as hex (absent for Pad1). */
  data?: string;
}

/** An IPv6 extension header met while walking the chain. */
export interface Ipv6Extension {
  type: "hopByHop" | "routing" | "fragment" | "destinationOptions" | "ah" | "esp";
  /** Next Header field of this extension (absent for ESP, whose next header is encrypted). */
  nextHeader?: number;
  /** Length of the extension header in bytes. */
  length: number;
  /** Routing header type (routing only; 4 is segment routing). */
  routingType?: number;
  /** Segments left (routing only). */
  segmentsLeft?: number;
  /** Fragment offset in bytes (fragment only). */
  offset?: number;
  /** More-fragments flag (fragment only). */
  moreFragments?: boolean;
  /** Identification (fragment only). */
  id?: number;
  /** Security parameters index (AH and ESP). */
  spi?: number;
  /** Options as type and length, for hop-by-hop and destination options. */
  options?: Ipv6Option[];
  /**
   * The header's bytes after its fixed fields, as hex: for routing, everything after segments
   * left (reserved word or SRH fields, then the addresses); for AH, everything after the SPI
   * (sequence number and integrity check value).
   */
  data?: string;
}

/** IPv6 header with its extension headers. */
export interface Ipv6Layer {
  type: "ipv6";
  version: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** The base header's Next Header field. */
  nextHeader: number;
  hopLimit: number;
  /** RFC 5952 text. */
  src: string;
  dst: string;
  extensions: Ipv6Extension[];
}

/** One TCP option. Known kinds carry their decoded fields; others carry `data` as hex. */
export interface TcpOption {
  kind: number;
  /** Option length byte; absent for EOL (0) and NOP (1). */
  length?: number;
  /** MSS (kind 2). */
  mss?: number;
  /** Window scale shift count (kind 3). */
  shift?: number;
  /** SACK blocks as [left edge, right edge] (kind 5). */
  blocks?: [number, number][];
  /** Timestamp value (kind 8). */
  tsval?: number;
  /** Timestamp echo reply (kind 8). */
  tsecr?: number;
  /** Raw option bytes after kind and length, in hex (unknown kinds, and malformed known ones). */
  data?: string;
}

/** TCP header. */
export interface TcpLayer {
  type: "tcp";
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes (data offset * 4). */
  headerLength: number;
  /** The 12-bit flags field: reserved (3 bits, AE the lowest of them), CWR, ECE, URG, ACK, PSH, RST, SYN, FIN. */
  flags: number;
  window: number;
  checksum: number;
  /** null when the segment is not wholly captured. */
  checksumValid: boolean | null;
  urgentPointer: number;
  /** Bytes of payload by the IP length (not only the captured part). */
  payloadLength: number;
  options: TcpOption[];
}

/** UDP header. */
export interface UdpLayer {
  type: "udp";
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  /** null when the datagram is not wholly captured or (over IPv4) the checksum is 0. */
  checksumValid: boolean | null;
}

/** Fields common to ICMP and ICMPv6 message headers. */
export interface IcmpFields {
  messageType: number;
  code: number;
  checksum: number;
  checksumValid: boolean | null;
  /** Echo identifier (echo request and reply). */
  id?: number;
  /** Echo sequence number. */
  seq?: number;
  /**
   * Bytes 4-7 of the header as one 32-bit number, for every message but echo and timestamp
   * (which carry `id` and `seq` there): the unused word of most errors, the next-hop MTU of
   * "fragmentation needed" and "packet too big", the pointer of "parameter problem" (the top
   * byte over IPv4, the whole word over IPv6), a redirect's gateway, the R/S/O flags of a
   * neighbour advertisement (the top three bits), a router advertisement's hop limit, flags and
   * lifetime.
   */
  restOfHeader?: number;
  /** Target address (ICMPv6 neighbour solicitation, advertisement and redirect). */
  target?: string;
  /** Destination address (ICMPv6 redirect). */
  destination?: string;
  /** Reachable time in milliseconds (ICMPv6 router advertisement). */
  reachableTime?: number;
  /** Retransmission timer in milliseconds (ICMPv6 router advertisement). */
  retransTimer?: number;
  /** Neighbour discovery options as type and length in bytes. */
  ndOptions?: NdOption[];
}

/** One neighbour discovery option (RFC 4861 section 4.6). */
export interface NdOption {
  type: number;
  /** Length in bytes (the length field times 8). */
  length: number;
  /** The option's bytes after its type and length bytes, as hex, up to the end of the capture. */
  data?: string;
}

/** ICMP (over IPv4) message header. */
export interface IcmpLayer extends IcmpFields {
  type: "icmp";
}

/** ICMPv6 message header. */
export interface Icmpv6Layer extends IcmpFields {
  type: "icmpv6";
}

/** Fields of a Linux cooked capture header. */
export interface SllFields {
  /** 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 outgoing. */
  packetType: number;
  /** ARPHRD_ type of the interface. */
  arphrdType: number;
  /** Link-layer address, as MAC text when 6 bytes long, hex otherwise. */
  address: string;
  /** Protocol (EtherType, or a Linux pseudo protocol). */
  protocol: number;
  /** Interface index (SLL2 only). */
  interfaceIndex?: number;
}

/** Linux cooked capture header, v1 (LINKTYPE_LINUX_SLL). */
export interface SllLayer extends SllFields {
  type: "sll";
}

/** Linux cooked capture header, v2 (LINKTYPE_LINUX_SLL2). */
export interface Sll2Layer extends SllFields {
  type: "sll2";
}

/** BSD loopback header (LINKTYPE_NULL and LINKTYPE_LOOP). */
export interface LoopbackLayer {
  type: "loopback";
  /** Address family: 2 is IPv4; 10, 24, 28 and 30 are IPv6 on various systems. */
  family: number;
}

/** A wholly decoded layer. */
export type FullLayer =
  | EthernetLayer
  | VlanLayer
  | ArpLayer
  | Ipv4Layer
  | Ipv6Layer
  | TcpLayer
  | UdpLayer
  | IcmpLayer
  | Icmpv6Layer
  | SllLayer
  | Sll2Layer
  | LoopbackLayer;

/** The `type` names of the layers snout decodes. */
export type LayerType = FullLayer["type"];

/**
 * A layer whose header was cut short by the capture, or that made no sense after its first fields.
 * It carries the fields that could be read, in header order (as tshark shows them), and
 * `partial: true`. The packet's `truncated` flag or `error` says why.
 */
export type PartialLayer = {
  [K in LayerType]:
    & { type: K; partial: true }
    & Partial<Omit<Extract<FullLayer, { type: K }>, "type">>;
}[LayerType];

/** Any decoded layer: whole, or partial (test with `"partial" in layer`). */
export type Layer = FullLayer | PartialLayer;

/** A decoded packet: what `--json` prints, one per line. */
export interface PacketRecord {
  frame: Frame;
  /** Outermost layer first. */
  layers: Layer[];
  /** True when some length field promises more bytes than were captured. */
  truncated: boolean;
  /** Set when a header made no sense and the walk stopped there. */
  error?: { layer: string; reason: string; offset: number };
}

/** A packet record together with the bytes it was decoded from. */
export interface CapturedPacket extends PacketRecord {
  /** The captured bytes of the frame. Not part of the JSON output. */
  data: Uint8Array;
}
