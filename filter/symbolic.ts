/**
 * What a test computes, as symbols: each statement run on names of values rather than values
 * ("the half word at 12", "(the byte at 14 & 15)"), so that two tests can be seen to load or
 * compare the same thing.
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
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
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
} from "./bpf.ts";
import type { Node, Stmt } from "./cfg.ts";

/** Registers as symbols: what A, X and each scratch word hold, or undefined if unknown. */
export interface Registers {
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

/**
 * Registers about which nothing is known, as at the start of a program.
 *
 * @example Nothing known
 * ```ts
 * import { unknownRegisters } from "./symbolic.ts";
 * import assert from "node:assert/strict";
 * assert.equal(unknownRegisters().a, undefined);
 * ```
 */
export function unknownRegisters(): Registers {
  return { a: undefined, x: undefined, mem: [] };
}

/**
 * Runs one statement on symbols: the registers after it.
 *
 * @example A load names what A holds
 * ```ts
 * import { step, unknownRegisters } from "./symbolic.ts";
 * import { BPF_ABS, BPF_H, BPF_LD } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * assert.equal(step({ code: BPF_LD | BPF_H | BPF_ABS, k: 12 }, unknownRegisters()).a, "H[12]");
 * ```
 */
export function step(s: Stmt, r: Registers): Registers {
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
export interface Predicate {
  readonly a: string;
  readonly op: number;
  /** The constant operand, when there is one. */
  readonly k: number | undefined;
  readonly key: string;
}

/**
 * What a test compares, from its own statements; undefined for a node that is not a test of a
 * known value.
 *
 * @example The IPv4 EtherType test
 * ```ts
 * import { predicateOf } from "./symbolic.ts";
 * import { test } from "./cfg.ts";
 * import { BPF_ABS, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const ip = test([{ code: BPF_LD | BPF_H | BPF_ABS, k: 12 }], BPF_JMP | BPF_JEQ | BPF_K, 0x800);
 * assert.equal(predicateOf(ip.head)?.key, "H[12] 16 #2048");
 * ```
 */
export function predicateOf(node: Node): Predicate | undefined {
  const r = run(node.stmts);
  if (r.a === undefined) return undefined;
  const op = node.code & BPF_OP_MASK;
  let operand: string | undefined = `#${node.k}`;
  if ((node.code & BPF_SRC_MASK) === BPF_X) operand = r.x;
  if (operand === undefined) return undefined;
  const k = operand.startsWith("#") ? Number(operand.slice(1)) : undefined;
  return { a: r.a, op, k, key: `${r.a} ${op} ${operand}` };
}

/**
 * The outcome of a jump test (BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET) on known values.
 *
 * @example 5 > 4
 * ```ts
 * import { evaluate } from "./symbolic.ts";
 * import { BPF_JGT } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * assert.ok(evaluate(BPF_JGT, 5, 4));
 * ```
 */
export function evaluate(op: number, a: number, k: number): boolean {
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
