/**
 * Code generation: a filter's syntax tree to tests, with the semantics of libpcap's gencode.c
 * for the link types snout reads. Each function here is named after the gencode.c function it
 * follows, and joins its tests in the same order, so that loads happen where libpcap's happen:
 *
 * - `ip`, `arp`, `ip6`, ... test the link layer's type field (Ethernet, SLL, SLL2), the IP
 *   version nibble (raw IP), nothing (LINKTYPE_IPV4/IPV6) or the address family (NULL, LOOP).
 * - `host`, `net`: IPv4, ARP and RARP addresses (or IPv6 for an IPv6 address); `port` and
 *   `portrange`: TCP, UDP and SCTP over IPv4 (first fragments only) and IPv6 (no extension
 *   headers walked), IPv6 first.
 * - `vlan` moves every later offset past a tag, whatever the `and`/`or` around it.
 * - `proto[expr:size]` loads only after the protocol is checked; transport offsets start after
 *   the IPv4 header, on first fragments.
 *
 * @module
 */

import {
  BPF_ADD,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LSH,
  BPF_MEMWORDS,
  BPF_MOD,
  BPF_MUL,
  BPF_OR,
  BPF_RSH,
  BPF_SUB,
  BPF_W,
  BPF_X,
  BPF_XOR,
} from "./bpf.ts";
import { and, constant, type Fragment, not, op, or, type Stmt, test } from "./cfg.ts";
import { FilterError } from "./filter_error.ts";
import { parseIpv6, type Token } from "./lexer.ts";
import { ETHER_PROTOCOLS, IP_PROTOCOLS, SERVICES } from "./names.ts";
import type { Arith, ArithOp, Dir, Expr, IdValue, Proto, Qualifiers } from "./parser.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
} from "../parsers/link_type.ts";

/** Options of the code generator. */
export interface GeneratorOptions {
  /**
   * The mask of the network `ip broadcast` means (the host part all zeros or all ones). tcpdump
   * uses 0 for files, so `ip broadcast` means 0.0.0.0 or 255.255.255.255; default 0.
   */
  netmask?: number;
  /**
   * Byte order of LINKTYPE_NULL's address family: the byte order of the host that captured,
   * which is the capture file's (libpcap compares in the file's order). Default little-endian.
   */
  nullByteOrder?: "little-endian" | "big-endian";
}

const PREFIX = "Cannot compile filter";

// EtherTypes (ethertype.h).
const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_REVARP = 0x8035;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_ATALK = 0x809b;
const ETHERTYPE_AARP = 0x80f3;
const ETHERTYPE_8021Q = 0x8100;
const ETHERTYPE_8021AD = 0x88a8;
const ETHERTYPE_8021QINQ = 0x9100;
/** Type/length values up to this are 802.3 lengths, not EtherTypes. */
const ETHERMTU = 1500;
// LLC SAPs (llc.h) that libpcap matches on both DSAP and SSAP, or specially.
const LLCSAP_IP = 0x06;
const LLCSAP_ISONS = 0xfe;
const LLCSAP_NETBEUI = 0xf0;
const LLCSAP_IPX = 0xe0;
/** SLL protocol value of 802.2 LLC frames. */
const LINUX_SLL_P_802_2 = 4;

// IP protocol numbers.
const IPPROTO_ICMP = 1;
const IPPROTO_IGMP = 2;
const IPPROTO_TCP = 6;
const IPPROTO_IGRP = 9;
const IPPROTO_UDP = 17;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_ESP = 50;
const IPPROTO_AH = 51;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_PIM = 103;
const IPPROTO_VRRP = 112;
const IPPROTO_SCTP = 132;

// BSD address families in a NULL/LOOP header.
const BSD_AFNUM_INET = 2;
const BSD_AFNUM_INET6_BSD = 24;
const BSD_AFNUM_INET6_FREEBSD = 28;
const BSD_AFNUM_INET6_DARWIN = 30;

// Header offsets.
const IPV4_FRAGMENT_OFFSET = 6;
const IPV4_PROTOCOL = 9;
const IPV4_SRC = 12;
const IPV4_DST = 16;
/** The fragment offset bits of the flags/offset half word. */
const IPV4_FRAGMENT_MASK = 0x1fff;
const ARP_SPA = 14;
const ARP_TPA = 24;
const IPV6_NEXT_HEADER = 6;
const IPV6_SRC = 8;
const IPV6_DST = 24;
const IPV6_HEADER_LENGTH = 40;
const ETHER_DST = 0;
const ETHER_SRC = 6;
const ETHER_ADDRESS_LENGTH = 6;
const PORT_SRC = 0;
const PORT_DST = 2;
/** The version nibble of an IP header, as libpcap tests it on raw IP. */
const IP_VERSION_MASK = 0xf0;
const IP_VERSION_4 = 0x40;
const IP_VERSION_6 = 0x60;
/** `ip multicast`: the first byte of the destination from 224 on; `ip6 multicast`: 0xff. */
const IPV4_MULTICAST_FIRST = 224;
const IPV6_MULTICAST_FIRST = 0xff;
/** `ether multicast`: the group bit of the destination's first byte. */
const ETHER_GROUP_BIT = 0x01;
/** The VLAN identifier bits of a tag's TCI, and the tag's length. */
const VLAN_ID_MASK = 0x0fff;
const VLAN_TAG_LENGTH = 4;

const ALL_ONES = 0xffffffff;
/** The byte a short network number is shifted into (`net 10` is 10.0.0.0/8). */
const TOP_BYTE = 0xff000000;
const HEX_RADIX = 16;
/** Where a MAC address's last four bytes start. */
const MAC_WORD_OFFSET = 2;
/** The 802.2 DSAP, right after an 802.3 frame's length field. */
const LLC_DSAP_OFFSET = 2;
const MAX_PORT = 65535;
const IPV4_BITS = 32;
const IPV6_BITS = 128;
const IPV6_WORDS = 4;
const BITS_PER_BYTE = 8;
const BYTES_PER_WORD = 4;
const MAX_SHIFT = 31;
/** The data sizes of `proto[expr:size]`, as load sizes. */
const LOAD_SIZES: ReadonlyMap<number, number> = new Map([[1, BPF_B], [2, BPF_H], [4, BPF_W]]);

const ALU_OPS: ReadonlyMap<ArithOp, number> = new Map([
  ["+", BPF_ADD],
  ["-", BPF_SUB],
  ["*", BPF_MUL],
  ["/", BPF_DIV],
  ["%", BPF_MOD],
  ["&", BPF_AND],
  ["|", BPF_OR],
  ["^", BPF_XOR],
  ["<<", BPF_LSH],
  [">>", BPF_RSH],
]);
const JUMPS = { jeq: BPF_JEQ, jgt: BPF_JGT, jge: BPF_JGE } as const;

/**
 * Protocols carried by IP (gen_proto_abbrev): the protocol number, and over which IP version
 * ("default": either).
 */
const CARRIED_PROTOCOLS: ReadonlyMap<Proto, readonly [number, Proto]> = new Map([
  ["tcp", [IPPROTO_TCP, "default"]],
  ["udp", [IPPROTO_UDP, "default"]],
  ["sctp", [IPPROTO_SCTP, "default"]],
  ["icmp", [IPPROTO_ICMP, "ip"]],
  ["igmp", [IPPROTO_IGMP, "ip"]],
  ["igrp", [IPPROTO_IGRP, "ip"]],
  ["pim", [IPPROTO_PIM, "default"]],
  ["vrrp", [IPPROTO_VRRP, "ip"]],
  ["carp", [IPPROTO_VRRP, "ip"]],
  ["ah", [IPPROTO_AH, "default"]],
  ["esp", [IPPROTO_ESP, "default"]],
  ["icmp6", [IPPROTO_ICMPV6, "ip6"]],
]);

/** Protocols named by the link layer's type field. */
const LINK_PROTOCOLS: ReadonlyMap<Proto, number> = new Map([
  ["ip", ETHERTYPE_IP],
  ["ip6", ETHERTYPE_IPV6],
  ["arp", ETHERTYPE_ARP],
  ["rarp", ETHERTYPE_REVARP],
]);

type LinkKind = "ethernet" | "sll" | "sll2" | "raw" | "ipv4" | "ipv6" | "null" | "loop";

/** Where a link type keeps its type field and its payload (gencode.c's init_linktype). */
interface LinkLayout {
  readonly kind: LinkKind;
  /** Offset of the type field, or undefined when there is none. */
  readonly typeOffset: number | undefined;
  /** Offset of the link-layer payload (the network header). */
  readonly payloadOffset: number;
  /** The name libpcap's messages use. */
  readonly description: string;
}

const LAYOUTS: ReadonlyMap<number, LinkLayout> = new Map([
  [LINKTYPE_ETHERNET, {
    kind: "ethernet",
    typeOffset: 12,
    payloadOffset: 14,
    description: "Ethernet",
  }],
  [LINKTYPE_LINUX_SLL, {
    kind: "sll",
    typeOffset: 14,
    payloadOffset: 16,
    description: "Linux cooked v1",
  }],
  [LINKTYPE_LINUX_SLL2, {
    kind: "sll2",
    typeOffset: 0,
    payloadOffset: 20,
    description: "Linux cooked v2",
  }],
  ...[LINKTYPE_RAW, LINKTYPE_RAW_12, LINKTYPE_RAW_14].map((type): [number, LinkLayout] => [
    type,
    { kind: "raw", typeOffset: undefined, payloadOffset: 0, description: "Raw IP" },
  ]),
  [LINKTYPE_IPV4, {
    kind: "ipv4",
    typeOffset: undefined,
    payloadOffset: 0,
    description: "Raw IPv4",
  }],
  [LINKTYPE_IPV6, {
    kind: "ipv6",
    typeOffset: undefined,
    payloadOffset: 0,
    description: "Raw IPv6",
  }],
  [LINKTYPE_NULL, { kind: "null", typeOffset: 0, payloadOffset: 4, description: "BSD loopback" }],
  [LINKTYPE_LOOP, {
    kind: "loop",
    typeOffset: 0,
    payloadOffset: 4,
    description: "OpenBSD loopback",
  }],
]);

/**
 * Whether snout can compile filters for a link type.
 *
 * @example Ethernet yes, 802.11 no
 * ```ts
 * import { canFilterLinkType } from "./codegen.ts";
 * import assert from "node:assert/strict";
 * assert.ok(canFilterLinkType(1) && !canFilterLinkType(105));
 * ```
 */
export function canFilterLinkType(linkType: number): boolean {
  return LAYOUTS.has(linkType);
}

/** Where a load is relative to (gencode.c's `enum e_offrel`). */
type OffsetBase = "link" | "type" | "payload" | "transport4" | "transport6";

/** Compiled arithmetic: statements leaving the value in A, or a constant; protocol checks. */
interface Value {
  readonly stmts: readonly Stmt[];
  readonly constant: number | undefined;
  readonly checks: Fragment | undefined;
}

/** A 32-bit value with its bytes in the other order. */
function byteSwap32(value: number): number {
  const view = new DataView(new ArrayBuffer(BYTES_PER_WORD));
  view.setUint32(0, value, true);
  return view.getUint32(0, false);
}

function andMaybe(a: Fragment | undefined, b: Fragment | undefined): Fragment | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return and(a, b);
}

/** Unsigned 32-bit arithmetic, as BPF does it. */
function fold(opName: ArithOp, a: number, b: number): number {
  switch (opName) {
    case "+":
      return (a + b) >>> 0;
    case "-":
      return (a - b) >>> 0;
    case "*":
      return Math.imul(a, b) >>> 0;
    case "/":
      return Math.floor(a / b);
    case "%":
      return a % b;
    case "&":
      return (a & b) >>> 0;
    case "|":
      return (a | b) >>> 0;
    case "^":
      return (a ^ b) >>> 0;
    case "<<":
      return (a << b) >>> 0;
    case ">>":
      return a >>> b;
  }
}

/**
 * Generates the tests of a parsed filter for one link type. A generator is used once: `vlan`
 * moves its offsets as it goes.
 */
export class Generator {
  readonly #layout: LinkLayout;
  readonly #options: GeneratorOptions;
  #typeOffset: number | undefined;
  #payloadOffset: number;

  /** @throws {FilterError} For a link type snout cannot filter. */
  constructor(linkType: number, options: GeneratorOptions = {}) {
    const layout = LAYOUTS.get(linkType);
    if (layout === undefined) {
      throw new FilterError(PREFIX, `link type ${linkType} is not supported`);
    }
    this.#layout = layout;
    this.#options = options;
    this.#typeOffset = layout.typeOffset;
    this.#payloadOffset = layout.payloadOffset;
  }

  #fail(reason: string, at: Token): never {
    throw new FilterError(PREFIX, reason, { line: at.line, column: at.column });
  }

  /** The tests of an expression, generated left to right as bison reduces them. */
  generate(expr: Expr): Fragment {
    switch (expr.type) {
      case "and":
      case "or": {
        // A long chain of `and`/`or` is a deep tree: walk its left spine without recursion.
        const spine: (Expr & { type: "and" | "or" })[] = [];
        let left: Expr = expr;
        while (left.type === "and" || left.type === "or") {
          spine.push(left);
          left = left.left;
        }
        let result = this.generate(left);
        for (const node of spine.reverse()) {
          const right = this.generate(node.right);
          result = node.type === "and" ? and(result, right) : or(result, right);
        }
        return result;
      }
      case "not":
        return not(this.generate(expr.expr));
      case "id":
        return this.#id(expr.q, expr.value, expr.at);
      case "proto":
        return this.#protoAbbrev(expr.proto, expr.at);
      case "relation":
        return this.#relation(expr);
      case "broadcast":
        return this.#broadcast(expr.proto, expr.at);
      case "multicast":
        return this.#multicast(expr.proto, expr.at);
      case "less":
        return not(test([op.loadLength()], BPF_JMP | BPF_JGT | BPF_K, expr.value));
      case "greater":
        return test([op.loadLength()], BPF_JMP | BPF_JGE | BPF_K, expr.value);
      case "vlan":
        return this.#vlan(expr.id, expr.at);
    }
  }

  // Loads and comparisons (gen_load_a, gen_cmp, gen_mcmp, gen_bcmp).

  #load(base: OffsetBase, offset: number, size: number): Stmt[] {
    switch (base) {
      case "link":
        return [op.load(size, offset)];
      case "type":
        return [op.load(size, this.#typeOffset! + offset)];
      case "payload":
        return [op.load(size, this.#payloadOffset + offset)];
      case "transport4":
        return [
          op.loadHeaderLength(this.#payloadOffset),
          op.loadIndirect(size, this.#payloadOffset + offset),
        ];
      case "transport6":
        return [op.load(size, this.#payloadOffset + IPV6_HEADER_LENGTH + offset)];
    }
  }

  #cmp(base: OffsetBase, offset: number, size: number, value: number, jump = BPF_JEQ): Fragment {
    return test(this.#load(base, offset, size), BPF_JMP | jump | BPF_K, value);
  }

  #mcmp(base: OffsetBase, offset: number, size: number, value: number, mask: number): Fragment {
    mask >>>= 0;
    value >>>= 0;
    if (mask === 0) return constant(value === 0);
    const stmts = this.#load(base, offset, size);
    if (mask !== ALL_ONES) stmts.push(op.aluConstant(BPF_AND, mask));
    return test(stmts, BPF_JMP | BPF_JEQ | BPF_K, value);
  }

  #bcmp(base: OffsetBase, offset: number, bytes: Uint8Array): Fragment {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A MAC address: its last four bytes as a word, then its first two as a half word.
    const word = this.#cmp(base, offset + MAC_WORD_OFFSET, BPF_W, view.getUint32(MAC_WORD_OFFSET));
    return and(word, this.#cmp(base, offset, BPF_H, view.getUint16(0)));
  }

  // Link-layer types (gen_linktype and its helpers).

  #linkType(proto: number): Fragment {
    switch (this.#layout.kind) {
      case "ethernet":
        return this.#etherLinkType(proto);
      case "sll":
      case "sll2":
        return this.#sllLinkType(proto);
      case "raw":
        if (proto === ETHERTYPE_IP) {
          return this.#mcmp("link", 0, BPF_B, IP_VERSION_4, IP_VERSION_MASK);
        }
        if (proto === ETHERTYPE_IPV6) {
          return this.#mcmp("link", 0, BPF_B, IP_VERSION_6, IP_VERSION_MASK);
        }
        return constant(false);
      case "ipv4":
        return constant(proto === ETHERTYPE_IP);
      case "ipv6":
        return constant(proto === ETHERTYPE_IPV6);
      case "null":
      case "loop":
        if (proto === ETHERTYPE_IP) return this.#loopbackType(BSD_AFNUM_INET);
        if (proto === ETHERTYPE_IPV6) {
          const bsd = or(
            this.#loopbackType(BSD_AFNUM_INET6_BSD),
            this.#loopbackType(BSD_AFNUM_INET6_FREEBSD),
          );
          return or(this.#loopbackType(BSD_AFNUM_INET6_DARWIN), bsd);
        }
        return constant(false);
    }
  }

  /** The address family of a NULL (host order, here the file's) or LOOP (network order) header. */
  #loopbackType(family: number): Fragment {
    const littleEndian = (this.#options.nullByteOrder ?? "little-endian") === "little-endian";
    const value = this.#layout.kind === "null" && littleEndian ? byteSwap32(family) : family;
    return this.#cmp("type", 0, BPF_W, value);
  }

  #unsupportedLlc(proto: number): boolean {
    return proto === LLCSAP_IPX || proto === ETHERTYPE_ATALK || proto === ETHERTYPE_AARP;
  }

  #etherLinkType(proto: number): Fragment {
    if (proto === LLCSAP_ISONS || proto === LLCSAP_IP || proto === LLCSAP_NETBEUI) {
      // 802.3 frames whose 802.2 DSAP and SSAP are both the SAP.
      const length = not(this.#cmp("type", 0, BPF_H, ETHERMTU, BPF_JGT));
      return and(length, this.#cmp("payload", 0, BPF_H, (proto << BITS_PER_BYTE) | proto));
    }
    if (proto <= ETHERMTU) {
      const length = not(this.#cmp("type", 0, BPF_H, ETHERMTU, BPF_JGT));
      return and(length, this.#cmp("type", LLC_DSAP_OFFSET, BPF_B, proto));
    }
    return this.#cmp("type", 0, BPF_H, proto);
  }

  #sllLinkType(proto: number): Fragment {
    if (proto === LLCSAP_ISONS || proto === LLCSAP_IP || proto === LLCSAP_NETBEUI) {
      const llc = this.#cmp("type", 0, BPF_H, LINUX_SLL_P_802_2);
      return and(llc, this.#cmp("payload", 0, BPF_H, (proto << BITS_PER_BYTE) | proto));
    }
    if (proto <= ETHERMTU) {
      const llc = this.#cmp("type", 0, BPF_H, LINUX_SLL_P_802_2);
      return and(llc, this.#cmp("payload", 0, BPF_B, proto));
    }
    return this.#cmp("type", 0, BPF_H, proto);
  }

  // Protocols (gen_proto_abbrev, gen_proto, gen_ipfrag).

  #protoAbbrev(proto: Proto, at: Token): Fragment {
    const carried = CARRIED_PROTOCOLS.get(proto);
    if (carried !== undefined) return this.#proto(carried[0], carried[1], at);
    const etherType = LINK_PROTOCOLS.get(proto);
    if (etherType !== undefined) return this.#linkType(etherType);
    this.#fail(`"${at.raw}" needs a qualifier after it, such as "host", "src" or "proto"`, at);
  }

  #proto(value: number, proto: Proto, at: Token, dir: Dir = "default"): Fragment {
    if (dir !== "default") this.#fail(`a direction cannot be applied to "proto"`, at);
    switch (proto) {
      case "default": {
        const v4 = this.#proto(value, "ip", at);
        return or(v4, this.#proto(value, "ip6", at));
      }
      case "link":
        if (this.#unsupportedLlc(value)) {
          this.#fail(`EtherType 0x${value.toString(16)} is not supported`, at);
        }
        return this.#linkType(value);
      case "ip": {
        const ip = this.#linkType(ETHERTYPE_IP);
        return and(ip, this.#cmp("payload", IPV4_PROTOCOL, BPF_B, value));
      }
      case "ip6": {
        const ip6 = this.#linkType(ETHERTYPE_IPV6);
        // The protocol may follow a fragment header.
        const fragment = this.#cmp("payload", IPV6_NEXT_HEADER, BPF_B, IPPROTO_FRAGMENT);
        const afterFragment = and(
          fragment,
          this.#cmp("payload", IPV6_HEADER_LENGTH, BPF_B, value),
        );
        const direct = this.#cmp("payload", IPV6_NEXT_HEADER, BPF_B, value);
        return and(ip6, or(direct, afterFragment));
      }
      default:
        this.#noProtocolField(proto, at);
    }
  }

  #noProtocolField(proto: Proto, at: Token): never {
    if (proto === "arp" || proto === "rarp") {
      this.#fail(`${proto} does not carry another protocol`, at);
    }
    this.#fail(`"${proto} proto" is not a test: ${proto} has no protocol field`, at);
  }

  /** Not a fragment other than the first. */
  #ipFragment(): Fragment {
    const offset = this.#load("payload", IPV4_FRAGMENT_OFFSET, BPF_H);
    return not(test(offset, BPF_JMP | BPF_JSET | BPF_K, IPV4_FRAGMENT_MASK));
  }

  // Hosts and networks (gen_host, gen_hostop, gen_host6, gen_hostop6, gen_ehostop).

  #hostOperation(
    address: number,
    mask: number,
    dir: Dir,
    etherType: number,
    srcOffset: number,
    dstOffset: number,
  ): Fragment {
    if (dir === "and" || dir === "or" || dir === "default") {
      const src = this.#hostOperation(address, mask, "src", etherType, srcOffset, dstOffset);
      const dst = this.#hostOperation(address, mask, "dst", etherType, srcOffset, dstOffset);
      return dir === "and" ? and(src, dst) : or(src, dst);
    }
    const link = this.#linkType(etherType);
    const offset = dir === "src" ? srcOffset : dstOffset;
    return and(link, this.#mcmp("payload", offset, BPF_W, address, mask));
  }

  #host(address: number, mask: number, q: Qualifiers, at: Token): Fragment {
    const what = q.addr === "net" ? "network" : "host";
    switch (q.proto) {
      case "default": {
        const ip = this.#host(address, mask, { ...q, proto: "ip" }, at);
        const arp = this.#host(address, mask, { ...q, proto: "arp" }, at);
        const both = or(ip, arp);
        return or(both, this.#host(address, mask, { ...q, proto: "rarp" }, at));
      }
      case "ip":
        return this.#hostOperation(address, mask, q.dir, ETHERTYPE_IP, IPV4_SRC, IPV4_DST);
      case "arp":
        return this.#hostOperation(address, mask, q.dir, ETHERTYPE_ARP, ARP_SPA, ARP_TPA);
      case "rarp":
        return this.#hostOperation(address, mask, q.dir, ETHERTYPE_REVARP, ARP_SPA, ARP_TPA);
      case "link":
        this.#fail(`"${q.protoToken?.raw ?? "ether"}" cannot qualify an IPv4 ${what}`, at);
        break;
      case "ip6":
        this.#fail(`"ip6" cannot qualify an IPv4 ${what}`, at);
        break;
      default:
        this.#fail(
          `"${q.proto}" cannot qualify a ${what}: use "${q.proto} port" or "ip ${what}"`,
          at,
        );
    }
  }

  #hostOperation6(address: Uint8Array, mask: Uint8Array, dir: Dir): Fragment {
    if (dir === "and" || dir === "or" || dir === "default") {
      const src = this.#hostOperation6(address, mask, "src");
      const dst = this.#hostOperation6(address, mask, "dst");
      return dir === "and" ? and(src, dst) : or(src, dst);
    }
    const offset = dir === "src" ? IPV6_SRC : IPV6_DST;
    const a = new DataView(address.buffer);
    const m = new DataView(mask.buffer);
    const word = (i: number) =>
      this.#mcmp(
        "payload",
        offset + i * BYTES_PER_WORD,
        BPF_W,
        a.getUint32(i * BYTES_PER_WORD),
        m.getUint32(i * BYTES_PER_WORD),
      );
    // In gencode.c's order: the last word first, each earlier one joined in front of it.
    let words = word(IPV6_WORDS - 1);
    for (let i = IPV6_WORDS - 2; i >= 0; i--) words = and(word(i), words);
    return and(this.#linkType(ETHERTYPE_IPV6), words);
  }

  #host6(address: Uint8Array, mask: Uint8Array, q: Qualifiers, at: Token): Fragment {
    if (q.proto === "default" || q.proto === "ip6") {
      return this.#hostOperation6(address, mask, q.dir);
    }
    const what = q.addr === "net" ? "network" : "host";
    const name = q.proto === "link" ? q.protoToken?.raw ?? "ether" : q.proto;
    this.#fail(`"${name}" cannot qualify an IPv6 ${what}`, at);
  }

  #etherHost(mac: Uint8Array, dir: Dir): Fragment {
    if (dir === "and" || dir === "or" || dir === "default") {
      const src = this.#etherHost(mac, "src");
      const dst = this.#etherHost(mac, "dst");
      return dir === "and" ? and(src, dst) : or(src, dst);
    }
    return this.#bcmp("link", dir === "src" ? ETHER_SRC : ETHER_DST, mac);
  }

  // Ports (gen_port, gen_portop, gen_port6, gen_portop6 and the range versions).

  #portOperation(
    v6: boolean,
    ipProto: number,
    dir: Dir,
    atom: (offset: number) => Fragment,
  ): Fragment {
    const protocol = v6
      ? this.#cmp("payload", IPV6_NEXT_HEADER, BPF_B, ipProto)
      : and(this.#cmp("payload", IPV4_PROTOCOL, BPF_B, ipProto), this.#ipFragment());
    let ports: Fragment;
    switch (dir) {
      case "src":
        ports = atom(PORT_SRC);
        break;
      case "dst":
        ports = atom(PORT_DST);
        break;
      case "and": {
        const src = atom(PORT_SRC);
        ports = and(src, atom(PORT_DST));
        break;
      }
      default: {
        const src = atom(PORT_SRC);
        ports = or(src, atom(PORT_DST));
      }
    }
    return and(protocol, ports);
  }

  /** gen_port or gen_port6 (gen_portrange...): `ipProto` undefined for tcp, udp and sctp. */
  #ports(v6: boolean, ipProto: number | undefined, dir: Dir, low: number, high: number): Fragment {
    const base: OffsetBase = v6 ? "transport6" : "transport4";
    const atom = low === high
      ? (offset: number) => this.#cmp(base, offset, BPF_H, low)
      : (offset: number) => {
        const above = this.#cmp(base, offset, BPF_H, low, BPF_JGE);
        return and(above, not(this.#cmp(base, offset, BPF_H, high, BPF_JGT)));
      };
    const link = this.#linkType(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
    let operation: Fragment;
    if (ipProto !== undefined) operation = this.#portOperation(v6, ipProto, dir, atom);
    else {
      const tcp = this.#portOperation(v6, IPPROTO_TCP, dir, atom);
      const udp = or(tcp, this.#portOperation(v6, IPPROTO_UDP, dir, atom));
      operation = or(this.#portOperation(v6, IPPROTO_SCTP, dir, atom), udp);
    }
    return and(link, operation);
  }

  /** A port or port range over IPv4 and IPv6, IPv6 tested first as in gen_ncode. */
  #portBoth(ipProto: number | undefined, dir: Dir, low: number, high: number): Fragment {
    if (low > high) [low, high] = [high, low];
    const v4 = this.#ports(false, ipProto, dir, low, high);
    return or(this.#ports(true, ipProto, dir, low, high), v4);
  }

  /** The IP protocol a `port` or `portrange` qualifier allows; undefined for all three. */
  #portProtocol(q: Qualifiers, at: Token): number | undefined {
    switch (q.proto) {
      case "tcp":
        return IPPROTO_TCP;
      case "udp":
        return IPPROTO_UDP;
      case "sctp":
        return IPPROTO_SCTP;
      case "default":
        return undefined;
      default:
        this.#fail(
          `"${q.addr}" cannot follow "${q.protoToken?.raw ?? q.proto}": use tcp, udp or sctp`,
          at,
        );
    }
  }

  // Ids (gen_ncode, gen_mcode, gen_mcode6, gen_ecode, gen_scode).

  #id(q: Qualifiers, value: IdValue, at: Token): Fragment {
    if (q.addr === "undef") {
      this.#fail(
        `unexpected "${at.raw}": give a qualifier such as "host" or "port" before it`,
        at,
      );
    }
    switch (value.kind) {
      case "number":
        return this.#numberId(q, value.value, 32, at);
      case "ipv4": {
        const parsed = this.#ipv4(value.text, at);
        return this.#numberId(q, parsed.value, parsed.bits, at, true);
      }
      case "ipv4-cidr":
      case "ipv4-mask":
        return this.#maskedNetwork(q, value, at);
      case "ipv6":
        return this.#ipv6Id(q, value.text, value.bits, at);
      case "mac":
        return this.#macId(q, value.text, at);
      case "name":
        return this.#nameId(q, value.text, at);
    }
  }

  /** A dotted address of 1 to 4 parts: its value and how many bits it gives (__pcap_atoin). */
  #ipv4(text: string, at: Token): { value: number; bits: number } {
    let value = 0;
    const parts = text.split(".");
    for (const part of parts) {
      const n = Number(part);
      if (!/^[0-9]+$/.test(part) || n > 0xff) this.#fail(`invalid IPv4 address "${text}"`, at);
      value = value * (1 << BITS_PER_BYTE) + n;
    }
    return { value: value >>> 0, bits: parts.length * BITS_PER_BYTE };
  }

  #numberId(q: Qualifiers, value: number, bits: number, at: Token, dotted = false): Fragment {
    switch (q.addr) {
      case "default":
      case "host":
      case "net": {
        if (q.proto === "link") {
          this.#fail(`"${q.protoToken?.raw ?? "ether"}" needs a MAC address, not ${at.raw}`, at);
        }
        let mask = ALL_ONES;
        if (!dotted && q.addr === "net") {
          // A short network number is promoted: net 10 is 10.0.0.0/8.
          while (value !== 0 && (value & TOP_BYTE) === 0) {
            value = (value << BITS_PER_BYTE) >>> 0;
            mask = (mask << BITS_PER_BYTE) >>> 0;
          }
        } else if (bits < IPV4_BITS) {
          value = (value << (IPV4_BITS - bits)) >>> 0;
          mask = (mask << (IPV4_BITS - bits)) >>> 0;
        }
        return this.#host(value, mask, q, at);
      }
      case "port":
      case "portrange": {
        const ipProto = this.#portProtocol(q, at);
        if (value > MAX_PORT) this.#fail(`port number ${value} is above ${MAX_PORT}`, at);
        return this.#portBoth(ipProto, q.dir, value, value);
      }
      case "proto":
        return this.#proto(value, q.proto, at, q.dir);
      default:
        this.#fail(`"${q.addr}" is not supported`, at);
    }
  }

  #maskedNetwork(
    q: Qualifiers,
    value: { kind: "ipv4-cidr"; text: string; bits: number } | {
      kind: "ipv4-mask";
      text: string;
      mask: string;
    },
    at: Token,
  ): Fragment {
    const address = this.#ipv4(value.text, at);
    const network = (address.value << (IPV4_BITS - address.bits)) >>> 0;
    let mask: number;
    let written: string;
    if (value.kind === "ipv4-mask") {
      const parsed = this.#ipv4(value.mask, at);
      mask = (parsed.value << (IPV4_BITS - parsed.bits)) >>> 0;
      written = `${value.text} mask ${value.mask}`;
    } else {
      if (value.bits > IPV4_BITS) this.#fail(`mask length ${value.bits} is above 32`, at);
      mask = value.bits === 0 ? 0 : (ALL_ONES << (IPV4_BITS - value.bits)) >>> 0;
      written = `${value.text}/${value.bits}`;
    }
    if ((network & ~mask) !== 0) this.#fail(`"${written}" has bits set outside the mask`, at);
    if (q.addr !== "net") {
      this.#fail(`a mask is for networks only: write "net ${written}"`, at);
    }
    return this.#host(network, mask, q, at);
  }

  #ipv6Id(q: Qualifiers, text: string, bits: number, at: Token): Fragment {
    const address = parseIpv6(text);
    if (address === undefined) this.#fail(`invalid IPv6 address "${text}"`, at);
    if (bits > IPV6_BITS) this.#fail(`mask length ${bits} is above 128`, at);
    const mask = new Uint8Array(address.length);
    for (let i = 0; i < mask.length; i++) {
      const left = Math.max(0, Math.min(BITS_PER_BYTE, bits - i * BITS_PER_BYTE));
      mask[i] = (0xff << (BITS_PER_BYTE - left)) & 0xff;
      if ((address[i]! & ~mask[i]!) !== 0) {
        this.#fail(`"${text}/${bits}" has bits set outside the mask`, at);
      }
    }
    if (q.addr === "default" || q.addr === "host") {
      if (bits !== IPV6_BITS) {
        this.#fail(`a mask is for networks only: write "net ${text}/${bits}"`, at);
      }
    } else if (q.addr !== "net") {
      this.#fail(`"${q.addr}" cannot take an IPv6 address`, at);
    }
    return this.#host6(address, mask, q, at);
  }

  #macId(q: Qualifiers, text: string, at: Token): Fragment {
    if ((q.addr === "host" || q.addr === "default") && q.proto === "link") {
      if (this.#layout.kind !== "ethernet") {
        this.#fail(
          `MAC addresses can be matched on Ethernet only, not ${this.#layout.description}`,
          at,
        );
      }
      const digits = text.replace(/[^0-9A-Fa-f]/g, "");
      const groups = text.includes(".")
        ? digits.match(/../g)!
        : text.split(/[:-]/).map((part) => part.padStart(2, "0"));
      const mac = new Uint8Array(groups.map((group) => parseInt(group, HEX_RADIX)));
      if (mac.length !== ETHER_ADDRESS_LENGTH) this.#fail(`invalid MAC address "${text}"`, at);
      return this.#etherHost(mac, q.dir);
    }
    this.#fail(`a MAC address needs "ether" before it: "ether host ${text}"`, at);
  }

  #nameId(q: Qualifiers, name: string, at: Token): Fragment {
    switch (q.addr) {
      case "default":
      case "host":
        if (q.proto === "link") {
          this.#fail(`unknown Ethernet host "${name}": snout does not read /etc/ethers`, at);
        }
        this.#fail(
          `unknown host "${name}": snout does not look up host names, give an address`,
          at,
        );
        break;
      case "net":
        this.#fail(`unknown network "${name}": give it as an address`, at);
        break;
      case "port": {
        const ipProto = this.#portProtocol(q, at);
        const port = this.#servicePort(name, ipProto, at);
        return this.#portBoth(port.protocol, q.dir, port.port, port.port);
      }
      case "portrange": {
        const ipProto = this.#portProtocol(q, at);
        const [low, high] = this.#portRange(name, ipProto, at);
        const protocol = low.protocol === high.protocol ? low.protocol : undefined;
        return this.#portBoth(protocol ?? ipProto, q.dir, low.port, high.port);
      }
      case "proto":
        return this.#proto(this.#protocolNumber(name, q.proto, at), q.proto, at, q.dir);
    }
    this.#fail(`"${q.addr}" is not supported`, at);
  }

  /** A service name's port and protocol as pcap_nametoport gives them, checked against `ipProto`. */
  #servicePort(
    name: string,
    ipProto: number | undefined,
    at: Token,
  ): { port: number; protocol: number | undefined } {
    const service = SERVICES.get(name);
    if (service === undefined) this.#fail(`unknown port name "${name}"`, at);
    const [port, protocols] = service;
    const protocol = protocols === "tcp"
      ? IPPROTO_TCP
      : protocols === "udp"
      ? IPPROTO_UDP
      : undefined;
    if (ipProto === undefined) return { port, protocol };
    if (protocol !== undefined && protocol !== ipProto) {
      this.#fail(`port "${name}" is a ${protocols} port only`, at);
    }
    return { port, protocol: ipProto };
  }

  #portRange(
    text: string,
    ipProto: number | undefined,
    at: Token,
  ): [
    { port: number; protocol: number | undefined },
    { port: number; protocol: number | undefined },
  ] {
    const numeric = /^([0-9]+)-([0-9]+)$/.exec(text);
    if (numeric !== null) {
      const ends = [Number(numeric[1]), Number(numeric[2])];
      for (const end of ends) {
        if (end > MAX_PORT) this.#fail(`port number ${end} is above ${MAX_PORT}`, at);
      }
      return [{ port: ends[0]!, protocol: ipProto }, { port: ends[1]!, protocol: ipProto }];
    }
    const dash = text.indexOf("-");
    if (dash <= 0) this.#fail(`expected a port range such as 1-1024, not "${text}"`, at);
    return [
      this.#servicePort(text.slice(0, dash), ipProto, at),
      this.#servicePort(text.slice(dash + 1), ipProto, at),
    ];
  }

  /** A protocol name in `proto NAME` (lookup_proto). */
  #protocolNumber(name: string, proto: Proto, at: Token): number {
    if (proto === "link") {
      const value = ETHER_PROTOCOLS.get(name);
      if (value === undefined) this.#fail(`unknown Ethernet protocol "${name}"`, at);
      return value;
    }
    if (proto === "default" || proto === "ip" || proto === "ip6") {
      const value = IP_PROTOCOLS.get(name);
      if (value === undefined) this.#fail(`unknown IP protocol "${name}"`, at);
      return value;
    }
    this.#noProtocolField(proto, at);
  }

  // Arithmetic (gen_load, gen_arth, gen_neg, gen_relation).

  #value(a: Arith, depth: number): Value {
    switch (a.type) {
      case "number":
        return { stmts: [], constant: a.value, checks: undefined };
      case "len":
        return { stmts: [op.loadLength()], constant: undefined, checks: undefined };
      case "negate": {
        const inner = this.#value(a.operand, depth);
        if (inner.constant !== undefined) {
          return { stmts: [], constant: (0 - inner.constant) >>> 0, checks: inner.checks };
        }
        return { stmts: [...inner.stmts, op.negate()], constant: undefined, checks: inner.checks };
      }
      case "binary":
        return this.#binary(a, depth);
      case "load":
        return this.#packetLoad(a, depth);
    }
  }

  #scratch(depth: number, at: Token): number {
    if (depth >= BPF_MEMWORDS) this.#fail("the arithmetic is nested too deeply", at);
    return depth;
  }

  /** Statements that leave a value in A. */
  #inA(value: Value): readonly Stmt[] {
    return value.constant === undefined ? value.stmts : [op.loadConstant(value.constant)];
  }

  #binary(a: Extract<Arith, { type: "binary" }>, depth: number): Value {
    const left = this.#value(a.left, depth);
    const right = this.#value(a.right, depth + 1);
    if (right.constant === 0 && (a.op === "/" || a.op === "%")) {
      this.#fail(a.op === "/" ? "division by zero" : "modulus by zero", a.at);
    }
    if (
      right.constant !== undefined && right.constant > MAX_SHIFT && (a.op === "<<" || a.op === ">>")
    ) {
      this.#fail("shift by more than 31 bits", a.at);
    }
    const checks = andMaybe(left.checks, right.checks);
    const alu = ALU_OPS.get(a.op)!;
    if (left.constant !== undefined && right.constant !== undefined) {
      return { stmts: [], constant: fold(a.op, left.constant, right.constant), checks };
    }
    if (right.constant !== undefined) {
      return {
        stmts: [...left.stmts, op.aluConstant(alu, right.constant)],
        constant: undefined,
        checks,
      };
    }
    const scratch = this.#scratch(depth, a.at);
    const stmts = left.constant !== undefined
      ? [...right.stmts, op.tax(), op.loadConstant(left.constant), op.aluX(alu)]
      : [
        ...left.stmts,
        op.store(scratch),
        ...right.stmts,
        op.tax(),
        op.loadMemory(scratch),
        op.aluX(alu),
      ];
    return { stmts, constant: undefined, checks };
  }

  #packetLoad(a: Extract<Arith, { type: "load" }>, depth: number): Value {
    const size = LOAD_SIZES.get(a.size)!;
    const index = this.#value(a.index, depth);
    const fixed = index.constant;
    const payload = this.#payloadOffset;
    const indirect = (
      base: number,
    ): Stmt[] => [...index.stmts, op.tax(), op.loadIndirect(size, base)];
    switch (a.proto) {
      case "link":
        return {
          stmts: fixed !== undefined ? [op.load(size, fixed)] : indirect(0),
          constant: undefined,
          checks: index.checks,
        };
      case "ip":
      case "ip6":
      case "arp":
      case "rarp": {
        const stmts = fixed !== undefined ? [op.load(size, payload + fixed)] : indirect(payload);
        const checks = andMaybe(index.checks, this.#protoAbbrev(a.proto, a.at));
        return { stmts, constant: undefined, checks };
      }
      case "tcp":
      case "udp":
      case "sctp":
      case "icmp":
      case "igmp":
      case "igrp":
      case "pim":
      case "vrrp":
      case "carp": {
        const header = op.loadHeaderLength(payload);
        let stmts: Stmt[];
        if (fixed !== undefined) stmts = [header, op.loadIndirect(size, payload + fixed)];
        else {
          const scratch = this.#scratch(depth, a.at);
          stmts = [
            ...index.stmts,
            op.store(scratch),
            header,
            op.loadMemory(scratch),
            op.aluX(BPF_ADD),
            op.tax(),
            op.loadIndirect(size, payload),
          ];
        }
        const transport = and(this.#protoAbbrev(a.proto, a.at), this.#ipFragment());
        const inner = andMaybe(index.checks, transport)!;
        return { stmts, constant: undefined, checks: and(this.#linkType(ETHERTYPE_IP), inner) };
      }
      case "icmp6": {
        const base = payload + IPV6_HEADER_LENGTH;
        const stmts = fixed !== undefined ? [op.load(size, base + fixed)] : indirect(base);
        const ip6 = andMaybe(index.checks, this.#linkType(ETHERTYPE_IPV6))!;
        const next = this.#cmp("payload", IPV6_NEXT_HEADER, BPF_B, IPPROTO_ICMPV6);
        return { stmts, constant: undefined, checks: and(ip6, next) };
      }
      default:
        this.#fail(
          `"${a.at.raw}[...]" is not supported: no offsets are known for ${a.proto}`,
          a.at,
        );
    }
  }

  #relation(expr: Extract<Expr, { type: "relation" }>): Fragment {
    const left = this.#value(expr.left, 0);
    const right = this.#value(expr.right, 1);
    const checks = andMaybe(left.checks, right.checks);
    const jump = JUMPS[expr.relation];
    let comparison: Fragment;
    if (left.constant !== undefined && right.constant !== undefined) {
      const a = left.constant;
      const b = right.constant;
      comparison = constant(jump === BPF_JEQ ? a === b : jump === BPF_JGT ? a > b : a >= b);
    } else if (right.constant !== undefined) {
      comparison = test(this.#inA(left), BPF_JMP | jump | BPF_K, right.constant);
    } else {
      const stmts = left.constant !== undefined
        ? [...right.stmts, op.tax(), op.loadConstant(left.constant)]
        : [...left.stmts, op.store(0), ...right.stmts, op.tax(), op.loadMemory(0)];
      comparison = test(stmts, BPF_JMP | jump | BPF_X, 0);
    }
    if (expr.reversed) comparison = not(comparison);
    return checks === undefined ? comparison : and(checks, comparison);
  }

  // Other primitives (gen_broadcast, gen_multicast, gen_vlan).

  #broadcast(proto: Proto, at: Token): Fragment {
    if (proto === "default" || proto === "link") {
      if (this.#layout.kind !== "ethernet") {
        this.#fail(`"broadcast" needs Ethernet frames, not ${this.#layout.description}`, at);
      }
      return this.#etherHost(new Uint8Array(ETHER_ADDRESS_LENGTH).fill(0xff), "dst");
    }
    if (proto === "ip") {
      const hostMask = ~(this.#options.netmask ?? 0) >>> 0;
      const ip = this.#linkType(ETHERTYPE_IP);
      const zeros = this.#mcmp("payload", IPV4_DST, BPF_W, 0, hostMask);
      return and(ip, or(zeros, this.#mcmp("payload", IPV4_DST, BPF_W, hostMask, hostMask)));
    }
    this.#fail(
      `"${at.raw} broadcast" is not supported: only link-layer and IPv4 broadcasts are`,
      at,
    );
  }

  #multicast(proto: Proto, at: Token): Fragment {
    switch (proto) {
      case "default":
      case "link":
        if (this.#layout.kind !== "ethernet") break;
        return test([op.load(BPF_B, ETHER_DST)], BPF_JMP | BPF_JSET | BPF_K, ETHER_GROUP_BIT);
      case "ip": {
        const ip = this.#linkType(ETHERTYPE_IP);
        return and(ip, this.#cmp("payload", IPV4_DST, BPF_B, IPV4_MULTICAST_FIRST, BPF_JGE));
      }
      case "ip6": {
        const ip6 = this.#linkType(ETHERTYPE_IPV6);
        return and(ip6, this.#cmp("payload", IPV6_DST, BPF_B, IPV6_MULTICAST_FIRST));
      }
    }
    this.#fail(`"multicast" needs Ethernet frames, or "ip multicast" or "ip6 multicast"`, at);
  }

  #vlan(id: number | undefined, at: Token): Fragment {
    if (this.#layout.kind !== "ethernet") {
      this.#fail(`"vlan" needs Ethernet frames, not ${this.#layout.description}`, at);
    }
    if (id !== undefined && id > VLAN_ID_MASK) {
      this.#fail(`VLAN id ${id} is above the largest, ${VLAN_ID_MASK}`, at);
    }
    const tagged = or(this.#linkType(ETHERTYPE_8021Q), this.#linkType(ETHERTYPE_8021AD));
    let result = or(tagged, this.#linkType(ETHERTYPE_8021QINQ));
    if (id !== undefined) result = and(result, this.#mcmp("payload", 0, BPF_H, id, VLAN_ID_MASK));
    this.#payloadOffset += VLAN_TAG_LENGTH;
    this.#typeOffset! += VLAN_TAG_LENGTH;
    return result;
  }
}
