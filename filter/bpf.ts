/**
 * Classic BPF (`struct sock_filter`, `<linux/filter.h>`, `<pcap/bpf.h>`): the instruction
 * shape and the opcode bits. Shared by the filter compiler, the verifier, the interpreter, the
 * `-d` printer and the code that attaches programs to sockets.
 *
 * @module
 */

/**
 * One classic BPF instruction, as the kernel's `struct sock_filter` holds it:
 * `{ u16 code; u8 jt; u8 jf; u32 k; }`.
 */
export interface BpfInstruction {
  /** Opcode: class | size/operation | mode/source bits. */
  readonly code: number;
  /** Conditional jumps: instructions skipped when the test holds (0 to 255). */
  readonly jt: number;
  /** Conditional jumps: instructions skipped when it does not (0 to 255). */
  readonly jf: number;
  /** The constant operand, unsigned 32 bits. */
  readonly k: number;
}

/** A classic BPF program: instructions run from the first; a `ret` ends it. */
export type BpfProgram = readonly BpfInstruction[];

/** Largest program the kernel accepts (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory words M[0] to M[15] (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;
/** Largest jt/jf: they are 8-bit. */
export const MAX_CONDITIONAL_JUMP = 255;

// Instruction classes (the low 3 bits).
/** Class: load into A. */
export const BPF_LD = 0x00;
/** Class: load into X. */
export const BPF_LDX = 0x01;
/** Class: store A into scratch memory. */
export const BPF_ST = 0x02;
/** Class: store X into scratch memory. */
export const BPF_STX = 0x03;
/** Class: arithmetic on A. */
export const BPF_ALU = 0x04;
/** Class: jumps. */
export const BPF_JMP = 0x05;
/** Class: return. */
export const BPF_RET = 0x06;
/** Class: register transfers. */
export const BPF_MISC = 0x07;
/** Mask of the class bits. */
export const BPF_CLASS_MASK = 0x07;

// Load sizes.
/** Load size: 32-bit word. */
export const BPF_W = 0x00;
/** Load size: 16-bit half word. */
export const BPF_H = 0x08;
/** Load size: byte. */
export const BPF_B = 0x10;
/** Mask of the size bits. */
export const BPF_SIZE_MASK = 0x18;

// Load modes.
/** Mode: the constant k. */
export const BPF_IMM = 0x00;
/** Mode: packet bytes at offset k. */
export const BPF_ABS = 0x20;
/** Mode: packet bytes at offset X + k. */
export const BPF_IND = 0x40;
/** Mode: scratch memory word k. */
export const BPF_MEM = 0x60;
/** Mode: the packet's length on the wire. */
export const BPF_LEN = 0x80;
/** Mode (LDX only): 4 * (packet byte k & 0xf), an IPv4 header length. */
export const BPF_MSH = 0xa0;
/** Mask of the mode bits. */
export const BPF_MODE_MASK = 0xe0;

// ALU operations and jump tests.
/** ALU: A + operand. */
export const BPF_ADD = 0x00;
/** ALU: A - operand. */
export const BPF_SUB = 0x10;
/** ALU: A * operand. */
export const BPF_MUL = 0x20;
/** ALU: A / operand (unsigned; a zero divisor rejects the packet). */
export const BPF_DIV = 0x30;
/** ALU: A | operand. */
export const BPF_OR = 0x40;
/** ALU: A & operand. */
export const BPF_AND = 0x50;
/** ALU: A << operand. */
export const BPF_LSH = 0x60;
/** ALU: A >> operand (logical). */
export const BPF_RSH = 0x70;
/** ALU: -A. */
export const BPF_NEG = 0x80;
/** ALU: A % operand (a zero divisor rejects the packet). */
export const BPF_MOD = 0x90;
/** ALU: A ^ operand. */
export const BPF_XOR = 0xa0;
/** Jump: always, by k. */
export const BPF_JA = 0x00;
/** Jump: A == operand. */
export const BPF_JEQ = 0x10;
/** Jump: A > operand (unsigned). */
export const BPF_JGT = 0x20;
/** Jump: A >= operand (unsigned). */
export const BPF_JGE = 0x30;
/** Jump: A & operand != 0. */
export const BPF_JSET = 0x40;
/** Mask of the operation bits. */
export const BPF_OP_MASK = 0xf0;

// Operand sources.
/** Source: the constant k. */
export const BPF_K = 0x00;
/** Source: register X. */
export const BPF_X = 0x08;
/** Source (RET only): register A. */
export const BPF_A = 0x10;
/** Mask of the source bit of ALU and JMP. */
export const BPF_SRC_MASK = 0x08;
/** Mask of the return-value bits of RET. */
export const BPF_RVAL_MASK = 0x18;

// MISC operations.
/** MISC: X = A. */
export const BPF_TAX = 0x00;
/** MISC: A = X. */
export const BPF_TXA = 0x80;
/** Mask of the MISC operation bits. */
export const BPF_MISCOP_MASK = 0xf8;

/**
 * Linux's ancillary data offsets (`SKF_AD_OFF + SKF_AD_*`): absolute loads at these offsets read
 * the socket buffer's metadata rather than packet bytes, and only the kernel answers them.
 */
export const SKF_AD_OFF: number = -0x1000;
/** Ancillary: the packet's EtherType (`skb->protocol`), host order. */
export const SKF_AD_PROTOCOL = 0;
/** Ancillary: the packet type (PACKET_HOST, PACKET_OUTGOING, ...). */
export const SKF_AD_PKTTYPE = 4;
/** Ancillary: the index of the interface the packet came in on. */
export const SKF_AD_IFINDEX = 8;
/** Ancillary offsets end here (SKF_AD_MAX). */
export const SKF_AD_MAX = 64;

/**
 * An instruction that does not jump.
 *
 * @example Load the EtherType of an Ethernet frame
 * ```ts
 * import { BPF_ABS, BPF_H, BPF_LD, stmt } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const load = stmt(BPF_LD | BPF_H | BPF_ABS, 12);
 * assert.ok(load.code === 0x28 && load.k === 12);
 * ```
 */
export function stmt(code: number, k = 0): BpfInstruction {
  return { code, jt: 0, jf: 0, k: k >>> 0 };
}

/**
 * A jump instruction.
 *
 * @example Skip one instruction unless A is 0x800
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * const test = jump(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 1);
 * assert.ok(test.jf === 1);
 * ```
 */
export function jump(code: number, k: number, jt: number, jf: number): BpfInstruction {
  return { code, jt, jf, k: k >>> 0 };
}

/**
 * Whether an instruction is a conditional jump (it has jt and jf).
 *
 * @example A jeq is conditional, a ja is not
 * ```ts
 * import { BPF_JA, BPF_JEQ, BPF_JMP, isConditionalJump } from "./bpf.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isConditionalJump(BPF_JMP | BPF_JEQ));
 * assert.ok(!isConditionalJump(BPF_JMP | BPF_JA));
 * ```
 */
export function isConditionalJump(code: number): boolean {
  return (code & BPF_CLASS_MASK) === BPF_JMP && (code & BPF_OP_MASK) !== BPF_JA;
}
