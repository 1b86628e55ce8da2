/**
 * Classic BPF programs as text, the three ways `tcpdump -d`, `-dd` and `-ddd` print them
 * (libpcap's `bpf_image()` and `bpf_dump()`).
 *
 * @module
 */

import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
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
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  type BpfInstruction,
  type BpfProgram,
  isConditionalJump,
  SKF_AD_MAX,
  SKF_AD_OFF,
} from "./bpf.ts";

/** How to print a program: `-d`, `-dd` or `-ddd`. */
export type DumpStyle = "assembly" | "c" | "decimal";

/** Width of the opcode column, and of the operand column before jt/jf (`%-8s %-16s`). */
const OPCODE_WIDTH = 8;
const OPERAND_WIDTH = 16;
/** Digits of the instruction number (`(%03d)`). */
const INDEX_DIGITS = 3;
/** Hex digits of k in the C style (`0x%08x`). */
const K_HEX_DIGITS = 8;
const HEX = 16;

/** Names libpcap prints for Linux ancillary loads, by offset from SKF_AD_OFF. */
const ANCILLARY_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "proto"],
  [4, "type"],
  [8, "ifidx"],
  [12, "nla"],
  [16, "nlan"],
  [20, "mark"],
  [24, "queue"],
  [28, "hatype"],
  [32, "rxhash"],
  [36, "cpu"],
  [40, "xor_x"],
  [44, "vlan_tci"],
  [48, "vlanp"],
  [52, "poff"],
  [56, "random"],
  [60, "vlan_tpid"],
]);

const LOADS: ReadonlyMap<number, string> = new Map([[BPF_W, "ld"], [BPF_H, "ldh"], [BPF_B, "ldb"]]);

const ALU_NAMES: ReadonlyMap<number, string> = new Map([
  [BPF_ADD, "add"],
  [BPF_SUB, "sub"],
  [BPF_MUL, "mul"],
  [BPF_DIV, "div"],
  [BPF_MOD, "mod"],
  [BPF_AND, "and"],
  [BPF_OR, "or"],
  [BPF_XOR, "xor"],
  [BPF_LSH, "lsh"],
  [BPF_RSH, "rsh"],
]);
/** ALU operations whose constant libpcap prints in hex; the others print in decimal. */
const HEX_ALU: ReadonlySet<number> = new Set([BPF_AND, BPF_OR, BPF_XOR]);

const JUMP_NAMES: ReadonlyMap<number, string> = new Map([
  [BPF_JEQ, "jeq"],
  [BPF_JGT, "jgt"],
  [BPF_JGE, "jge"],
  [BPF_JSET, "jset"],
]);

function hex(k: number): string {
  return `#0x${k.toString(HEX)}`;
}

function signed(k: number): string {
  return `#${k | 0}`;
}

function absoluteOperand(k: number): string {
  const name = ANCILLARY_NAMES.get((k | 0) - SKF_AD_OFF);
  const special = (k | 0) >= SKF_AD_OFF && (k | 0) < SKF_AD_OFF + SKF_AD_MAX;
  return special && name !== undefined ? `[${name}]` : `[${k | 0}]`;
}

type Image = (k: number, n: number) => [string, string];

/** How bpf_image() spells each opcode: its mnemonic and operand. */
const IMAGES: ReadonlyMap<number, Image> = new Map<number, Image>([
  [BPF_RET | BPF_K, (k) => ["ret", signed(k)]],
  [BPF_RET | BPF_A, () => ["ret", ""]],
  ...[...LOADS].flatMap(([size, name]): [number, Image][] => [
    [BPF_LD | size | BPF_ABS, (k) => [name, absoluteOperand(k)]],
    [BPF_LD | size | BPF_IND, (k) => [name, `[x + ${k | 0}]`]],
  ]),
  [BPF_LD | BPF_W | BPF_LEN, () => ["ld", "#pktlen"]],
  [BPF_LDX | BPF_W | BPF_LEN, () => ["ldx", "#pktlen"]],
  [BPF_LD | BPF_IMM, (k) => ["ld", hex(k)]],
  [BPF_LDX | BPF_IMM, (k) => ["ldx", hex(k)]],
  [BPF_LDX | BPF_MSH | BPF_B, (k) => ["ldxb", `4*([${k | 0}]&0xf)`]],
  [BPF_LD | BPF_MEM, (k) => ["ld", `M[${k}]`]],
  [BPF_LDX | BPF_MEM, (k) => ["ldx", `M[${k}]`]],
  [BPF_ST, (k) => ["st", `M[${k}]`]],
  [BPF_STX, (k) => ["stx", `M[${k}]`]],
  [BPF_JMP | BPF_JA, (k, n) => ["ja", `${n + 1 + k}`]],
  ...[...JUMP_NAMES].flatMap(([op, name]): [number, Image][] => [
    [BPF_JMP | op | BPF_K, (k) => [name, hex(k)]],
    [BPF_JMP | op | BPF_X, () => [name, "x"]],
  ]),
  ...[...ALU_NAMES].flatMap(([op, name]): [number, Image][] => [
    [BPF_ALU | op | BPF_K, (k) => [name, HEX_ALU.has(op) ? hex(k) : signed(k)]],
    [BPF_ALU | op | BPF_X, () => [name, "x"]],
  ]),
  [BPF_ALU | BPF_NEG, () => ["neg", ""]],
  [BPF_MISC | BPF_TAX, () => ["tax", ""]],
  [BPF_MISC | BPF_TXA, () => ["txa", ""]],
]);

function image(insn: BpfInstruction, n: number): [string, string] {
  return IMAGES.get(insn.code)?.(insn.k, n) ?? ["unimp", `0x${insn.code.toString(HEX)}`];
}

/**
 * One instruction as `tcpdump -d` prints it: `(001) jeq      #0x800           jt 2\tjf 5`.
 *
 * @example Print a load
 * ```ts
 * import { formatInstruction } from "./dump.ts";
 * import assert from "node:assert/strict";
 * assert.ok(formatInstruction({ code: 0x28, jt: 0, jf: 0, k: 12 }, 0) === "(000) ldh      [12]");
 * ```
 */
export function formatInstruction(insn: BpfInstruction, n: number): string {
  const [op, operand] = image(insn, n);
  const index = `(${String(n).padStart(INDEX_DIGITS, "0")})`;
  if (isConditionalJump(insn.code)) {
    return `${index} ${op.padEnd(OPCODE_WIDTH)} ${operand.padEnd(OPERAND_WIDTH)} ` +
      `jt ${n + 1 + insn.jt}\tjf ${n + 1 + insn.jf}`;
  }
  return `${index} ${op.padEnd(OPCODE_WIDTH)} ${operand}`;
}

/**
 * A program as `tcpdump -d` (assembly), `-dd` (a C array) or `-ddd` (decimal numbers, the count
 * first) prints it, one line per instruction, without a final newline.
 *
 * @example Print a program three ways
 * ```ts
 * import { formatProgram } from "./dump.ts";
 * import { compileFilter } from "./compile.ts";
 * import assert from "node:assert/strict";
 * const program = compileFilter("ip", 1);
 * assert.ok(formatProgram(program).split("\n")[0] === "(000) ldh      [12]");
 * assert.ok(formatProgram(program, "c").startsWith("{ 0x28, 0, 0, 0x0000000c },"));
 * assert.ok(formatProgram(program, "decimal").startsWith("4\n40 0 0 12"));
 * ```
 */
export function formatProgram(program: BpfProgram, style: DumpStyle = "assembly"): string {
  switch (style) {
    case "assembly":
      return program.map(formatInstruction).join("\n");
    case "c":
      return program.map(({ code, jt, jf, k }) =>
        `{ 0x${code.toString(HEX)}, ${jt}, ${jf}, 0x${
          k.toString(HEX).padStart(K_HEX_DIGITS, "0")
        } },`
      ).join("\n");
    case "decimal":
      return [
        String(program.length),
        ...program.map(({ code, jt, jf, k }) => `${code} ${jt} ${jf} ${k}`),
      ].join("\n");
  }
}
