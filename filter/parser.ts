/**
 * The pcap-filter grammar (libpcap's grammar.y), parsed by recursive descent into a syntax tree:
 * `and` and `or` of equal precedence, left to right; `not`; primitives made of qualifiers
 * (`ip src host`, `tcp dst port`, ...) and an id; tcpdump's implicit repetition, where an id after
 * `and`/`or` takes the qualifiers of what came before (`port 80 or 443`); comparisons of
 * arithmetic on packet bytes (`tcp[13] & 2 != 0`).
 *
 * @module
 */

import { FilterError } from "./filter_error.ts";
import { type Token, tokenize, UNSUPPORTED_KEYWORDS } from "./lexer.ts";

/** Protocol qualifiers; `default` when none is given, `undef` after a term that has none. */
export type Proto =
  | "default"
  | "undef"
  | "link"
  | "ip"
  | "ip6"
  | "arp"
  | "rarp"
  | "tcp"
  | "udp"
  | "sctp"
  | "icmp"
  | "icmp6"
  | "igmp"
  | "igrp"
  | "pim"
  | "vrrp"
  | "carp"
  | "ah"
  | "esp";

/** Direction qualifiers: `src`, `dst`, `src or dst` (`or`), `src and dst` (`and`). */
export type Dir = "default" | "undef" | "src" | "dst" | "or" | "and";

/** Address qualifiers. */
export type Addr =
  | "default"
  | "undef"
  | "host"
  | "net"
  | "port"
  | "portrange"
  | "proto"
  | "protochain"
  | "gateway";

/** The qualifiers in force for an id. */
export interface Qualifiers {
  readonly proto: Proto;
  readonly dir: Dir;
  readonly addr: Addr;
  /** The token the qualifiers end with, for "expected ... after" messages. */
  readonly last: Token | undefined;
  /** The protocol qualifier as written (`ether`, `ip6`, ...), for messages. */
  readonly protoToken: Token | undefined;
}

/** What an id is: the value after the qualifiers. */
export type IdValue =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "ipv4"; readonly text: string }
  | { readonly kind: "ipv4-cidr"; readonly text: string; readonly bits: number }
  | { readonly kind: "ipv4-mask"; readonly text: string; readonly mask: string }
  | { readonly kind: "ipv6"; readonly text: string; readonly bits: number }
  | { readonly kind: "mac"; readonly text: string }
  | { readonly kind: "name"; readonly text: string };

/** Arithmetic on packet bytes. */
export type Arith =
  | { readonly type: "number"; readonly value: number; readonly at: Token }
  | { readonly type: "len"; readonly at: Token }
  | {
    readonly type: "load";
    readonly proto: Proto;
    readonly index: Arith;
    readonly size: number;
    readonly at: Token;
  }
  | {
    readonly type: "binary";
    readonly op: ArithOp;
    readonly left: Arith;
    readonly right: Arith;
    readonly at: Token;
  }
  | { readonly type: "negate"; readonly operand: Arith; readonly at: Token };

/** The binary arithmetic operators. */
export type ArithOp = "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>";

/** The tests of a comparison: `>` `>=` `=`, each possibly negated (`<=` `<` `!=`). */
export type Relation = "jgt" | "jge" | "jeq";

/** A filter expression's syntax tree. */
export type Expr =
  | { readonly type: "and" | "or"; readonly left: Expr; readonly right: Expr }
  | { readonly type: "not"; readonly expr: Expr }
  | { readonly type: "id"; readonly q: Qualifiers; readonly value: IdValue; readonly at: Token }
  | { readonly type: "proto"; readonly proto: Proto; readonly at: Token }
  | {
    readonly type: "relation";
    readonly relation: Relation;
    readonly reversed: boolean;
    readonly left: Arith;
    readonly right: Arith;
    readonly at: Token;
  }
  | { readonly type: "broadcast" | "multicast"; readonly proto: Proto; readonly at: Token }
  | { readonly type: "less" | "greater"; readonly value: number; readonly at: Token }
  | { readonly type: "vlan"; readonly id: number | undefined; readonly at: Token };

const PREFIX = "Cannot compile filter";

/** The qualifiers of a term that carries none: an id after it is a syntax error. */
const UNDEFINED_QUALIFIERS: Qualifiers = {
  proto: "undef",
  dir: "undef",
  addr: "undef",
  last: undefined,
  protoToken: undefined,
};

/** Keywords that name a protocol, and the qualifier each stands for. */
const PROTOCOL_NAMES: ReadonlyMap<string, Proto> = new Map([
  ["link", "link"],
  ["ether", "link"],
  ["ppp", "link"],
  ["slip", "link"],
  ["fddi", "link"],
  ["tr", "link"],
  ["wlan", "link"],
  ["ip", "ip"],
  ["ip6", "ip6"],
  ["arp", "arp"],
  ["rarp", "rarp"],
  ["tcp", "tcp"],
  ["udp", "udp"],
  ["sctp", "sctp"],
  ["icmp", "icmp"],
  ["icmp6", "icmp6"],
  ["igmp", "igmp"],
  ["igrp", "igrp"],
  ["pim", "pim"],
  ["vrrp", "vrrp"],
  ["carp", "carp"],
  ["ah", "ah"],
  ["esp", "esp"],
]);

const ADDRESS_QUALIFIERS: ReadonlyMap<string, Addr> = new Map([
  ["host", "host"],
  ["net", "net"],
  ["port", "port"],
  ["portrange", "portrange"],
]);

/** Comparison operators: the test, and whether it is negated. */
const RELATIONS: ReadonlyMap<string, [Relation, boolean]> = new Map([
  [">", ["jgt", false]],
  [">=", ["jge", false]],
  ["=", ["jeq", false]],
  ["<=", ["jgt", true]],
  ["<", ["jge", true]],
  ["!=", ["jeq", true]],
]);

/** Binary arithmetic operators by precedence, loosest first; `^` is handled apart. */
const ARITH_LEVELS: readonly (readonly ArithOp[])[] = [
  ["|"],
  ["&"],
  ["<<", ">>"],
  ["+", "-"],
  ["*", "/", "%"],
];
const ARITH_OPERATORS: ReadonlySet<string> = new Set([...ARITH_LEVELS.flat(), "^"]);

/** Tokens an expression may have: far beyond any real filter, short of minutes of compiling. */
const MAX_TOKENS = 50_000;
/** How deep parentheses, `not`s and arithmetic may nest: far beyond any real filter. */
const MAX_NESTING = 200;

/** Data sizes a `proto[expr:size]` load may have. */
const LOAD_SIZES: ReadonlySet<number> = new Set([1, 2, 4]);

function describe(token: Token): string {
  return token.kind === "end" ? "end of expression" : `"${token.raw}"`;
}

/**
 * Parses a filter expression into its syntax tree; undefined for an empty expression, which
 * accepts every packet.
 *
 * @throws {FilterError} With the column of the token that does not fit.
 *
 * @example Parse a port test with implicit repetition
 * ```ts
 * import { parseFilter } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const tree = parseFilter("port 80 or 443");
 * assert.ok(tree?.type === "or" && tree.right.type === "id" && tree.right.q.addr === "port");
 * ```
 */
export function parseFilter(expression: string): Expr | undefined {
  const tokens = tokenize(expression);
  if (tokens.length > MAX_TOKENS) {
    throw new FilterError(
      PREFIX,
      `the expression has ${tokens.length - 1} tokens, more than the ${MAX_TOKENS} snout compiles`,
    );
  }
  const parser = new Parser(tokens);
  if (parser.peek().kind === "end") return undefined;
  const [tree] = parser.expression(UNDEFINED_QUALIFIERS);
  const rest = parser.peek();
  if (rest.kind !== "end") {
    throw parser.error(rest.text === ")" ? 'unmatched ")"' : `unexpected ${describe(rest)}`, rest);
  }
  return tree;
}

/** Why speculative parsing gave up: not an error to report. */
class Backtrack extends Error {}

class Parser {
  readonly #tokens: Token[];
  #at = 0;
  #speculating = 0;
  #depth = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  peek(ahead = 0): Token {
    return this.#tokens[Math.min(this.#at + ahead, this.#tokens.length - 1)]!;
  }

  #take(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.#at++;
    return token;
  }

  #is(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return (token.kind === "keyword" || token.kind === "operator") && token.text === text;
  }

  #expect(text: string, what: string): Token {
    if (!this.#is(text)) throw this.error(`expected ${what}`);
    return this.#take();
  }

  error(reason: string, token: Token = this.peek()): Error {
    if (this.#speculating > 0) return new Backtrack(reason);
    return new FilterError(PREFIX, reason, { line: token.line, column: token.column });
  }

  /** expr: term, then `and`/`or` with a term or (implicit repetition) an id. */
  expression(context: Qualifiers): [Expr, Qualifiers] {
    return this.#nested(() => this.#expression(context));
  }

  /** Runs `parse` one level deeper, refusing expressions nested beyond MAX_NESTING. */
  #nested<T>(parse: () => T): T {
    if (++this.#depth > MAX_NESTING) {
      this.#depth = 0;
      throw new FilterError(PREFIX, `the expression is nested more than ${MAX_NESTING} deep`, {
        line: this.peek().line,
        column: this.peek().column,
      });
    }
    try {
      return parse();
    } finally {
      this.#depth = Math.max(0, this.#depth - 1);
    }
  }

  #expression(context: Qualifiers): [Expr, Qualifiers] {
    let [tree, q] = this.#term(context);
    while (this.#is("and") || this.#is("or")) {
      const type = this.#take().text as "and" | "or";
      const [right, next] = this.#startsId(this.#at) ? this.#id(q) : this.#term(q);
      tree = { type, left: tree, right };
      q = next;
    }
    return [tree, q];
  }

  /** Whether the tokens from `index` on are an id rather than a term (grammar.y's `id`). */
  #startsId(index: number): boolean {
    const token = this.#tokens[index]!;
    switch (token.kind) {
      case "ipv4":
      case "ipv6":
      case "mac":
      case "name":
        return true;
      case "number": {
        const next = this.#tokens[index + 1]!;
        return !(next.kind === "operator" &&
          (ARITH_OPERATORS.has(next.text) || RELATIONS.has(next.text)));
      }
      case "keyword":
        return token.text === "not" && this.#startsId(index + 1);
      case "operator":
        return token.text === "(" && this.#startsId(index + 1);
      default:
        return false;
    }
  }

  #term(context: Qualifiers): [Expr, Qualifiers] {
    if (this.#is("not")) {
      this.#take();
      const [expr, q] = this.#nested(() => this.#term(context));
      return [{ type: "not", expr }, q];
    }
    return this.#primitive(context);
  }

  /** grammar.y's `rterm`. */
  #primitive(context: Qualifiers): [Expr, Qualifiers] {
    const token = this.peek();
    const none = UNDEFINED_QUALIFIERS;
    if (this.#is("(")) {
      const relation = this.#speculate(() => this.#relation());
      if (relation !== undefined) return [relation, none];
      this.#take();
      const [inner] = this.expression(UNDEFINED_QUALIFIERS);
      this.#expect(")", '")"');
      return [inner, context];
    }
    if (token.kind === "number" || this.#is("len") || this.#is("-")) {
      return [this.#relation(), none];
    }
    if (token.kind !== "keyword") {
      if (token.kind === "end") throw this.error("unexpected end of expression");
      throw this.error(
        token.kind === "operator"
          ? `unexpected "${token.raw}"`
          : `unexpected ${describe(token)}: give a qualifier such as "host" or "port" before it`,
      );
    }
    if (UNSUPPORTED_KEYWORDS.has(token.text)) throw this.error(`"${token.text}" is not supported`);
    const proto = PROTOCOL_NAMES.get(token.text);
    if (proto !== undefined) {
      const next = this.peek(1);
      if (this.#is("[", 1)) return [this.#relation(), none];
      if (this.#is("broadcast", 1) || this.#is("multicast", 1)) {
        this.#take();
        const type = this.#take().text as "broadcast" | "multicast";
        return [{ type, proto, at: token }, none];
      }
      if (next.kind === "keyword" && this.#startsHead(next.text)) return this.#qualified();
      this.#take();
      return [{ type: "proto", proto, at: token }, none];
    }
    if (this.#startsHead(token.text)) return this.#qualified();
    switch (token.text) {
      case "broadcast":
      case "multicast":
        this.#take();
        return [{ type: token.text, proto: "default", at: token }, none];
      case "less":
      case "greater": {
        this.#take();
        const value = this.peek();
        if (value.kind !== "number") {
          throw this.error(`expected a length after "${token.text}"`);
        }
        this.#take();
        return [{ type: token.text, value: value.value, at: token }, none];
      }
      case "vlan": {
        this.#take();
        const id = this.#startsNumber() ? this.#parenNumber() : undefined;
        return [{ type: "vlan", id, at: token }, none];
      }
    }
    throw this.error(`unexpected ${describe(token)}`);
  }

  #startsHead(keyword: string): boolean {
    return keyword === "src" || keyword === "dst" || keyword === "proto" ||
      ADDRESS_QUALIFIERS.has(keyword);
  }

  /** Whether a number, possibly in parentheses, comes next (grammar.y's `pnum`). */
  #startsNumber(): boolean {
    let ahead = 0;
    while (this.#is("(", ahead)) ahead++;
    return this.peek(ahead).kind === "number";
  }

  #parenNumber(): number {
    if (this.#is("(")) {
      this.#take();
      const value = this.#parenNumber();
      this.#expect(")", '")"');
      return value;
    }
    return this.#take().value;
  }

  /** `head id`: [protocol] [direction] [address qualifier], then an id. */
  #qualified(): [Expr, Qualifiers] {
    let proto: Proto = "default";
    let dir: Dir = "default";
    let addr: Addr = "default";
    let last: Token | undefined;
    let protoToken: Token | undefined;
    const name = PROTOCOL_NAMES.get(this.peek().text);
    if (this.peek().kind === "keyword" && name !== undefined) {
      proto = name;
      protoToken = last = this.#take();
    }
    if (this.#is("src") || this.#is("dst")) {
      last = this.#take();
      dir = last.text as Dir;
      const other = dir === "src" ? "dst" : "src";
      if ((this.#is("or") || this.#is("and")) && this.#is(other, 1)) {
        dir = this.#take().text as Dir;
        last = this.#take();
      }
      const address = ADDRESS_QUALIFIERS.get(this.peek().text);
      if (this.peek().kind === "keyword" && address !== undefined) {
        addr = address;
        last = this.#take();
      }
    } else if (this.#is("proto")) {
      addr = "proto";
      last = this.#take();
    } else {
      const address = ADDRESS_QUALIFIERS.get(this.peek().text);
      if (this.peek().kind === "keyword" && address !== undefined) {
        addr = address;
        last = this.#take();
      }
    }
    const q: Qualifiers = { proto, dir, addr, last, protoToken };
    if (!this.#startsId(this.#at) || this.#is("not")) {
      throw this.error(expected(q));
    }
    return this.#id(q);
  }

  /** grammar.y's `id`: a value with the qualifiers `q`. */
  #id(q: Qualifiers): [Expr, Qualifiers] {
    return this.#nested(() => this.#idAt(q));
  }

  #idAt(q: Qualifiers): [Expr, Qualifiers] {
    const token = this.peek();
    if (this.#is("not")) {
      this.#take();
      const [expr] = this.#id(q);
      return [{ type: "not", expr }, q];
    }
    if (this.#is("(")) {
      this.#take();
      let [tree] = this.#id(q);
      while (this.#is("and") || this.#is("or")) {
        const type = this.#take().text as "and" | "or";
        const [right] = this.#id(q);
        tree = { type, left: tree, right };
      }
      this.#expect(")", '")"');
      return [tree, q];
    }
    this.#take();
    const id = (value: IdValue): [Expr, Qualifiers] => [{ type: "id", q, value, at: token }, q];
    switch (token.kind) {
      case "number":
        return id({ kind: "number", value: token.value });
      case "mac":
        return id({ kind: "mac", text: token.text });
      case "name":
        return id({ kind: "name", text: token.text });
      case "ipv6": {
        const bits = this.#is("/") ? this.#maskLength() : 128;
        return id({ kind: "ipv6", text: token.text, bits });
      }
      case "ipv4": {
        if (this.#is("/")) {
          return id({ kind: "ipv4-cidr", text: token.text, bits: this.#maskLength() });
        }
        if (this.#is("mask")) {
          this.#take();
          const mask = this.peek();
          if (mask.kind !== "ipv4") {
            throw this.error(`expected a network mask after "mask"`);
          }
          this.#take();
          return id({ kind: "ipv4-mask", text: token.text, mask: mask.text });
        }
        if (["port", "portrange", "proto", "protochain"].includes(q.addr)) {
          throw this.error(`"${q.addr}" applied to the IPv4 address ${token.text}`, token);
        }
        return id({ kind: "ipv4", text: token.text });
      }
    }
    throw this.error(expected(q), token);
  }

  #maskLength(): number {
    this.#take();
    const bits = this.peek();
    if (bits.kind !== "number") {
      throw this.error(`expected a mask length after "/"`);
    }
    this.#take();
    return bits.value;
  }

  /** Runs `parse`; on a syntax error, puts the position back and returns undefined. */
  #speculate<T>(parse: () => T): T | undefined {
    const start = this.#at;
    this.#speculating++;
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof Backtrack)) throw error;
      this.#at = start;
      return undefined;
    } finally {
      this.#speculating--;
    }
  }

  /** `arth relop arth`. */
  #relation(): Expr {
    const left = this.#arith(0);
    const op = this.peek();
    const relation = op.kind === "operator" ? RELATIONS.get(op.text) : undefined;
    if (relation === undefined) {
      throw this.error("expected a comparison (=, !=, <, <=, >, >=)");
    }
    this.#take();
    const right = this.#arith(0);
    return {
      type: "relation",
      relation: relation[0],
      reversed: relation[1],
      left,
      right,
      at: op,
    };
  }

  /** Arithmetic by precedence climbing, from ARITH_LEVELS[level] on. */
  #arith(level: number): Arith {
    if (level === 0) return this.#nested(() => this.#arithFrom(0));
    return this.#arithFrom(level);
  }

  #arithFrom(level: number): Arith {
    if (level >= ARITH_LEVELS.length) return this.#operand();
    let left = this.#arithFrom(level + 1);
    const ops = ARITH_LEVELS[level]!;
    for (;;) {
      const token = this.peek();
      if (token.kind !== "operator" || !ops.includes(token.text as ArithOp)) return left;
      this.#take();
      const right = this.#arithFrom(level + 1);
      left = { type: "binary", op: token.text as ArithOp, left, right, at: token };
    }
  }

  /**
   * A primary, negated or not. `^` has no precedence in grammar.y, so bison always shifts it: it
   * takes the primary before it and the whole arithmetic after it (`a | 1 ^ 2` is `a | (1 ^ 2)`,
   * `a ^ 1 | 2` is `a ^ (1 | 2)`).
   */
  #operand(): Arith {
    if (this.#is("-")) {
      const at = this.#take();
      return { type: "negate", operand: this.#nested(() => this.#operand()), at };
    }
    const primary = this.#primary();
    if (!this.#is("^")) return primary;
    const at = this.#take();
    return { type: "binary", op: "^", left: primary, right: this.#arith(0), at };
  }

  #primary(): Arith {
    const token = this.peek();
    if (token.kind === "number") {
      this.#take();
      return { type: "number", value: token.value, at: token };
    }
    if (this.#is("len")) {
      this.#take();
      return { type: "len", at: token };
    }
    if (this.#is("(")) {
      this.#take();
      const inner = this.#arith(0);
      this.#expect(")", '")"');
      return inner;
    }
    const proto = token.kind === "keyword" ? PROTOCOL_NAMES.get(token.text) : undefined;
    if (proto !== undefined && this.#is("[", 1)) {
      this.#take();
      this.#take();
      const index = this.#arith(0);
      let size = 1;
      if (this.#is(":")) {
        this.#take();
        const sizeToken = this.peek();
        if (sizeToken.kind !== "number" || !LOAD_SIZES.has(sizeToken.value)) {
          throw this.error('expected a data size of 1, 2 or 4 after ":"');
        }
        this.#take();
        size = sizeToken.value;
      }
      this.#expect("]", '"]"');
      return { type: "load", proto, index, size, at: token };
    }
    throw this.error("expected a number or a packet field such as ip[0]");
  }
}

/** What an id after these qualifiers should be, as the start of an error message. */
function expected(q: Qualifiers): string {
  const after = q.last === undefined ? "" : ` after "${q.last.text}"`;
  switch (q.addr) {
    case "port":
      return `expected a port number${after}`;
    case "portrange":
      return `expected a port range such as 1-1024${after}`;
    case "host":
      return `expected a host address${after}`;
    case "net":
      return `expected a network${after}`;
    case "proto":
      return `expected a protocol number or name${after}`;
    default:
      return `expected a host, network or port${after}`;
  }
}
