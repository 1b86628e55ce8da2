/**
 * Verification of classic BPF programs, with the kernel's rules (`bpf_check_classic()` in
 * net/core/filter.c): every opcode known, at most 4096 instructions, jumps forward and inside the
 * program, the last instruction a `ret`, no division or modulus by the constant 0, no constant
 * shift of 32 bits or more, scratch memory indexes below 16 and no scratch word read on a path
 * that has not written it.
 *
 * @module
 */

import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
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
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_NEG,
  BPF_OP_MASK,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  type BpfProgram,
  isConditionalJump,
} from "./bpf.ts";
import { FilterError } from "./filter_error.ts";

const PREFIX = "Invalid filter program";
/** Constant shifts of this many bits or more are refused. */
const WORD_BITS = 32;
/** Every scratch word written: a bit per word. */
const ALL_WORDS = (1 << BPF_MEMWORDS) - 1;

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0];

/** Every opcode the kernel's classic BPF accepts (its `codes[]` table). */
const VALID_CODES: ReadonlySet<number> = new Set([
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  ...[BPF_W, BPF_H, BPF_B].flatMap((size) => [BPF_LD | size | BPF_ABS, BPF_LD | size | BPF_IND]),
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LD | BPF_IMM,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_LDX | BPF_B | BPF_MSH,
  BPF_LDX | BPF_IMM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  ...ALU_OPS.flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET].flatMap((op) => [
    BPF_JMP | op | BPF_K,
    BPF_JMP | op | BPF_X,
  ]),
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
]);

function fail(reason: string): never {
  throw new FilterError(PREFIX, reason);
}

/**
 * Checks a program as the kernel would before attaching it; throws a {@linkcode FilterError}
 * ("Invalid filter program: instruction 3 jumps to 9, beyond the last instruction (5)") for the
 * first rule it breaks.
 *
 * @example A program that does not end in ret is refused
 * ```ts
 * import { verifyProgram } from "./verify.ts";
 * import { BPF_ABS, BPF_H, BPF_K, BPF_LD, BPF_RET, stmt } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * verifyProgram([stmt(BPF_LD | BPF_H | BPF_ABS, 12), stmt(BPF_RET | BPF_K, 0)]);
 * assert.throws(() => verifyProgram([stmt(BPF_LD | BPF_H | BPF_ABS, 12)]), /not a ret/);
 * ```
 */
export function verifyProgram(program: BpfProgram): void {
  const length = program.length;
  if (length === 0) fail("it is empty");
  if (length > BPF_MAXINSNS) {
    fail(`it has ${length} instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  }
  for (let pc = 0; pc < length; pc++) {
    const { code, k, jt, jf } = program[pc]!;
    const at = `instruction ${pc}`;
    if (!VALID_CODES.has(code)) fail(`${at} has the unknown opcode 0x${code.toString(16)}`);
    for (const [name, value] of [["k", k], ["jt", jt], ["jf", jf]] as const) {
      const max = name === "k" ? 0xffffffff : 0xff;
      if (!Number.isInteger(value) || value < 0 || value > max) {
        fail(`${at} has ${name} ${value}, not a whole number from 0 to ${max}`);
      }
    }
    const cls = code & BPF_CLASS_MASK;
    const op = code & BPF_OP_MASK;
    if (cls === BPF_ALU && (code & BPF_X) === 0) {
      if ((op === BPF_DIV || op === BPF_MOD) && k === 0) fail(`${at} divides by the constant 0`);
      if ((op === BPF_LSH || op === BPF_RSH) && k >= WORD_BITS) {
        fail(`${at} shifts by ${k} bits, more than 31`);
      }
    }
    const usesMemory = code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM) ||
      cls === BPF_ST || cls === BPF_STX;
    if (usesMemory && k >= BPF_MEMWORDS) {
      fail(`${at} uses scratch word ${k}, beyond M[${BPF_MEMWORDS - 1}]`);
    }
    if (code === (BPF_JMP | BPF_JA)) {
      if (pc + 1 + k >= length) {
        fail(`${at} jumps to ${pc + 1 + k}, beyond the last instruction (${length - 1})`);
      }
    } else if (isConditionalJump(code)) {
      const target = pc + 1 + Math.max(jt, jf);
      if (target >= length) {
        fail(`${at} jumps to ${target}, beyond the last instruction (${length - 1})`);
      }
    }
  }
  if ((program[length - 1]!.code & BPF_CLASS_MASK) !== BPF_RET) {
    fail(`its last instruction (${length - 1}) is not a ret`);
  }
  checkMemoryWrittenBeforeRead(program);
}

/** Refuses a program that reads a scratch word on a path where it was never written. */
function checkMemoryWrittenBeforeRead(program: BpfProgram): void {
  // written[pc]: the words written on every path reaching pc (ALL_WORDS until a path arrives).
  const written = new Array<number>(program.length).fill(ALL_WORDS);
  written[0] = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, k, jt, jf } = program[pc]!;
    let state = written[pc]!;
    const cls = code & BPF_CLASS_MASK;
    if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if ((state & (1 << k)) === 0) {
        fail(`instruction ${pc} reads M[${k}] before anything is stored there`);
      }
    } else if (cls === BPF_ST || cls === BPF_STX) {
      state |= 1 << k;
    }
    const flow = (target: number) => {
      written[target] = written[target]! & state;
    };
    if (cls === BPF_RET) continue;
    if (code === (BPF_JMP | BPF_JA)) flow(pc + 1 + k);
    else if (isConditionalJump(code)) {
      flow(pc + 1 + jt);
      flow(pc + 1 + jf);
    } else flow(pc + 1);
  }
}
