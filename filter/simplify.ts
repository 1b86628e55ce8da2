/**
 * The simplifier: the effects of libpcap's optimizer that decide which programs reject every
 * packet and which loads run, and in which order. A test whose outcome follows from the tests on
 * every path to it is jumped over; a test whose branches meet is dropped; nodes that do the same
 * thing are merged; tests of one value in an `or` (or an `and`) are grouped, as libpcap's
 * pull-ups group them.
 *
 * @module
 */

import { type Node, predecessors, topologicalOrder } from "./cfg.ts";
import { evaluate, type Predicate, predicateOf } from "./symbolic.ts";
import { BPF_JEQ } from "./bpf.ts";

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
 *
 * @example Two identical tests, one on each branch of a third, become one
 * ```ts
 * import { merge } from "./simplify.ts";
 * import { returnNode, test, topologicalOrder } from "./cfg.ts";
 * import { BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const jeq = BPF_JMP | BPF_JEQ | BPF_K;
 * const ip = () => test([{ code: BPF_LD | BPF_H | BPF_ABS, k: 12 }], jeq, 0x800).head;
 * const head = test([{ code: BPF_LD | BPF_B | BPF_ABS, k: 0 }], jeq, 1).head;
 * const [accept, reject] = [returnNode(1), returnNode(0)];
 * [head.jt, head.jf] = [ip(), ip()];
 * for (const node of [head.jt, head.jf]) [node.jt, node.jf] = [accept, reject];
 * const [root, merged] = merge(head);
 * assert.ok(merged && root.jt === root.jf);
 * assert.equal(topologicalOrder(root).length, 4);
 * ```
 */
export function merge(root: Node): [Node, boolean] {
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
 *
 * @example A test of what was already tested is dropped
 * ```ts
 * import { simplify } from "./simplify.ts";
 * import { and, close, returnNode, test, topologicalOrder } from "./cfg.ts";
 * import { BPF_ABS, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const ip = () => test([{ code: BPF_LD | BPF_H | BPF_ABS, k: 12 }], BPF_JMP | BPF_JEQ | BPF_K, 0x800);
 * const root = simplify(close(and(ip(), ip()), returnNode(1), returnNode(0)));
 * assert.equal(topologicalOrder(root).length, 3);
 * ```
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
