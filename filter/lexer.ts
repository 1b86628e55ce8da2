/**
 * The tokens of the pcap-filter language, as libpcap's scanner.l cuts them: the longest match
 * wins, and between matches of one length the earlier rule (a MAC address, then an IPv6 address,
 * a dotted IPv4 address, a number, a name). Names are looked up in the keyword table; a
 * backslash makes a keyword a plain name (`ip proto \tcp`). Numbers are decimal, 0x hex or
 * 0-prefixed octal, as in libpcap, and the named constants (`tcp-syn`, `icmp-echo`, ...) are
 * numbers.
 *
 * @module
 */

import { FilterError } from "./filter_error.ts";

/** What a token is. */
export type TokenKind =
  /** A number (decimal, hex, octal, or a named constant such as `tcp-ack`). */
  | "number"
  /** A dotted IPv4 address of 2 to 4 parts: `10.0.0.1`, `10.1`. */
  | "ipv4"
  /** An IPv6 address. */
  | "ipv6"
  /** A MAC address: `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff`. */
  | "mac"
  /** A name that is not a keyword (or a keyword escaped with a backslash). */
  | "name"
  /** A keyword: `host`, `tcp`, `and`, ... (`&&` is `and`, `||` is `or`, `!` is `not`). */
  | "keyword"
  /** An operator or bracket: `( ) [ ] : = != < <= > >= + - * / % & | ^ << >>`. */
  | "operator"
  /** The end of the expression. */
  | "end";

/** One token, with where it starts. */
export interface Token {
  readonly kind: TokenKind;
  /** The text as written (for keywords and operators, their canonical spelling). */
  readonly text: string;
  /** The number's value, for `number` tokens. */
  readonly value: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column within the line. */
  readonly column: number;
  /** How many characters of the expression the token spans. */
  readonly length: number;
  /** The characters as written (`&&` where `text` is `and`). */
  readonly raw: string;
}

/** The keywords snout compiles. */
const SUPPORTED_KEYWORDS = [
  "link",
  "ether",
  "ppp",
  "slip",
  "fddi",
  "tr",
  "wlan",
  "ip",
  "ip6",
  "arp",
  "rarp",
  "tcp",
  "udp",
  "sctp",
  "icmp",
  "icmp6",
  "igmp",
  "igrp",
  "pim",
  "vrrp",
  "carp",
  "ah",
  "esp",
  "src",
  "dst",
  "host",
  "net",
  "mask",
  "port",
  "portrange",
  "proto",
  "broadcast",
  "multicast",
  "less",
  "greater",
  "len",
  "vlan",
  "and",
  "or",
  "not",
];

/**
 * Keywords of libpcap's language that snout does not compile: they are refused by name rather
 * than taken for host names.
 */
export const UNSUPPORTED_KEYWORDS: ReadonlySet<string> = new Set([
  "atalk",
  "aarp",
  "decnet",
  "lat",
  "sca",
  "moprc",
  "mopdl",
  "iso",
  "esis",
  "es-is",
  "isis",
  "is-is",
  "l1",
  "l2",
  "iih",
  "lsp",
  "snp",
  "csnp",
  "psnp",
  "clnp",
  "stp",
  "ipx",
  "netbeui",
  "radio",
  "protochain",
  "gateway",
  "addr1",
  "addr2",
  "addr3",
  "addr4",
  "address1",
  "address2",
  "address3",
  "address4",
  "ra",
  "ta",
  "mpls",
  "pppoed",
  "pppoes",
  "geneve",
  "byte",
  "inbound",
  "outbound",
  "ifindex",
  "llc",
  "lane",
  "metac",
  "bcc",
  "oam",
  "oamf4",
  "oamf4ec",
  "oamf4sc",
  "sc",
  "ilmic",
  "vpi",
  "vci",
  "connectmsg",
  "metaconnect",
  "on",
  "ifname",
  "rnr",
  "rulenum",
  "reason",
  "rset",
  "ruleset",
  "srnr",
  "subrulenum",
  "action",
  "fisu",
  "lssu",
  "lsu",
  "msu",
  "hfisu",
  "hlssu",
  "hmsu",
  "sio",
  "opc",
  "dpc",
  "sls",
  "hsio",
  "hopc",
  "hdpc",
  "hsls",
  "type",
  "subtype",
  "direction",
  "dir",
]);

/** Every keyword of the language snout knows, supported or not. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  ...SUPPORTED_KEYWORDS,
  ...UNSUPPORTED_KEYWORDS,
]);

/** Keywords spelled another way. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["length", "len"],
  ["&&", "and"],
  ["||", "or"],
  ["!", "not"],
  ["==", "="],
]);

/** The named constants, which are numbers (scanner.l). */
export const NAMED_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["icmptype", 0],
  ["icmpcode", 1],
  ["icmp-echoreply", 0],
  ["icmp-unreach", 3],
  ["icmp-sourcequench", 4],
  ["icmp-redirect", 5],
  ["icmp-echo", 8],
  ["icmp-routeradvert", 9],
  ["icmp-routersolicit", 10],
  ["icmp-timxceed", 11],
  ["icmp-paramprob", 12],
  ["icmp-tstamp", 13],
  ["icmp-tstampreply", 14],
  ["icmp-ireq", 15],
  ["icmp-ireqreply", 16],
  ["icmp-maskreq", 17],
  ["icmp-maskreply", 18],
  ["icmp6type", 0],
  ["icmp6code", 1],
  ["icmp6-destinationunreach", 1],
  ["icmp6-packettoobig", 2],
  ["icmp6-timeexceeded", 3],
  ["icmp6-parameterproblem", 4],
  ["icmp6-echo", 128],
  ["icmp6-echoreply", 129],
  ["icmp6-multicastlistenerquery", 130],
  ["icmp6-multicastlistenerreportv1", 131],
  ["icmp6-multicastlistenerdone", 132],
  ["icmp6-routersolicit", 133],
  ["icmp6-routeradvert", 134],
  ["icmp6-neighborsolicit", 135],
  ["icmp6-neighboradvert", 136],
  ["icmp6-redirect", 137],
  ["icmp6-routerrenum", 138],
  ["icmp6-nodeinformationquery", 139],
  ["icmp6-nodeinformationresponse", 140],
  ["icmp6-ineighbordiscoverysolicit", 141],
  ["icmp6-ineighbordiscoveryadvert", 142],
  ["icmp6-multicastlistenerreportv2", 143],
  ["icmp6-homeagentdiscoveryrequest", 144],
  ["icmp6-homeagentdiscoveryreply", 145],
  ["icmp6-mobileprefixsolicit", 146],
  ["icmp6-mobileprefixadvert", 147],
  ["icmp6-certpathsolicit", 148],
  ["icmp6-certpathadvert", 149],
  ["icmp6-multicastrouteradvert", 151],
  ["icmp6-multicastroutersolicit", 152],
  ["icmp6-multicastrouterterm", 153],
  ["tcpflags", 13],
  ["tcp-fin", 0x01],
  ["tcp-syn", 0x02],
  ["tcp-rst", 0x04],
  ["tcp-push", 0x08],
  ["tcp-ack", 0x10],
  ["tcp-urg", 0x20],
  ["tcp-ece", 0x40],
  ["tcp-cwr", 0x80],
]);

/** Operators, longest first so that `<<` is not read as `<`. */
const OPERATORS = [
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "<<",
  ">>",
  "(",
  ")",
  "[",
  "]",
  ":",
  "!",
  "=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
];

const MAX_U32 = 0xffffffff;
const HEX_RADIX = 16;
const OCTAL_RADIX = 8;
const IPV6_GROUPS = 8;
const BYTES_PER_GROUP = 2;
const IPV4_PARTS = 4;
const IPV4_PART_MAX = 255;
const IPV6_GROUP_MAX = 0xffff;

// The token shapes, tried at one position; every one is anchored there (sticky).
const MAC_PATTERNS = [
  /[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){5}/y,
  /[0-9A-Fa-f]{1,2}(?:-[0-9A-Fa-f]{1,2}){5}/y,
  /[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}/y,
];
/** Characters an IPv6 address may contain: its longest valid prefix is the token. */
const IPV6_CHARS = /[0-9A-Fa-f:.]+/y;
const IPV4_PATTERN = /[0-9]+(?:\.[0-9]+){1,3}/y;
const NUMBER_PATTERN = /0[xX][0-9A-Fa-f]+|[0-9]+/y;
const NAME_PATTERN = /[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?/y;
/** An escaped name: a backslash, then anything up to a space, `!`, or a parenthesis. */
const ESCAPED_PATTERN = /\\[^ !()\n\t]+/y;
const SPACE = /[ \t\r\n]/;

function matchAt(pattern: RegExp, text: string, at: number): string {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0] ?? "";
}

/**
 * Parses an IPv6 address in any RFC 4291 text form (with `::`, and with a dotted IPv4 tail);
 * returns its 16 bytes, or undefined when the text is not one.
 *
 * @example Parse a link-local address
 * ```ts
 * import { parseIpv6 } from "./lexer.ts";
 * import assert from "node:assert/strict";
 * assert.ok(parseIpv6("fe80::1")?.[15] === 1);
 * assert.ok(parseIpv6("fe80:::1") === undefined);
 * ```
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseDottedQuad(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> HEX_RADIX, v4 & IPV6_GROUP_MAX);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, HEX_RADIX));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = IPV6_GROUPS - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(IPV6_GROUPS * BYTES_PER_GROUP);
  all.forEach((group, i) => {
    new DataView(bytes.buffer).setUint16(i * BYTES_PER_GROUP, group);
  });
  return bytes;
}

/** A full dotted quad `a.b.c.d` as a 32-bit number, or undefined. */
function parseDottedQuad(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== IPV4_PARTS) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part) || Number(part) > IPV4_PART_MAX) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/** The longest prefix of `run` that is an IPv6 address (and holds a colon), or "". */
function longestIpv6(run: string): string {
  for (let end = run.length; end > 1; end--) {
    const candidate = run.slice(0, end);
    if (candidate.includes(":") && parseIpv6(candidate) !== undefined) return candidate;
  }
  return "";
}

/**
 * A number as libpcap reads one: 0x hex, 0-prefixed octal, or decimal; undefined when it does
 * not fit in 32 bits or is not a number.
 */
function parseNumber(text: string): number | undefined {
  let value: number;
  if (/^0[xX]/.test(text)) value = parseInt(text.slice(2), HEX_RADIX);
  else if (/^0[0-7]+$/.test(text)) value = parseInt(text, OCTAL_RADIX);
  else if (/^[0-9]+$/.test(text)) value = Number(text);
  else return undefined;
  return Number.isSafeInteger(value) && value <= MAX_U32 ? value : undefined;
}

/**
 * Cuts an expression into tokens, ending with an `end` token.
 *
 * @throws {FilterError} For a character no token starts with, or a number beyond 32 bits.
 *
 * @example Tokens of a port test
 * ```ts
 * import { tokenize } from "./lexer.ts";
 * import assert from "node:assert/strict";
 * const tokens = tokenize("tcp port 80");
 * assert.ok(tokens.map((t) => t.kind).join() === "keyword,keyword,number,end");
 * assert.ok(tokens[2]?.value === 80 && tokens[2]?.column === 10);
 * ```
 */
export function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let at = 0;
  const push = (kind: TokenKind, text: string, value: number, start: number, length: number) => {
    const raw = expression.slice(start, start + length);
    tokens.push({ kind, text, value, line, column: start - lineStart + 1, length, raw });
  };
  while (at < expression.length) {
    const char = expression[at]!;
    if (SPACE.test(char)) {
      at++;
      if (char === "\n") {
        line++;
        lineStart = at;
      }
      continue;
    }
    const escaped = matchAt(ESCAPED_PATTERN, expression, at);
    if (escaped !== "") {
      push("name", escaped.slice(1), 0, at, escaped.length);
      at += escaped.length;
      continue;
    }
    const word = longestWord(expression, at);
    if (word !== undefined) {
      const [kind, text] = word;
      if (kind === "number") {
        const value = NAMED_CONSTANTS.get(text) ?? parseNumber(text);
        if (value === undefined) {
          throw new FilterError("Cannot compile filter", `number ${text} does not fit in 32 bits`, {
            line,
            column: at - lineStart + 1,
          });
        }
        push("number", text, value, at, text.length);
      } else {
        const canonical = ALIASES.get(text) ?? text;
        const tokenKind = KEYWORDS.has(canonical) && kind === "name" ? "keyword" : kind;
        push(tokenKind, canonical, 0, at, text.length);
      }
      at += text.length;
      continue;
    }
    const operator = OPERATORS.find((op) => expression.startsWith(op, at));
    if (operator !== undefined) {
      const canonical = ALIASES.get(operator) ?? operator;
      push(KEYWORDS.has(canonical) ? "keyword" : "operator", canonical, 0, at, operator.length);
      at += operator.length;
      continue;
    }
    throw new FilterError("Cannot compile filter", `unexpected character "${char}"`, {
      line,
      column: at - lineStart + 1,
    });
  }
  // The end is just after the last token, where a missing token would have been.
  const lastToken = tokens[tokens.length - 1];
  if (lastToken === undefined) push("end", "", 0, at, 0);
  else {
    const column = lastToken.column + lastToken.length;
    tokens.push({
      kind: "end",
      text: "",
      value: 0,
      line: lastToken.line,
      column,
      length: 0,
      raw: "",
    });
  }
  return tokens;
}

/** The longest word-like token at `at` (ties to the earlier shape), or undefined. */
function longestWord(text: string, at: number): [TokenKind, string] | undefined {
  const candidates: [TokenKind, string][] = [
    ...MAC_PATTERNS.map((pattern): [TokenKind, string] => ["mac", matchAt(pattern, text, at)]),
    ["ipv6", longestIpv6(matchAt(IPV6_CHARS, text, at))],
    ["ipv4", matchAt(IPV4_PATTERN, text, at)],
    ["number", matchAt(NUMBER_PATTERN, text, at)],
    ["name", matchAt(NAME_PATTERN, text, at)],
  ];
  let best: [TokenKind, string] | undefined;
  for (const candidate of candidates) {
    if (candidate[1].length > (best?.[1].length ?? 0)) best = candidate;
  }
  if (best === undefined) return undefined;
  // A name that is a named constant is a number, as in scanner.l.
  if (best[0] === "name" && NAMED_CONSTANTS.has(best[1])) return ["number", best[1]];
  return best;
}
