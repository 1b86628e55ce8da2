/**
 * The filter compiler's control-flow graph: tests (statements, then a conditional jump), constants
 * and returns, joined as libpcap's gencode.c joins blocks (`gen_and`, `gen_or`, `gen_not`).
 * simplify.ts simplifies it and layout.ts lays it out as a classic BPF program.
 *
 * Every test computes what it compares from scratch, so its statements and jump name a
 * predicate on the packet ("the half word at 12 equals 0x800") whatever path led to it.
 *
 * @module
 */

import {
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_CLASS_MASK,
  BPF_IMM,
  BPF_IND,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MISC,
  BPF_MSH,
  BPF_NEG,
  BPF_RET,
  BPF_ST,
  BPF_TAX,
  BPF_X,
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

/**
 * The nodes reachable from `root`, each after every node that jumps to it: depth first, false
 * branch first, so that each test's true branch follows it (the order layout.ts writes).
 *
 * @example A test, its true branch, then its false branch
 * ```ts
 * import { close, constant, returnNode, topologicalOrder } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * const accept = returnNode(1);
 * const reject = returnNode(0);
 * const head = close(constant(true), accept, reject);
 * assert.deepEqual(topologicalOrder(head), [head, accept, reject]);
 * ```
 */
export function topologicalOrder(root: Node): Node[] {
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

/**
 * The nodes that jump to each node of `order` (once each, even when both branches do).
 *
 * @example The returns of a test have it as their predecessor
 * ```ts
 * import { close, constant, predecessors, returnNode, topologicalOrder } from "./cfg.ts";
 * import assert from "node:assert/strict";
 * const accept = returnNode(1);
 * const head = close(constant(true), accept, returnNode(0));
 * assert.deepEqual(predecessors(topologicalOrder(head)).get(accept), [head]);
 * ```
 */
export function predecessors(order: readonly Node[]): Map<Node, Node[]> {
  const preds = new Map<Node, Node[]>(order.map((node) => [node, []]));
  for (const node of order) {
    if (node.isReturn) continue;
    preds.get(node.jt!)!.push(node);
    if (node.jf !== node.jt) preds.get(node.jf!)!.push(node);
  }
  return preds;
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
