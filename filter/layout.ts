/**
 * Layout: a simplified graph as a classic BPF program, with libpcap's peephole rules, each load
 * left out when every path into it has already put the same value in the register, stores
 * nobody reads left out, and `ja` trampolines for jumps beyond 255 instructions.
 *
 * @module
 */

import { Node, type Stmt, topologicalOrder } from "./cfg.ts";
import { merge } from "./simplify.ts";
import { type Registers, step, unknownRegisters } from "./symbolic.ts";
import {
  BPF_ALU,
  BPF_AND,
  BPF_CLASS_MASK,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_MODE_MASK,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  type BpfInstruction,
  type BpfProgram,
  jump,
  MAX_CONDITIONAL_JUMP,
  stmt,
} from "./bpf.ts";

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
 *
 * @example The program for a single test
 * ```ts
 * import { linearize } from "./layout.ts";
 * import { close, returnNode, test } from "./cfg.ts";
 * import { BPF_ABS, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const ip = test([{ code: BPF_LD | BPF_H | BPF_ABS, k: 12 }], BPF_JMP | BPF_JEQ | BPF_K, 0x800);
 * const program = linearize(close(ip, returnNode(262144), returnNode(0)));
 * assert.deepEqual(program.map((insn) => insn.code), [0x28, 0x15, 0x06, 0x06]);
 * ```
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
