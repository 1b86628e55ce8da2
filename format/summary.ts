/**
 * One-line packet summaries in the manner of `tcpdump -n -tt`.
 *
 * Differences from tcpdump, all deliberate: sequence and SACK numbers are absolute (as with
 * `tcpdump -S`, since a summary has no memory of earlier packets); application protocols (DNS,
 * HTTP, ...) are not decoded, so UDP reads `UDP, length N` whatever the port; IPv6 extension
 * headers other than a fragment header are not shown; 802.1Q/802.1ad tags are hidden, as tcpdump
 * hides them without `-e`; ICMP types tcpdump has no name for read `type N code M`.
 *
 * Terminal safety: addresses and times are printed as the decoders made them. The decoders build
 * every string from numbers (decimal, hex, MAC and IP text), never from packet bytes, so no
 * packet byte reaches the terminal through a summary (the fuzz tests check that every string a
 * decoder returns is printable ASCII). Free-form text (error reasons, unknown layer names) still
 * goes through `safeText`. Records from elsewhere should be checked before they are printed.
 *
 * @module
 */

import { linkHeaderLength } from "../parsers/decode.ts";
import type { IcmpFields, Layer, PacketRecord, TcpLayer, UdpLayer } from "../parsers/types.ts";
import { AsciiBuffer, CLOSE_BRACKET, COLON, COMMA, DOT, SPACE } from "./ascii.ts";
import { UDP_HEADER_LENGTH } from "../parsers/udp.ts";
import { type FormatOptions, hexNumber, paint, safeText, type Style } from "./text.ts";
import { writeTcpOption } from "./tcp_option.ts";
import { TCP_OPTION_EOL } from "../parsers/tcp.ts";

/** Digits of an EtherType in hex. */
const ETHERTYPE_DIGITS = 4;
/** Digits of an SPI in hex. */
const SPI_DIGITS = 8;
/** EtherType values up to this are 802.3 length fields. */
const MAX_8023_LENGTH = 1500;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_RARP = 0x8035;
const ETHERTYPE_IPV6 = 0x86dd;

/** tcpdump's names for EtherTypes it would otherwise print in hex. */
const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0800, "IPv4"],
  [0x0806, "ARP"],
  [0x8035, "Reverse ARP"],
  [0x8100, "802.1Q"],
  [0x86dd, "IPv6"],
  [0x8137, "IPX"],
  [0x8808, "MAC control"],
  [0x8809, "Slow Protocols"],
  [0x8847, "MPLS unicast"],
  [0x8848, "MPLS multicast"],
  [0x8863, "PPPoE D"],
  [0x8864, "PPPoE S"],
  [0x888e, "EAPOL"],
  [0x88a8, "802.1Q-QinQ"],
  [0x88cc, "LLDP"],
  [0x88e5, "MACsec"],
  [0x88f7, "PTP"],
  [0x8906, "FCoE"],
  [0x9000, "Loopback"],
]);

// TCP flag bits (the low 9 bits of the 12-bit field).
export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
const TCP_ECE = 0x040;
const TCP_CWR = 0x080;
const TCP_AE = 0x100;
/** Flag bits tcpdump names, in the order it prints them. */
const TCP_FLAG_LETTERS: readonly (readonly [number, string])[] = [
  [TCP_FIN, "F"],
  [TCP_SYN, "S"],
  [TCP_RST, "R"],
  [TCP_PSH, "P"],
  [TCP_ACK, "."],
  [TCP_URG, "U"],
  [TCP_ECE, "E"],
  [TCP_CWR, "W"],
  [TCP_AE, "e"],
];
export const TCP_NAMED_FLAGS = 0x1ff;
/** `Flags [..]` text for every combination of the named flag bits. */
export const TCP_FLAGS_TEXT: readonly string[] = Array.from(
  { length: TCP_NAMED_FLAGS + 1 },
  (_, bits) => {
    let letters = "";
    for (const [bit, letter] of TCP_FLAG_LETTERS) if (bits & bit) letters += letter;
    return "Flags [" + (letters === "" ? "none" : letters) + "]";
  },
);

// ICMP (RFC 792) message types and codes.
const ICMP_ECHO_REPLY = 0;
const ICMP_UNREACHABLE = 3;
const ICMP_REDIRECT = 5;
const ICMP_ECHO = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_TIMESTAMP = 13;
const ICMP_TIMESTAMP_REPLY = 14;
const ICMP_UNREACH_NET = 0;
const ICMP_UNREACH_HOST = 1;
const ICMP_UNREACH_PROTOCOL = 2;
const ICMP_UNREACH_PORT = 3;
const ICMP_UNREACH_NEEDFRAG = 4;
const ICMP_EXCEEDED_TRANSIT = 0;
const ICMP_EXCEEDED_REASSEMBLY = 1;
/** tcpdump's words for ICMP messages that need nothing from the quoted packet. */
const ICMP_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "echo reply"],
  [4, "source quench"],
  [8, "echo request"],
  [9, "router advertisement"],
  [10, "router solicitation"],
  [12, "parameter problem"],
  [13, "time stamp request"],
  [14, "time stamp reply"],
  [15, "information request"],
  [16, "information reply"],
  [17, "address mask request"],
  [18, "address mask reply"],
]);
/** tcpdump's words for the other unreachable codes; `%s` is the quoted destination. */
const ICMP_UNREACH_TEXT: ReadonlyMap<number, readonly [string, string]> = new Map([
  [5, ["", " unreachable - source route failed"]],
  [6, ["net ", " unreachable - unknown"]],
  [7, ["host ", " unreachable - unknown"]],
  [8, ["", " unreachable - source host isolated"]],
  [9, ["net ", " unreachable - admin prohibited"]],
  [10, ["host ", " unreachable - admin prohibited"]],
  [11, ["net ", " unreachable - tos prohibited"]],
  [12, ["host ", " unreachable - tos prohibited"]],
  [13, ["host ", " unreachable - admin prohibited filter"]],
  [14, ["host ", " unreachable - host precedence violation"]],
  [15, ["host ", " unreachable - precedence cutoff"]],
]);

// ICMPv6 (RFC 4443, RFC 4861) message types and codes.
const ICMP6_UNREACHABLE = 1;
const ICMP6_TIME_EXCEEDED = 3;
const ICMP6_PARAMETER_PROBLEM = 4;
const ICMP6_ECHO = 128;
const ICMP6_ECHO_REPLY = 129;
const ICMP6_NEIGHBOR_SOLICIT = 135;
const ICMP6_NEIGHBOR_ADVERT = 136;
const ICMP6_REDIRECT = 137;
const ICMP6_UNREACH_BEYOND_SCOPE = 2;
const ICMP6_UNREACH_PORT = 4;
const ICMP6_EXCEEDED_TRANSIT = 0;
const ICMP6_EXCEEDED_REASSEMBLY = 1;
/** tcpdump's names for ICMPv6 message types. */
const ICMP6_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "destination unreachable"],
  [2, "packet too big"],
  [3, "time exceeded in-transit"],
  [4, "parameter problem"],
  [128, "echo request"],
  [129, "echo reply"],
  [130, "multicast listener query"],
  [131, "multicast listener report"],
  [132, "multicast listener done"],
  [133, "router solicitation"],
  [134, "router advertisement"],
  [135, "neighbor solicitation"],
  [136, "neighbor advertisement"],
  [137, "redirect"],
  [138, "router renumbering"],
  [139, "node information query"],
  [140, "node information reply"],
  [141, "inverse neighbor solicitation"],
  [142, "inverse neighbor advertisement"],
  [143, "multicast listener report v2"],
  [144, "ha discovery request"],
  [145, "ha discovery reply"],
  [146, "mobile router solicitation"],
  [147, "mobile router advertisement"],
  [155, "RPL"],
  [200, "mtrace response"],
  [201, "mtrace message"],
]);
/** tcpdump's words for destination unreachable codes. */
const ICMP6_UNREACH_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "unreachable route"],
  [1, "unreachable prohibited"],
  [2, "beyond scope"],
  [3, "unreachable address"],
  [4, "unreachable port"],
]);
/** tcpdump's words for parameter problem codes (it adds `- octet N`, a pointer we lack). */
const ICMP6_PARAMPROB_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "erroneous"],
  [1, "next header"],
  [2, "option"],
  [3, "incomplete header chain"],
]);

// ARP opcodes.
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const RARP_REQUEST = 3;
const RARP_REPLY = 4;
const INARP_REQUEST = 8;
const INARP_REPLY = 9;
const ARP_NAK = 10;

/** tcpdump's names for the layers, as used in its `[|tcp]` truncation markers. */
const MARKER_NAMES: Readonly<Record<string, string>> = {
  ethernet: "ether",
  vlan: "vlan",
  arp: "arp",
  ipv4: "ip",
  ipv6: "ip6",
  tcp: "tcp",
  udp: "udp",
  icmp: "icmp",
  icmpv6: "icmp6",
  sll: "sll",
  sll2: "sll2",
  loopback: "null",
};

/** Words that stand for a packet whose network header could not be decoded. */
const ERROR_LAYER_WORDS: Readonly<Record<string, string>> = {
  ip: "IP",
  ipv4: "IP",
  ipv6: "IP6",
  arp: "ARP",
};

/** Optional-colour wrapper; `color` is checked first so plain output never calls `paint`. */
function style(color: boolean, role: Style, text: string): string {
  return color ? paint(role, text) : text;
}

/** Writes `text`, in a role's colour when `color` is set. */
function writeStyled(out: AsciiBuffer, color: boolean, role: Style, text: string): void {
  out.text(color ? paint(role, text) : text);
}

/** Writes `address.port`, or the bare address when the port is unknown. */
function writeEndpoint(
  out: AsciiBuffer,
  address: string,
  port: number | undefined,
  color: boolean,
): void {
  if (color) {
    out.text(paint("address", port === undefined ? address : address + "." + port));
    return;
  }
  out.text(address);
  if (port === undefined) return;
  out.byte(DOT);
  out.decimal(port);
}

function isLinkLayer(layer: Layer): boolean {
  const type = layer.type;
  return type === "ethernet" || type === "vlan" || type === "sll" || type === "sll2" ||
    type === "loopback";
}

// ---------------------------------------------------------------------------------------- TCP

/** Writes tcpdump's text for a TCP header, from `Flags` to `length`. */
function writeTcp(out: AsciiBuffer, tcp: TcpLayer, color: boolean): void {
  const flags = tcp.flags;
  const payload = tcp.payloadLength;
  writeStyled(out, color, "flags", TCP_FLAGS_TEXT[flags & TCP_NAMED_FLAGS]!);
  if (payload > 0) {
    out.text(", seq ");
    out.decimal(tcp.seq);
    out.byte(COLON);
    // `>>> 0` wraps the end at 2^32 as `%` would, without a remainder of doubles (an fmod call).
    out.decimal((tcp.seq + payload) >>> 0);
  } else if (flags & (TCP_SYN | TCP_FIN | TCP_RST)) {
    out.text(", seq ");
    out.decimal(tcp.seq);
  }
  if (flags & TCP_ACK) {
    out.text(", ack ");
    out.decimal(tcp.ack);
  }
  out.text(", win ");
  out.decimal(tcp.window);
  if (flags & TCP_URG) {
    out.text(", urg ");
    out.decimal(tcp.urgentPointer);
  }
  const options = tcp.options;
  if (options.length > 0) {
    out.text(", options [");
    for (let i = 0; i < options.length; i++) {
      if (i > 0) out.byte(COMMA);
      const option = options[i]!;
      writeTcpOption(out, option);
      // tcpdump stops at the end-of-list option; what follows is padding.
      if (option.kind === TCP_OPTION_EOL) break;
    }
    out.byte(CLOSE_BRACKET);
  }
  out.text(", length ");
  out.decimal(payload);
}

// ---------------------------------------------------------------------------------------- UDP

function writeUdp(out: AsciiBuffer, udp: UdpLayer, color: boolean): void {
  const length = udp.length;
  if (length < UDP_HEADER_LENGTH) {
    out.text("truncated-udplength ");
    out.decimal(length);
    return;
  }
  writeStyled(out, color, "protocol", "UDP");
  out.text(", length ");
  out.decimal(length - UDP_HEADER_LENGTH);
}

// --------------------------------------------------------------------------------------- ICMP

function echoFields(icmp: Partial<IcmpFields>): string {
  return icmp.id === undefined ? "" : ", id " + icmp.id + ", seq " + icmp.seq;
}

/** ` udp port N` or ` tcp port N` for a quoted transport header that has its ports. */
function quotedPort(layer: Layer | undefined): string | undefined {
  if (layer === undefined || (layer.type !== "udp" && layer.type !== "tcp")) return undefined;
  if (layer.dstPort === undefined) return undefined;
  return (layer.type === "udp" ? " udp port " : " tcp port ") + layer.dstPort;
}

/** tcpdump's words for an ICMP message; quoted headers follow the ICMP layer in `layers`. */
function icmpText(layers: readonly Layer[], index: number, icmp: IcmpFields): string {
  const type = icmp.messageType;
  const code = icmp.code;
  const quoted = layers[index + 1];
  const quotedIp = quoted !== undefined && quoted.type === "ipv4" ? quoted : undefined;
  const quotedDst = quotedIp?.dst === undefined ? undefined : quotedIp.dst;
  switch (type) {
    case ICMP_ECHO:
    case ICMP_ECHO_REPLY:
    case ICMP_TIMESTAMP:
    case ICMP_TIMESTAMP_REPLY:
      return ICMP_NAMES.get(type)! + echoFields(icmp);
    case ICMP_UNREACHABLE: {
      if (quotedDst === undefined) break;
      switch (code) {
        case ICMP_UNREACH_NET:
          return "net " + quotedDst + " unreachable";
        case ICMP_UNREACH_HOST:
          return "host " + quotedDst + " unreachable";
        case ICMP_UNREACH_PROTOCOL:
          return quotedDst + " protocol " + quotedIp!.protocol + " unreachable";
        case ICMP_UNREACH_PORT: {
          const port = quotedPort(layers[index + 2]);
          if (port !== undefined) return quotedDst + port + " unreachable";
          return quotedDst + " protocol " + quotedIp!.protocol + " port unreachable";
        }
        case ICMP_UNREACH_NEEDFRAG:
          return quotedDst + " unreachable - need to frag";
      }
      const words = ICMP_UNREACH_TEXT.get(code);
      return words === undefined
        ? "#" + code + " " + quotedDst + " unreachable"
        : words[0] + quotedDst + words[1];
    }
    case ICMP_REDIRECT:
      return quotedDst === undefined ? "redirect" : "redirect " + quotedDst;
    case ICMP_TIME_EXCEEDED:
      if (code === ICMP_EXCEEDED_TRANSIT) return "time exceeded in-transit";
      if (code === ICMP_EXCEEDED_REASSEMBLY) return "ip reassembly time exceeded";
      return "time exceeded-#" + code;
    default: {
      const name = ICMP_NAMES.get(type);
      if (name !== undefined) return name;
    }
  }
  return "type " + type + " code " + code;
}

/** tcpdump's words for an ICMPv6 message, after `ICMP6, `. */
function icmpv6Text(layers: readonly Layer[], index: number, icmp: IcmpFields): string {
  const type = icmp.messageType;
  const code = icmp.code;
  const name = ICMP6_NAMES.get(type);
  if (name === undefined) return "type " + type + " code " + code;
  const quoted = layers[index + 1];
  const quotedIp = quoted !== undefined && quoted.type === "ipv6" ? quoted : undefined;
  const quotedDst = quotedIp?.dst === undefined ? undefined : quotedIp.dst;
  switch (type) {
    case ICMP6_ECHO:
    case ICMP6_ECHO_REPLY:
      return name + echoFields(icmp);
    case ICMP6_NEIGHBOR_SOLICIT:
      return icmp.target === undefined ? name : name + ", who has " + icmp.target;
    case ICMP6_NEIGHBOR_ADVERT:
      return icmp.target === undefined ? name : name + ", tgt is " + icmp.target;
    case ICMP6_REDIRECT:
      return icmp.target === undefined ? name : name + ", " + icmp.target;
    case ICMP6_UNREACHABLE: {
      const codeName = ICMP6_UNREACH_NAMES.get(code);
      if (codeName === undefined) return name + ", unknown unreach code (" + code + ")";
      if (quotedDst === undefined) return name + ", " + codeName;
      if (code === ICMP6_UNREACH_PORT) {
        const port = quotedPort(layers[index + 2]);
        return name + ", " + codeName + ", " + quotedDst + (port ?? "");
      }
      if (code === ICMP6_UNREACH_BEYOND_SCOPE && quotedIp!.src !== undefined) {
        return name + ", " + codeName + " " + quotedDst + ", source address " +
          quotedIp!.src;
      }
      return name + ", " + codeName + " " + quotedDst;
    }
    case ICMP6_TIME_EXCEEDED:
      if (code === ICMP6_EXCEEDED_TRANSIT) {
        return quotedDst === undefined ? name : name + " for " + quotedDst;
      }
      if (code === ICMP6_EXCEEDED_REASSEMBLY) return name + " (reassembly)";
      return name + ", unknown code (" + code + ")";
    case ICMP6_PARAMETER_PROBLEM:
      return name + ", " + (ICMP6_PARAMPROB_NAMES.get(code) ?? "code-#" + code);
  }
  return name;
}

// ----------------------------------------------------------------------------------------- IP

/** Writes what follows `SRC > DST:` when the layer after an IP header is `layers[index]`. */
function writeTransport(
  out: AsciiBuffer,
  pkt: PacketRecord,
  index: number,
  payloadLength: number,
  color: boolean,
): void {
  const layers = pkt.layers;
  const next = layers[index]!;
  switch (next.type) {
    case "tcp":
      if ("partial" in next) return;
      out.byte(SPACE);
      writeTcp(out, next, color);
      return;
    case "udp":
      if ("partial" in next) return;
      out.byte(SPACE);
      writeUdp(out, next, color);
      return;
    case "icmp":
      out.byte(SPACE);
      writeStyled(out, color, "protocol", "ICMP");
      if ("partial" in next) return;
      out.text(" " + icmpText(layers, index, next) + ", length " + payloadLength);
      return;
    case "icmpv6":
      out.byte(SPACE);
      writeStyled(out, color, "protocol", "ICMP6");
      if ("partial" in next) return;
      out.text(", " + icmpv6Text(layers, index, next) + ", length " + payloadLength);
      return;
    case "ipv4":
      out.byte(SPACE);
      writeIpv4(out, pkt, index, color);
      return;
    case "ipv6":
      out.byte(SPACE);
      writeIpv6(out, pkt, index, color);
      return;
  }
  out.byte(SPACE);
  out.text(safeText(next.type));
}

/** Writes `SRC > DST:`, with ports when the next layer is TCP or UDP. */
function writeAddressPair(
  out: AsciiBuffer,
  src: string,
  dst: string,
  next: Layer | undefined,
  color: boolean,
): void {
  let srcPort: number | undefined;
  let dstPort: number | undefined;
  if (next !== undefined && (next.type === "tcp" || next.type === "udp")) {
    srcPort = next.srcPort;
    dstPort = next.dstPort;
  }
  writeEndpoint(out, src, srcPort, color);
  out.text(" > ");
  writeEndpoint(out, dst, dstPort, color);
  out.byte(COLON);
}

function writeIpv4(out: AsciiBuffer, pkt: PacketRecord, index: number, color: boolean): void {
  const layers = pkt.layers;
  const ip = layers[index]!;
  writeStyled(out, color, "protocol", "IP");
  if (ip.type !== "ipv4" || ip.src === undefined || ip.dst === undefined) return;
  const next = layers[index + 1];
  out.byte(SPACE);
  writeAddressPair(out, ip.src, ip.dst, next, color);
  const payloadLength = (ip.totalLength ?? 0) - (ip.headerLength ?? 0);
  if (next !== undefined) {
    writeTransport(out, pkt, index + 1, payloadLength, color);
    return;
  }
  // What follows is missing, and the truncation or error marker says why.
  if ("partial" in ip || pkt.error !== undefined) return;
  out.text(" ip-proto-" + ip.protocol);
  if (ip.fragmentOffset > 0) return;
  out.text(" " + payloadLength);
}

function writeIpv6(out: AsciiBuffer, pkt: PacketRecord, index: number, color: boolean): void {
  const layers = pkt.layers;
  const ip = layers[index]!;
  writeStyled(out, color, "protocol", "IP6");
  if (ip.type !== "ipv6" || ip.src === undefined || ip.dst === undefined) return;
  const next = layers[index + 1];
  out.byte(SPACE);
  writeAddressPair(out, ip.src, ip.dst, next, color);
  let payloadLength = ip.payloadLength ?? 0;
  let nextHeader = ip.nextHeader;
  let fragmentOffset = -1;
  let spi: number | undefined;
  const extensions = ip.extensions;
  if (extensions !== undefined) {
    for (let i = 0; i < extensions.length; i++) {
      const extension = extensions[i]!;
      payloadLength -= extension.length;
      if (extension.nextHeader !== undefined) nextHeader = extension.nextHeader;
      if (extension.type === "fragment") fragmentOffset = extension.offset ?? 0;
      if (extension.type === "esp") spi = extension.spi;
    }
  }
  if (next !== undefined) {
    writeTransport(out, pkt, index + 1, payloadLength, color);
    return;
  }
  if ("partial" in ip || pkt.error !== undefined) return;
  if (spi !== undefined) {
    out.text(" ESP(spi=" + hexNumber(spi, SPI_DIGITS) + "), length " + payloadLength);
  } else if (fragmentOffset >= 0) {
    out.text(" frag (" + fragmentOffset + "|" + payloadLength + ")");
  } else {
    out.text(" ip-proto-" + nextHeader + " " + payloadLength);
  }
}

// ---------------------------------------------------------------------------------------- ARP

/** True for an all-zero address in either MAC or hex form. */
function isZeroAddress(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== "0" && char !== ":") return false;
  }
  return true;
}

function arpSummary(pkt: PacketRecord, index: number, color: boolean): string {
  const arp = pkt.layers[index]!;
  const word = style(color, "protocol", "ARP");
  if (arp.type !== "arp" || "partial" in arp) return word;
  const sha = style(color, "address", arp.senderMac);
  const spa = style(color, "address", arp.senderIp);
  const tha = style(color, "address", arp.targetMac);
  const tpa = style(color, "address", arp.targetIp);
  let text: string;
  switch (arp.opcode) {
    case ARP_REQUEST:
      text = "Request who-has " + tpa + (isZeroAddress(arp.targetMac) ? "" : " (" + tha + ")") +
        " tell " + spa;
      break;
    case ARP_REPLY:
      text = "Reply " + spa + " is-at " + sha;
      break;
    case RARP_REQUEST:
      text = "Reverse Request who-is " + tha + " tell " + sha;
      break;
    case RARP_REPLY:
      text = "Reverse Reply " + tha + " at " + tpa;
      break;
    case INARP_REQUEST:
      text = "Inverse Request who-is " + tha + " tell " + spa;
      break;
    case INARP_REPLY:
      text = "Inverse Reply " + sha + " at " + spa;
      break;
    case ARP_NAK:
      text = "NACK Reply";
      break;
    default:
      text = "Unknown (" + arp.opcode + ")";
  }
  return word + ", " + text + ", length " +
    (pkt.frame.length - linkHeaderLength(pkt.layers, index));
}

// --------------------------------------------------------------------------------------- link

function protocolWord(protocol: number | undefined): string | undefined {
  switch (protocol) {
    case ETHERTYPE_IPV4:
      return "IP";
    case ETHERTYPE_IPV6:
      return "IP6";
    case ETHERTYPE_ARP:
    case ETHERTYPE_RARP:
      return "ARP";
  }
  return undefined;
}

/** A frame whose layers end at the link layer: what it carries, and its length. */
function linkSummary(pkt: PacketRecord, color: boolean): string {
  const layers = pkt.layers;
  const error = pkt.error;
  if (error !== undefined) {
    const word = ERROR_LAYER_WORDS[error.layer];
    if (word !== undefined) return style(color, "protocol", word);
  }
  const length = pkt.frame.length;
  const last = layers[layers.length - 1];
  if (last === undefined) return "";
  let protocol: number | undefined;
  switch (last.type) {
    case "ethernet":
    case "vlan":
      protocol = last.etherType;
      break;
    case "sll":
    case "sll2":
      protocol = last.protocol;
      break;
    case "loopback":
      return last.family === undefined ? "" : "AF " + last.family + ", length " + length;
  }
  if (protocol === undefined) return "";
  const word = protocolWord(protocol);
  if (word !== undefined) return style(color, "protocol", word);
  const ethernet = layers[0]!;
  const macs = ethernet.type !== "ethernet" || ethernet.src === undefined ||
      ethernet.dst === undefined
    ? ""
    : style(color, "address", ethernet.src) + " > " +
      style(color, "address", ethernet.dst) + ", ";
  if (last.type === "ethernet" && protocol <= MAX_8023_LENGTH) {
    return macs + "802.3, length " + length;
  }
  return macs + "ethertype " + (ETHERTYPE_NAMES.get(protocol) ?? "Unknown") + " (" +
    hexNumber(protocol, ETHERTYPE_DIGITS) + "), length " + length;
}

// --------------------------------------------------------------------------------------- main

/**
 * One line describing a decoded packet in the manner of `tcpdump -n -tt`, without a trailing
 * newline: the capture time, then the network layer and what it carries. A truncated packet
 * ends in tcpdump's `[|tcp]` marker naming the last layer decoded; a decode error ends in
 * `[error: LAYER at OFFSET: REASON]`. Every string taken from the record is made terminal-safe.
 *
 * @example A TCP SYN
 * ```ts
 * import { formatSummary } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const line = formatSummary({
 *   frame: { number: 1, time: "1700000000.123456", length: 58, captured: 58, linkType: 1 },
 *   layers: [
 *     { type: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x800 },
 *     {
 *       type: "ipv4", version: 4, headerLength: 20, dscp: 0, ecn: 0, totalLength: 44, id: 1,
 *       reservedFlag: false, dontFragment: true, moreFragments: false, fragmentOffset: 0,
 *       ttl: 64, protocol: 6, checksum: 0x26b6, checksumValid: true, src: "10.0.0.1",
 *       dst: "10.0.0.2", options: [],
 *     },
 *     {
 *       type: "tcp", srcPort: 40000, dstPort: 80, seq: 1, ack: 0, headerLength: 24,
 *       flags: 0x002, window: 65535, checksum: 0, checksumValid: null, urgentPointer: 0,
 *       payloadLength: 0, options: [{ kind: 2, length: 4, mss: 1460 }],
 *     },
 *   ],
 *   truncated: false,
 * });
 * assert.ok(line === "1700000000.123456 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], " +
 *   "seq 1, win 65535, options [mss 1460], length 0");
 * ```
 */
export function formatSummary(pkt: PacketRecord, options?: FormatOptions): string {
  scratch.length = 0;
  writeSummary(pkt, scratch, options);
  return scratch.toString();
}

/** Where {@linkcode formatSummary} writes a line before it becomes a string. */
const scratch = new AsciiBuffer();

/**
 * Writes the line {@linkcode formatSummary} returns into `out`, as bytes, with no string made
 * for the line: how the CLI prints summaries.
 *
 * @example Write the summary of a UDP datagram (raw IPv4, link type 228) into a buffer
 * ```ts
 * import { writeSummary } from "./summary.ts";
 * import { AsciiBuffer } from "./ascii.ts";
 * import { decodePacket } from "../parsers/decode.ts";
 * import assert from "node:assert/strict";
 * const ipv4 = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
 * const udp = [0x9c, 0x40, 0, 53, 0, 8, 0, 0];
 * const out = new AsciiBuffer();
 * writeSummary(decodePacket(new Uint8Array([...ipv4, ...udp]), 228), out);
 * assert.equal(out.toString(), "0.000000 IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 0");
 * ```
 */
export function writeSummary(pkt: PacketRecord, out: AsciiBuffer, options?: FormatOptions): void {
  const color = options?.color === true;
  const layers = pkt.layers;
  let index = 0;
  while (index < layers.length && isLinkLayer(layers[index]!)) index++;
  out.text(pkt.frame.time);
  out.byte(SPACE);
  const body = out.length;
  if (index === layers.length) {
    out.text(linkSummary(pkt, color));
  } else {
    switch (layers[index]!.type) {
      case "ipv4":
        writeIpv4(out, pkt, index, color);
        break;
      case "ipv6":
        writeIpv6(out, pkt, index, color);
        break;
      case "arp":
        out.text(arpSummary(pkt, index, color));
        break;
      default:
        out.text(safeText(layers[index]!.type));
    }
  }
  // No body, no space after the time.
  if (out.length === body) out.length--;
  const last = layers[layers.length - 1];
  if (pkt.truncated && last !== undefined) {
    const name = MARKER_NAMES[last.type] ?? safeText(last.type);
    out.byte(SPACE);
    writeStyled(out, color, "problem", "[|" + name + "]");
  }
  const error = pkt.error;
  if (error !== undefined) {
    out.byte(SPACE);
    writeStyled(
      out,
      color,
      "problem",
      "[error: " + safeText(error.layer) + " at " + error.offset + ": " + safeText(error.reason) +
        "]",
    );
  }
}
