/**
 * The filter compiler's control-flow graph: tests (statements, then a conditional jump), constants
 * and returns, joined as libpcap's gencode.c joins blocks (`gen_and`, `gen_or`, `gen_not`); then
 * simplified and laid out as a classic BPF program.
 *
 * Every test computes what it compares from scratch, so its statements and jump name a
 * predicate on the packet ("the half word at 12 equals 0x800") whatever path led to it. The
 * simplifier uses that: a test whose outcome follows from the tests on every path to it is
 * jumped over, a test whose branches meet is dropped, and at layout a load is left out when every
 * path into it has already put the same value in the register. These are the effects of
 * libpcap's optimizer that decide which programs reject everything and which loads run.
 *
 * @module
 */

import {
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_CLASS_MASK,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_MODE_MASK,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OP_MASK,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_SIZE_MASK,
  BPF_SRC_MASK,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_X,
  BPF_XOR,
  type BpfInstruction,
  type BpfProgram,
  jump,
  MAX_CONDITIONAL_JUMP,
  stmt,
} from "./bpf.ts";

/** A statement: any instruction that neither jumps nor returns. */
export interface Stmt {
  readonly code: number;
  readonly k: number;
}

/** A node of the graph: a test, a constant (a test known in advance) or a return. */
export class Node {
  /** Statements run on entry (tests only). */
  stmts: readonly Stmt[];
  /** The jump opcode of a test; BPF_RET | BPF_K for a return. */
  code: number;
  /** The jump's operand, or the return value. */
  k: number;
  /** For a constant: its value. */
  readonly constant: boolean | undefined;
  /** Where a test goes when it holds, and when it does not. */
  jt: Node | undefined;
  jf: Node | undefined;

  constructor(stmts: readonly Stmt[], code: number, k: number, constant?: boolean) {
    this.stmts = stmts;
    this.code = code;
    this.k = k >>> 0;
    this.constant = constant;
  }

  get isReturn(): boolean {
    return (this.code & BPF_CLASS_MASK) === BPF_RET;
  }
}

/** A branch of a node that is not yet joined to anything. */
interface Exit {
  readonly node: Node;
  readonly branch: "jt" | "jf";
}

/**
 * A piece of a filter: its first node and the branches that leave it when it holds (`t`) and
 * when it does not (`f`), still to be joined.
 */
export interface Fragment {
  readonly head: Node;
  readonly t: readonly Exit[];
  readonly f: readonly Exit[];
}

function exits(node: Node): Fragment {
  return { head: node, t: [{ node, branch: "jt" }], f: [{ node, branch: "jf" }] };
}

function patch(list: readonly Exit[], target: Node): void {
  for (const exit of list) exit.node[exit.branch] = target;
}

/**
 * A test: run `stmts`, then jump on `code` (BPF_JMP | test | source) with operand `k`.
 *
 * @example The IPv4 EtherType test
 * ```ts
 * import { test } from "./cfg.ts";
 * import { BPF_ABS, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const ip = test([{ code: BPF_LD | BPF_H | BPF_ABS, k: 12 }], BPF_JMP | BPF_JEQ | BPF_K, 0x800);
 * assert.ok(ip.t.length === 1 && ip.f.length === 1);
 * ```
 */
export function test(stmts: readonly Stmt[], code: number, k: number): Fragment {
  return exits(new Node(stmts, code, k));
}

/**
 * A test whose outcome is known when the filter is compiled (libpcap's `gen_true`/`gen_false`).
 *
 * @example Always false
 * ```ts
 * import { constant } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * assert.ok(constant(false).head.constant === false);
 * ```
 */
export function constant(value: boolean): Fragment {
  return exits(new Node([], BPF_JMP | BPF_JEQ | BPF_K, 0, value));
}

/**
 * `a and b`: `b` runs where `a` holds.
 *
 * @example Join two tests
 * ```ts
 * import { and, constant } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * const both = and(constant(true), constant(false));
 * assert.ok(both.f.length === 2 && both.t.length === 1);
 * ```
 */
export function and(a: Fragment, b: Fragment): Fragment {
  patch(a.t, b.head);
  return { head: a.head, t: b.t, f: [...a.f, ...b.f] };
}

/**
 * `a or b`: `b` runs where `a` does not hold.
 *
 * @example Join two tests
 * ```ts
 * import { constant, or } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * const either = or(constant(true), constant(false));
 * assert.ok(either.t.length === 2 && either.f.length === 1);
 * ```
 */
export function or(a: Fragment, b: Fragment): Fragment {
  patch(a.f, b.head);
  return { head: a.head, t: [...a.t, ...b.t], f: b.f };
}

/**
 * `not a`.
 *
 * @example Swap the branches
 * ```ts
 * import { constant, not } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * const a = constant(true);
 * assert.ok(not(a).t === a.f);
 * ```
 */
export function not(a: Fragment): Fragment {
  return { head: a.head, t: a.f, f: a.t };
}

/** Registers as symbols: what A, X and each scratch word hold, or undefined if unknown. */
interface Registers {
  a: string | undefined;
  x: string | undefined;
  mem: (string | undefined)[];
}

const SIZE_NAMES: ReadonlyMap<number, string> = new Map([[0, "W"], [BPF_H, "H"], [BPF_B, "B"]]);
const ALU_SYMBOLS: ReadonlyMap<number, string> = new Map([
  [BPF_ADD, "+"],
  [BPF_SUB, "-"],
  [BPF_MUL, "*"],
  [BPF_DIV, "/"],
  [BPF_MOD, "%"],
  [BPF_AND, "&"],
  [BPF_OR, "|"],
  [BPF_XOR, "^"],
  [BPF_LSH, "<<"],
  [BPF_RSH, ">>"],
]);

function unknownRegisters(): Registers {
  return { a: undefined, x: undefined, mem: [] };
}

/** Runs one statement on symbols: the registers after it. */
function step(s: Stmt, r: Registers): Registers {
  const next: Registers = { a: r.a, x: r.x, mem: r.mem };
  const cls = s.code & BPF_CLASS_MASK;
  const mode = s.code & BPF_MODE_MASK;
  const size = SIZE_NAMES.get(s.code & BPF_SIZE_MASK);
  const value = (): string | undefined => {
    switch (mode) {
      case BPF_IMM:
        return `#${s.k}`;
      case BPF_ABS:
        return `${size}[${s.k}]`;
      case BPF_IND:
        return r.x === undefined ? undefined : `${size}[${r.x}+${s.k}]`;
      case BPF_MEM:
        return r.mem[s.k];
      case BPF_LEN:
        return "len";
      case BPF_MSH:
        return `hdrlen[${s.k}]`;
    }
    return undefined;
  };
  switch (cls) {
    case BPF_LD:
      next.a = value();
      break;
    case BPF_LDX:
      next.x = value();
      break;
    case BPF_ST:
    case BPF_STX:
      next.mem = [...r.mem];
      next.mem[s.k] = cls === BPF_ST ? r.a : r.x;
      break;
    case BPF_ALU: {
      const op = s.code & BPF_OP_MASK;
      if (op === BPF_NEG) next.a = r.a === undefined ? undefined : `-(${r.a})`;
      else {
        const operand = (s.code & BPF_SRC_MASK) === BPF_X ? r.x : `#${s.k}`;
        next.a = r.a === undefined || operand === undefined
          ? undefined
          : `(${r.a} ${ALU_SYMBOLS.get(op)} ${operand})`;
      }
      break;
    }
    case BPF_MISC:
      if ((s.code & ~BPF_CLASS_MASK) === BPF_TAX) next.x = r.a;
      else if ((s.code & ~BPF_CLASS_MASK) === BPF_TXA) next.a = r.x;
      break;
  }
  return next;
}

function run(stmts: readonly Stmt[], r: Registers = unknownRegisters()): Registers {
  for (const s of stmts) r = step(s, r);
  return r;
}

/** What a test compares: A's symbol, the test, and the operand's symbol or constant. */
interface Predicate {
  readonly a: string;
  readonly op: number;
  /** The constant operand, when there is one. */
  readonly k: number | undefined;
  readonly key: string;
}

function predicateOf(node: Node): Predicate | undefined {
  const r = run(node.stmts);
  if (r.a === undefined) return undefined;
  const op = node.code & BPF_OP_MASK;
  let operand: string | undefined = `#${node.k}`;
  if ((node.code & BPF_SRC_MASK) === BPF_X) operand = r.x;
  if (operand === undefined) return undefined;
  const k = operand.startsWith("#") ? Number(operand.slice(1)) : undefined;
  return { a: r.a, op, k, key: `${r.a} ${op} ${operand}` };
}

function evaluate(op: number, a: number, k: number): boolean {
  switch (op) {
    case BPF_JEQ:
      return a === k;
    case BPF_JGT:
      return a > k;
    case BPF_JGE:
      return a >= k;
    default:
      return (a & k) !== 0;
  }
}

/** What is known to hold on every path to a point: predicate outcomes and equalities. */
class Facts {
  constructor(
    readonly outcomes: ReadonlyMap<string, boolean> = new Map(),
    /** Symbols known to equal a constant. */
    readonly values: ReadonlyMap<string, number> = new Map(),
    /** Symbols known to differ from constants. */
    readonly excluded: ReadonlyMap<string, ReadonlySet<number>> = new Map(),
  ) {}

  with(p: Predicate, outcome: boolean): Facts {
    const outcomes = new Map(this.outcomes).set(p.key, outcome);
    let values = this.values;
    let excluded = this.excluded;
    if (p.op === BPF_JEQ && p.k !== undefined) {
      if (outcome) values = new Map(values).set(p.a, p.k);
      else excluded = new Map(excluded).set(p.a, new Set([...excluded.get(p.a) ?? [], p.k]));
    }
    return new Facts(outcomes, values, excluded);
  }

  /** The predicate's outcome if these facts decide it. */
  decide(p: Predicate): boolean | undefined {
    const known = this.outcomes.get(p.key);
    if (known !== undefined) return known;
    if (p.k === undefined) return undefined;
    const value = p.a.startsWith("#") ? Number(p.a.slice(1)) : this.values.get(p.a);
    if (value !== undefined) return evaluate(p.op, value, p.k);
    if (p.op === BPF_JEQ && this.excluded.get(p.a)?.has(p.k)) return false;
    return undefined;
  }

  /** What holds on both this path and `other`. */
  meet(other: Facts): Facts {
    const outcomes = new Map<string, boolean>();
    for (const [key, value] of this.outcomes) {
      if (other.outcomes.get(key) === value) outcomes.set(key, value);
    }
    const values = new Map<string, number>();
    for (const [key, value] of this.values) {
      if (other.values.get(key) === value) values.set(key, value);
    }
    const excluded = new Map<string, ReadonlySet<number>>();
    for (const [key, set] of this.excluded) {
      const theirs = other.excluded.get(key);
      if (theirs === undefined) continue;
      const both = new Set([...set].filter((k) => theirs.has(k)));
      if (both.size > 0) excluded.set(key, both);
    }
    return new Facts(outcomes, values, excluded);
  }
}

/** The nodes reachable from `root`, each after every node that jumps to it. */
function topologicalOrder(root: Node): Node[] {
  const post: Node[] = [];
  const seen = new Set<Node>();
  const visit = (node: Node) => {
    // Iterative depth-first search: false branch first, so the true branch follows its test.
    const stack: [Node, number][] = [[node, 0]];
    seen.add(node);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [current, state] = top;
      const children = current.isReturn ? [] : [current.jf!, current.jt!];
      if (state < children.length) {
        top[1]++;
        const child = children[state]!;
        if (!seen.has(child)) {
          seen.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        post.push(current);
      }
    }
  };
  visit(root);
  return post.reverse();
}

/** Where a branch really leads, given what is known on it. */
function follow(target: Node, facts: Facts): Node {
  for (;;) {
    if (target.isReturn) return target;
    if (target.constant !== undefined) {
      target = target.constant ? target.jt! : target.jf!;
      continue;
    }
    if (target.jt === target.jf) {
      target = target.jt!;
      continue;
    }
    const p = predicateOf(target);
    const outcome = p === undefined ? undefined : facts.decide(p);
    if (outcome === undefined) return target;
    target = outcome ? target.jt! : target.jf!;
  }
}

/**
 * Makes nodes that do the same thing and go to the same places one node (libpcap's
 * intern_blocks), leaves first. Returns the root's replacement and whether anything merged.
 */
function merge(root: Node): [Node, boolean] {
  const order = topologicalOrder(root).reverse();
  const canonical = new Map<string, Node>();
  const replacement = new Map<Node, Node>();
  const ids = new Map<Node, number>();
  let merged = false;
  for (const node of order) {
    if (!node.isReturn) {
      node.jt = replacement.get(node.jt!) ?? node.jt;
      node.jf = replacement.get(node.jf!) ?? node.jf;
    }
    const shape = [
      node.code,
      node.k,
      node.constant,
      ...node.stmts.flatMap((s) => [s.code, s.k]),
      node.isReturn ? "" : `${ids.get(node.jt!)}>${ids.get(node.jf!)}`,
    ].join(",");
    const existing = canonical.get(shape);
    if (existing === undefined) {
      canonical.set(shape, node);
      ids.set(node, ids.size);
    } else {
      replacement.set(node, existing);
      merged = true;
    }
  }
  return [replacement.get(root) ?? root, merged];
}

/** The nodes that jump to each node. */
function predecessors(order: readonly Node[]): Map<Node, Node[]> {
  const preds = new Map<Node, Node[]>(order.map((node) => [node, []]));
  for (const node of order) {
    if (node.isReturn) continue;
    preds.get(node.jt!)!.push(node);
    if (node.jf !== node.jt) preds.get(node.jf!)!.push(node);
  }
  return preds;
}

/**
 * libpcap's or_pullup (`down` "jf") and and_pullup (`down` "jt"), run to their end in one go.
 * A chain is a run of tests each reached only from the one before it through `down`, all sharing
 * their other target (the tests of an `or`, or of an `and`). libpcap moves the tests of the value
 * the chain's predecessors tested to its front, and then, at each point, the tests of the value
 * just tested next: the tests end up grouped by value, in the order each value first appears.
 * `port 80 or 443` then compares the source port with 80 and 443 before it loads the destination
 * port, as libpcap's program does (which matters when the destination port was not captured).
 * Regroups one chain; returns the root (which may have moved) and whether a test moved.
 */
function groupChains(root: Node, down: "jt" | "jf"): [Node, boolean] {
  const across = down === "jf" ? "jt" : "jf";
  const order = topologicalOrder(root);
  const preds = predecessors(order);
  const values = new Map<Node, string | undefined>();
  const value = (node: Node) => {
    if (!values.has(node)) values.set(node, node.isReturn ? undefined : predicateOf(node)?.a);
    return values.get(node);
  };
  const isTest = (node: Node) => !node.isReturn && node.constant === undefined;
  const follows = (node: Node, previous: Node) =>
    isTest(node) && previous[down] === node && node[across] === previous[across] &&
    preds.get(node)!.length === 1;
  for (const head of order) {
    if (!isTest(head)) continue;
    const incoming = preds.get(head)!;
    if (incoming.length === 1 && follows(head, incoming[0]!)) continue; // not a chain's start
    const chain = [head];
    for (let next = head[down]!; follows(next, chain[chain.length - 1]!); next = next[down]!) {
      chain.push(next);
    }
    if (chain.length < 2) continue;
    const before = incoming.length === 0 ? undefined : value(incoming[0]!);
    const first = before !== undefined && incoming.every((pred) => value(pred) === before)
      ? [before]
      : [];
    const keys = [...new Set([...first, ...chain.map(value)])];
    const grouped = keys.flatMap((key) => chain.filter((node) => value(node) === key));
    if (grouped.every((node, i) => node === chain[i])) continue;
    const exit = chain[chain.length - 1]![down]!;
    grouped.forEach((node, i) => node[down] = grouped[i + 1] ?? exit);
    for (const pred of incoming) {
      if (pred.jt === head) pred.jt = grouped[0];
      if (pred.jf === head) pred.jf = grouped[0];
    }
    if (head === root) root = grouped[0]!;
    // The predecessors just computed no longer hold: start again.
    return [root, true];
  }
  return [root, false];
}

/** Simplification rounds at the most: libpcap's optimizer too can go round in circles. */
const MAX_ROUNDS = 10_000;

/**
 * Simplifies the graph from `root` until nothing changes: every branch is sent past the tests
 * whose outcome the tests before it decide, past constants and past tests whose branches meet;
 * identical nodes are merged; tests of one value are pulled together; and the whole repeated.
 * Returns the new root (a return node when the whole filter is decided).
 */
export function simplify(root: Node): Node {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    root = thread(root);
    const [merged, changed] = merge(root);
    root = merged;
    if (changed) continue;
    const [orRoot, orMoved] = groupChains(root, "jf");
    const [andRoot, andMoved] = groupChains(orRoot, "jt");
    root = andRoot;
    if (!orMoved && !andMoved) return root;
  }
  return root;
}

/** Sends every branch past the tests the path to it decides, until nothing changes. */
function thread(root: Node): Node {
  for (;;) {
    root = follow(root, new Facts());
    let changed = false;
    const incoming = new Map<Node, Facts>();
    for (const node of topologicalOrder(root)) {
      if (node.isReturn) continue;
      const facts = node === root ? new Facts() : incoming.get(node);
      if (facts === undefined) continue; // no longer reached
      const p = predicateOf(node);
      for (const branch of ["jt", "jf"] as const) {
        const onBranch = p === undefined ? facts : facts.with(p, branch === "jt");
        const target = follow(node[branch]!, onBranch);
        if (target !== node[branch]) {
          node[branch] = target;
          changed = true;
        }
        const before = incoming.get(target);
        incoming.set(target, before === undefined ? onBranch : before.meet(onBranch));
      }
    }
    if (!changed) return root;
  }
}

/**
 * libpcap's peephole rules for a test's last statement: `and #k; jeq #0` is `jset #k` with the
 * branches swapped, and `sub #k; jeq #v` is `jeq #(v + k)`. Every test computes A afresh, so no
 * later node needs the A these statements leave.
 */
function peephole(nodes: readonly Node[]): void {
  for (const node of nodes) {
    const last = node.stmts[node.stmts.length - 1];
    if (node.isReturn || last === undefined || node.code !== (BPF_JMP | BPF_JEQ | BPF_K)) continue;
    if (last.code === (BPF_ALU | BPF_AND | BPF_K) && node.k === 0) {
      node.stmts = node.stmts.slice(0, -1);
      node.code = BPF_JMP | BPF_JSET | BPF_K;
      node.k = last.k;
      [node.jt, node.jf] = [node.jf, node.jt];
    } else if (last.code === (BPF_ALU | BPF_SUB | BPF_K)) {
      node.stmts = node.stmts.slice(0, -1);
      node.k = (node.k + last.k) >>> 0;
    }
  }
}

function meetRegisters(a: Registers | undefined, b: Registers): Registers {
  if (a === undefined) return b;
  const length = Math.max(a.mem.length, b.mem.length);
  const mem: (string | undefined)[] = [];
  for (let i = 0; i < length; i++) mem.push(a.mem[i] === b.mem[i] ? a.mem[i] : undefined);
  return { a: a.a === b.a ? a.a : undefined, x: a.x === b.x ? a.x : undefined, mem };
}

/**
 * Drops each store no later statement of the node reads back. A test computes everything it
 * uses, so scratch memory never carries a value from one node to another.
 */
function withoutDeadStores(stmts: readonly Stmt[]): Stmt[] {
  const kept: Stmt[] = [];
  const read = new Set<number>();
  for (let i = stmts.length - 1; i >= 0; i--) {
    const s = stmts[i]!;
    const cls = s.code & BPF_CLASS_MASK;
    if (cls === BPF_ST || cls === BPF_STX) {
      if (!read.has(s.k)) continue;
      read.delete(s.k);
    } else if ((cls === BPF_LD || cls === BPF_LDX) && (s.code & BPF_MODE_MASK) === BPF_MEM) {
      read.add(s.k);
    }
    kept.push(s);
  }
  return kept.reverse();
}

/** Drops each load that puts into a register what every path into the node left there. */
function dropRedundantLoads(order: readonly Node[]): void {
  const entry = new Map<Node, Registers>([[order[0]!, unknownRegisters()]]);
  for (const node of order) {
    let r = entry.get(node) ?? unknownRegisters();
    if (node.isReturn) continue;
    const kept: Stmt[] = [];
    for (const s of node.stmts) {
      const next = step(s, r);
      const cls = s.code & BPF_CLASS_MASK;
      const redundant = (cls === BPF_LD && next.a !== undefined && next.a === r.a) ||
        (cls === BPF_LDX && next.x !== undefined && next.x === r.x);
      if (!redundant) kept.push(s);
      r = next;
    }
    node.stmts = withoutDeadStores(kept);
    for (const target of [node.jt!, node.jf!]) {
      entry.set(target, meetRegisters(entry.get(target), r));
    }
  }
}

/** One instruction of the layout, with its jumps still to nodes or trampolines. */
type Slot =
  | { kind: "stmt"; insn: BpfInstruction }
  | { kind: "return"; insn: BpfInstruction }
  | { kind: "test"; node: Node; jt: Node | Slot; jf: Node | Slot }
  | { kind: "ja"; target: Node };

/**
 * Lays the simplified graph out as a program: tests in depth-first order with each true branch
 * right after its test, redundant loads left out, and an unconditional `ja` placed after a test
 * whose target is more than 255 instructions away.
 */
export function linearize(root: Node): BpfProgram {
  let order = topologicalOrder(root);
  peephole(order);
  dropRedundantLoads(order);
  // With their loads gone, tests on different paths may now be the same instructions.
  [root] = merge(root);
  order = topologicalOrder(root);
  const slots: Slot[] = [];
  const first = new Map<Node, Slot>();
  for (const node of order) {
    const start = slots.length;
    if (node.isReturn) slots.push({ kind: "return", insn: stmt(node.code, node.k) });
    else {
      for (const s of node.stmts) slots.push({ kind: "stmt", insn: stmt(s.code, s.k) });
      slots.push({ kind: "test", node, jt: node.jt!, jf: node.jf! });
    }
    first.set(node, slots[start]!);
  }
  for (;;) {
    const position = new Map<Slot, number>(slots.map((slot, i) => [slot, i]));
    const at = (target: Node | Slot) =>
      position.get(target instanceof Node ? first.get(target)! : target)!;
    let widened = false;
    for (let i = 0; i < slots.length && !widened; i++) {
      const slot = slots[i]!;
      if (slot.kind !== "test") continue;
      for (const branch of ["jt", "jf"] as const) {
        const target = slot[branch];
        if (target instanceof Node && at(target) - i - 1 > MAX_CONDITIONAL_JUMP) {
          const trampoline: Slot = { kind: "ja", target };
          slots.splice(i + 1, 0, trampoline);
          slot[branch] = trampoline;
          widened = true;
          break;
        }
      }
    }
    if (widened) continue;
    return slots.map((slot, i): BpfInstruction => {
      switch (slot.kind) {
        case "stmt":
        case "return":
          return slot.insn;
        case "ja":
          return stmt(BPF_JMP | BPF_JA, at(slot.target) - i - 1);
        case "test":
          return jump(slot.node.code, slot.node.k, at(slot.jt) - i - 1, at(slot.jf) - i - 1);
      }
    });
  }
}

/** Statement constructors the code generator uses, named as libpcap's listing names them. */
export const op = {
  /** A load of `size` (BPF_W, BPF_H or BPF_B) at absolute offset `k`. */
  load: (size: number, k: number): Stmt => ({ code: BPF_LD | size | BPF_ABS, k }),
  /** A load of `size` at X + `k`. */
  loadIndirect: (size: number, k: number): Stmt => ({ code: BPF_LD | size | BPF_IND, k }),
  /** X = 4 * (byte `k` & 0xf): the IPv4 header length. */
  loadHeaderLength: (k: number): Stmt => ({ code: BPF_LDX | BPF_MSH | BPF_B, k }),
  /** A = the packet's length on the wire. */
  loadLength: (): Stmt => ({ code: BPF_LD | BPF_LEN, k: 0 }),
  /** A = `k`. */
  loadConstant: (k: number): Stmt => ({ code: BPF_LD | BPF_IMM, k: k >>> 0 }),
  /** A = M[`k`]. */
  loadMemory: (k: number): Stmt => ({ code: BPF_LD | BPF_MEM, k }),
  /** M[`k`] = A. */
  store: (k: number): Stmt => ({ code: BPF_ST, k }),
  /** A = A `alu` `k`. */
  aluConstant: (alu: number, k: number): Stmt => ({ code: BPF_ALU | alu | BPF_K, k: k >>> 0 }),
  /** A = A `alu` X. */
  aluX: (alu: number): Stmt => ({ code: BPF_ALU | alu | BPF_X, k: 0 }),
  /** A = -A. */
  negate: (): Stmt => ({ code: BPF_ALU | BPF_NEG, k: 0 }),
  /** X = A. */
  tax: (): Stmt => ({ code: BPF_MISC | BPF_TAX, k: 0 }),
} as const;

/**
 * Joins a filter's open branches: where it holds to `accept`, elsewhere to `reject`. Returns the
 * first node.
 *
 * @example Close a constant
 * ```ts
 * import { close, constant, returnNode } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * const accept = returnNode(262144);
 * const head = close(constant(true), accept, returnNode(0));
 * assert.ok(head.jt === accept);
 * ```
 */
export function close(fragment: Fragment, accept: Node, reject: Node): Node {
  patch(fragment.t, accept);
  patch(fragment.f, reject);
  return fragment.head;
}

/**
 * The return node of a filter: `ret #value`.
 *
 * @example The accepting return
 * ```ts
 * import { returnNode } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * assert.ok(returnNode(262144).isReturn);
 * ```
 */
export function returnNode(value: number): Node {
  return new Node([], BPF_RET | BPF_K, value);
}
