/**
 * Multi-line packet descriptions: the frame, then one line per layer with every field it has.
 *
 * @module
 */

import type { Ipv6Extension, Layer, PacketRecord, TcpOption } from "../parsers/types.ts";
import { type FormatOptions, hexNumber, paint, safeText } from "./text.ts";
import { tcpOptionText } from "./tcp_option.ts";

/** Hex digit counts for the fields shown in hex. */
const HEX_DIGITS_8 = 2;
const HEX_DIGITS_16 = 4;
const FLOW_LABEL_DIGITS = 5;
const HEX_DIGITS_32 = 8;
/** Where the DSCP sits in the old type-of-service byte. */
const DSCP_SHIFT = 2;
/** Hex digits of the 12-bit TCP flags field. */
const TCP_FLAGS_DIGITS = 3;
/** Indent of the lines that belong to the line above (IPv6 extension headers). */
const SUB_INDENT = "  ";

// TCP flag bits, lowest first, with their names; bits 9-11 are reserved.
const TCP_FLAG_NAMES: readonly string[] = [
  "FIN",
  "SYN",
  "RST",
  "PSH",
  "ACK",
  "URG",
  "ECE",
  "CWR",
  "AE",
  "RSV9",
  "RSV10",
  "RSV11",
];

/** Names for well-known IP protocol numbers. */
const IP_PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "hopopts"],
  [1, "icmp"],
  [2, "igmp"],
  [4, "ipip"],
  [6, "tcp"],
  [17, "udp"],
  [41, "ipv6"],
  [43, "routing"],
  [44, "fragment"],
  [47, "gre"],
  [50, "esp"],
  [51, "ah"],
  [58, "icmpv6"],
  [59, "none"],
  [60, "dstopts"],
  [89, "ospf"],
  [103, "pim"],
  [112, "vrrp"],
  [132, "sctp"],
]);

/** IPv4 option names (RFC 791 and the IANA registry), by the whole type byte. */
const IPV4_OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "EOL"],
  [1, "NOP"],
  [7, "RR"],
  [68, "TS"],
  [130, "SEC"],
  [131, "LSRR"],
  [133, "ESEC"],
  [136, "SID"],
  [137, "SSRR"],
  [148, "RA"],
]);

/** IPv6 hop-by-hop and destination option names. */
const IPV6_OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "Pad1"],
  [1, "PadN"],
  [4, "TunnelLimit"],
  [5, "RouterAlert"],
  [194, "Jumbo"],
  [201, "HomeAddress"],
]);

/** Neighbour discovery option names (RFC 4861 and later). */
const ND_OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "src-lladdr"],
  [2, "tgt-lladdr"],
  [3, "prefix"],
  [4, "redirected"],
  [5, "mtu"],
  [14, "nonce"],
  [24, "route"],
  [25, "rdnss"],
  [31, "dnssl"],
]);

const ARP_OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "request"],
  [2, "reply"],
  [3, "reverse request"],
  [4, "reverse reply"],
  [8, "inverse request"],
  [9, "inverse reply"],
  [10, "nak"],
]);

const SLL_PACKET_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "to us"],
  [1, "broadcast"],
  [2, "multicast"],
  [3, "to another host"],
  [4, "outgoing"],
]);

/** How the frame's fields appear. */
const FRAME_LABELS: Readonly<Record<string, string>> = {
  time: "time",
  length: "len",
  captured: "caplen",
  linkType: "linktype",
  interface: "interface",
};

/** How each field name appears, where it is not the record's own name. */
const LABELS: Readonly<Record<string, string>> = {
  version: "ver",
  headerLength: "hdrlen",
  totalLength: "totallen",
  fragmentOffset: "fragoff",
  protocol: "proto",
  checksum: "cksum",
  etherType: "type",
  trafficClass: "tclass",
  flowLabel: "flow",
  payloadLength: "plen",
  nextHeader: "next",
  hopLimit: "hlim",
  srcPort: "sport",
  dstPort: "dport",
  window: "win",
  urgentPointer: "urg",
  messageType: "type",
  ndOptions: "ndopts",
  hardwareType: "htype",
  protocolType: "ptype",
  hardwareSize: "hlen",
  protocolSize: "plen",
  opcode: "op",
  senderMac: "sha",
  senderIp: "spa",
  targetMac: "tha",
  targetIp: "tpa",
  packetType: "pkttype",
  arphrdType: "hatype",
  address: "addr",
  interfaceIndex: "ifindex",
  length: "len",
  routingType: "rtype",
  segmentsLeft: "segleft",
  moreFragments: "more",
};

function style(color: boolean, role: "layer" | "problem", text: string): string {
  return color ? paint(role, text) : text;
}

/** ` (name)` from a table, or nothing. */
function named(table: ReadonlyMap<number, string>, value: number): string {
  const name = table.get(value);
  return name === undefined ? "" : " (" + name + ")";
}

/** Checksum with its verdict: `(ok)`, `(bad)`, or `(unverified)` when it was not checked. */
function checksumText(checksum: number, valid: unknown): string {
  return hexNumber(checksum, HEX_DIGITS_16) +
    (valid === true ? " (ok)" : valid === false ? " (bad)" : " (unverified)");
}

/** Any value as terminal-safe text, for fields without a dedicated form. */
function valueText(value: unknown): string {
  switch (typeof value) {
    case "string":
      return safeText(value);
    case "number":
    case "boolean":
      return String(value);
  }
  return safeText(JSON.stringify(value) ?? String(value));
}

function isOptionArray(value: unknown): value is { type: number; length: number }[] {
  return Array.isArray(value);
}

/** `[NAME(type) len=N, ...]` for type-and-length options. */
function optionList(
  options: readonly { type: number; length: number }[],
  names: ReadonlyMap<number, string>,
): string {
  let text = "[";
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    if (i > 0) text += ", ";
    text += (names.get(option.type) ?? "opt") + "(" + valueText(option.type) + ") len=" +
      valueText(option.length);
  }
  return text + "]";
}

/** TCP options as tcpdump writes them, each with its length byte when it has one. */
function tcpOptionList(options: readonly TcpOption[]): string {
  let text = "[";
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    if (i > 0) text += ", ";
    text += tcpOptionText(option);
    if (option.length !== undefined) text += " (len " + option.length + ")";
  }
  return text + "]";
}

function tcpFlagNames(flags: number): string {
  let names = "";
  for (let bit = 0; bit < TCP_FLAG_NAMES.length; bit++) {
    if (flags & (1 << bit)) names += (names === "" ? "" : ",") + TCP_FLAG_NAMES[bit];
  }
  return (names === "" ? "none" : names) + " (" + hexNumber(flags, TCP_FLAGS_DIGITS) + ")";
}

function ipv4FlagNames(layer: Readonly<Record<string, unknown>>): string {
  let names = "";
  if (layer.reservedFlag === true) names += "RF";
  if (layer.dontFragment === true) names += (names === "" ? "" : ",") + "DF";
  if (layer.moreFragments === true) names += (names === "" ? "" : ",") + "MF";
  return names === "" ? "none" : names;
}

/** ` label=value` in the default form. */
function plainField(key: string, value: unknown): string {
  return " " + (LABELS[key] ?? safeText(key)) + "=" + valueText(value);
}

/**
 * ` label=value` for one field of a layer, or `""` for a field shown along with another one
 * (the checksum verdict with the checksum, the IPv4 flag bits together, ECN with the TOS).
 */
function fieldText(
  type: string,
  key: string,
  value: unknown,
  layer: Readonly<Record<string, unknown>>,
): string {
  if (typeof value === "number") {
    switch (key) {
      case "checksum":
        return " cksum=" + checksumText(value, layer.checksumValid);
      case "etherType":
      case "protocolType":
      case "tpid":
        return " " + (LABELS[key] ?? key) + "=" + hexNumber(value, HEX_DIGITS_16);
    }
    switch (type + "." + key) {
      case "ipv4.dscp": {
        const ecn = typeof layer.ecn === "number" ? layer.ecn : 0;
        return " tos=" + hexNumber((value << DSCP_SHIFT) | ecn, HEX_DIGITS_8) + " dscp=" + value;
      }
      case "ipv4.id":
        return " id=" + hexNumber(value, HEX_DIGITS_16);
      case "ipv4.protocol":
      case "ipv6.nextHeader":
        return " " + (LABELS[key] ?? key) + "=" + value + named(IP_PROTOCOL_NAMES, value);
      case "ipv6.trafficClass":
        return " tclass=" + hexNumber(value, HEX_DIGITS_8);
      case "ipv6.flowLabel":
        return " flow=" + hexNumber(value, FLOW_LABEL_DIGITS);
      case "tcp.flags":
        return " flags=" + tcpFlagNames(value);
      case "tcp.payloadLength":
        return " payload=" + value;
      case "arp.opcode":
        return " op=" + value + named(ARP_OPCODE_NAMES, value);
      case "sll.packetType":
      case "sll2.packetType":
        return " pkttype=" + value + named(SLL_PACKET_TYPE_NAMES, value);
      case "sll.protocol":
      case "sll2.protocol":
        return " proto=" + hexNumber(value, HEX_DIGITS_16);
    }
  }
  switch (key) {
    case "checksumValid":
      return layer.checksum === undefined ? " cksum=" + checksumText(0, value) : "";
    case "reservedFlag":
      return type === "ipv4" ? " flags=" + ipv4FlagNames(layer) : plainField(key, value);
    case "dontFragment":
    case "moreFragments":
      return type === "ipv4" && layer.reservedFlag !== undefined ? "" : plainField(key, value);
    case "ecn":
      return " ecn=" + valueText(value);
    case "extensions":
      // Each extension header gets its own line under the IPv6 line.
      return type === "ipv6" ? "" : plainField(key, value);
    case "options":
      if (!Array.isArray(value)) break;
      if (value.length === 0) return "";
      if (type === "tcp") return " options=" + tcpOptionList(value as TcpOption[]);
      if (type === "ipv4" && isOptionArray(value)) {
        return " options=" + optionList(value, IPV4_OPTION_NAMES);
      }
      break;
    case "ndOptions":
      if (isOptionArray(value)) {
        return value.length === 0 ? "" : " ndopts=" + optionList(value, ND_OPTION_NAMES);
      }
      break;
  }
  return plainField(key, value);
}

/** One line for a layer: its name, ` (partial)` when cut short, and its fields in order. */
function layerLine(layer: Layer, color: boolean): string {
  const record = layer as unknown as Readonly<Record<string, unknown>>;
  const type = layer.type;
  let text = style(color, "layer", safeText(type));
  if ("partial" in layer) text += " (partial)";
  for (const key in record) {
    if (key === "type" || key === "partial") continue;
    const value = record[key];
    if (value !== undefined) text += fieldText(type, key, value, record);
  }
  return text;
}

/** The line for one IPv6 extension header, indented under its IPv6 line. */
function extensionLine(extension: Ipv6Extension, color: boolean): string {
  let text = SUB_INDENT + style(color, "layer", safeText(extension.type));
  const record = extension as unknown as Readonly<Record<string, unknown>>;
  for (const key in record) {
    if (key === "type") continue;
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value === "number" && (key === "id" || key === "spi")) {
      text += " " + key + "=" + hexNumber(value, HEX_DIGITS_32);
    } else if (typeof value === "number" && key === "nextHeader") {
      text += " next=" + value + named(IP_PROTOCOL_NAMES, value);
    } else if (key === "options" && isOptionArray(value)) {
      text += " options=" + optionList(value, IPV6_OPTION_NAMES);
    } else {
      text += plainField(key, value);
    }
  }
  return text;
}

/** The frame line: `frame N time=... len=... caplen=... linktype=...`. */
function frameLine(pkt: PacketRecord, color: boolean): string {
  const frame = pkt.frame as unknown as Readonly<Record<string, unknown>>;
  let text = style(color, "layer", "frame") + " " + valueText(frame.number);
  for (const key in frame) {
    const value = frame[key];
    if (key === "number" || value === undefined) continue;
    text += " " + (FRAME_LABELS[key] ?? safeText(key)) + "=" + valueText(value);
  }
  return text;
}

/**
 * A multi-line description of a decoded packet, without a trailing newline: a frame line, then
 * one line per layer naming every field the layer has (checksums with their verdict `(ok)`,
 * `(bad)` or `(unverified)`, flags by name, options listed; empty option lists are left out),
 * with each IPv6 extension header on an indented line of its own. A layer cut short reads
 * `(partial)` and shows the fields it has. Then a `truncated` line and an `error` line when
 * those are set. Every string taken from the record is made terminal-safe.
 *
 * @example A UDP datagram
 * ```ts
 * import { formatVerbose } from "./verbose.ts";
 * import assert from "node:assert/strict";
 * const text = formatVerbose({
 *   frame: { number: 1, time: "1700000000.000001", length: 62, captured: 62, linkType: 101 },
 *   layers: [
 *     {
 *       type: "ipv4", version: 4, headerLength: 20, dscp: 0, ecn: 0, totalLength: 48,
 *       id: 0x1234, reservedFlag: false, dontFragment: true, moreFragments: false,
 *       fragmentOffset: 0, ttl: 64, protocol: 17, checksum: 0x0ac3, checksumValid: true,
 *       src: "10.0.0.1", dst: "10.0.0.2", options: [],
 *     },
 *     { type: "udp", srcPort: 5353, dstPort: 53, length: 28, checksum: 0, checksumValid: null },
 *   ],
 *   truncated: false,
 * });
 * assert.equal(text.split("\n")[2], "udp sport=5353 dport=53 len=28 cksum=0x0000 (unverified)");
 * ```
 */
export function formatVerbose(pkt: PacketRecord, options?: FormatOptions): string {
  const color = options?.color === true;
  let text = frameLine(pkt, color);
  const layers = pkt.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    text += "\n" + layerLine(layer, color);
    if (layer.type === "ipv6" && layer.extensions !== undefined) {
      for (const extension of layer.extensions) text += "\n" + extensionLine(extension, color);
    }
  }
  if (pkt.truncated) {
    text += "\n" + style(
      color,
      "problem",
      "truncated: the headers promise more than the " + pkt.frame.captured + " bytes captured",
    );
  }
  const error = pkt.error;
  if (error !== undefined) {
    text += "\n" + style(
      color,
      "problem",
      "error: " + safeText(error.layer) + " at " + error.offset + ": " + safeText(error.reason),
    );
  }
  return text;
}
