/**
 * A classic BPF interpreter with libpcap's semantics (`pcap_filter()` in bpf_filter.c): the same
 * program means the same thing on a file as in the kernel. Loads beyond the captured bytes end the
 * program with 0 (reject); `len` is the packet's length on the wire; a division or modulus by a
 * zero X rejects; a shift by X of 32 or more gives 0.
 *
 * Run {@linkcode verifyProgram} on a program before interpreting it: the interpreter trusts that
 * jumps stay in the program and that scratch memory indexes are below 16.
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
  BPF_MEMWORDS,
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
  type BpfProgram,
} from "./bpf.ts";

/** Shifts of this many bits or more give 0, as in libpcap. */
const WORD_BITS = 32;
/** The low 4 bits of a byte: an IPv4 header length in words. */
const NIBBLE_MASK = 0xf;
/** Words to bytes, for BPF_MSH. */
const WORD_SHIFT = 2;

// Every opcode the interpreter runs, spelled out so the switch below reads like bpf_filter.c.
const RET_K = BPF_RET | BPF_K;
const RET_A = BPF_RET | BPF_A;
const LD_W_ABS = BPF_LD | BPF_W | BPF_ABS;
const LD_H_ABS = BPF_LD | BPF_H | BPF_ABS;
const LD_B_ABS = BPF_LD | BPF_B | BPF_ABS;
const LD_W_IND = BPF_LD | BPF_W | BPF_IND;
const LD_H_IND = BPF_LD | BPF_H | BPF_IND;
const LD_B_IND = BPF_LD | BPF_B | BPF_IND;
const LD_LEN = BPF_LD | BPF_W | BPF_LEN;
const LDX_LEN = BPF_LDX | BPF_W | BPF_LEN;
const LDX_MSH = BPF_LDX | BPF_MSH | BPF_B;
const LD_IMM = BPF_LD | BPF_IMM;
const LDX_IMM = BPF_LDX | BPF_IMM;
const LD_MEM = BPF_LD | BPF_MEM;
const LDX_MEM = BPF_LDX | BPF_MEM;
const ST = BPF_ST;
const STX = BPF_STX;
const JA = BPF_JMP | BPF_JA;
const JGT_K = BPF_JMP | BPF_JGT | BPF_K;
const JGE_K = BPF_JMP | BPF_JGE | BPF_K;
const JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
const JSET_K = BPF_JMP | BPF_JSET | BPF_K;
const JGT_X = BPF_JMP | BPF_JGT | BPF_X;
const JGE_X = BPF_JMP | BPF_JGE | BPF_X;
const JEQ_X = BPF_JMP | BPF_JEQ | BPF_X;
const JSET_X = BPF_JMP | BPF_JSET | BPF_X;
const ADD_X = BPF_ALU | BPF_ADD | BPF_X;
const SUB_X = BPF_ALU | BPF_SUB | BPF_X;
const MUL_X = BPF_ALU | BPF_MUL | BPF_X;
const DIV_X = BPF_ALU | BPF_DIV | BPF_X;
const MOD_X = BPF_ALU | BPF_MOD | BPF_X;
const AND_X = BPF_ALU | BPF_AND | BPF_X;
const OR_X = BPF_ALU | BPF_OR | BPF_X;
const XOR_X = BPF_ALU | BPF_XOR | BPF_X;
const LSH_X = BPF_ALU | BPF_LSH | BPF_X;
const RSH_X = BPF_ALU | BPF_RSH | BPF_X;
const ADD_K = BPF_ALU | BPF_ADD | BPF_K;
const SUB_K = BPF_ALU | BPF_SUB | BPF_K;
const MUL_K = BPF_ALU | BPF_MUL | BPF_K;
const DIV_K = BPF_ALU | BPF_DIV | BPF_K;
const MOD_K = BPF_ALU | BPF_MOD | BPF_K;
const AND_K = BPF_ALU | BPF_AND | BPF_K;
const OR_K = BPF_ALU | BPF_OR | BPF_K;
const XOR_K = BPF_ALU | BPF_XOR | BPF_K;
const LSH_K = BPF_ALU | BPF_LSH | BPF_K;
const RSH_K = BPF_ALU | BPF_RSH | BPF_K;
const NEG = BPF_ALU | BPF_NEG;
const TAX = BPF_MISC | BPF_TAX;
const TXA = BPF_MISC | BPF_TXA;

/**
 * Runs a program over the packet bytes `view[offset, offset + captured)`, whose length on the wire
 * was `wireLength`. Returns the program's result: 0 rejects the packet; anything else accepts it
 * (and is the number of bytes to keep).
 *
 * @throws {RangeError} For an opcode the interpreter does not know (a program that was not
 *   verified).
 *
 * @example Accept IPv4 frames
 * ```ts
 * import { runFilterAt } from "./interpret.ts";
 * import { compileFilter } from "./compile.ts";
 * import assert from "node:assert/strict";
 * const program = compileFilter("ip", 1);
 * const frame = new Uint8Array(34);
 * frame[12] = 0x08;
 * const view = new DataView(frame.buffer);
 * assert.ok(runFilterAt(program, view, 0, frame.length, frame.length) > 0);
 * ```
 */
export function runFilterAt(
  program: BpfProgram,
  view: DataView,
  offset: number,
  captured: number,
  wireLength: number,
): number {
  let a = 0;
  let x = 0;
  let mem: Uint32Array | undefined;
  let pc = 0;
  for (;;) {
    const insn = program[pc++]!;
    const k = insn.k;
    switch (insn.code) {
      case RET_K:
        return k;
      case RET_A:
        return a;
      case LD_W_ABS:
        if (k > captured - 4) return 0;
        a = view.getUint32(offset + k);
        break;
      case LD_H_ABS:
        if (k > captured - 2) return 0;
        a = view.getUint16(offset + k);
        break;
      case LD_B_ABS:
        if (k >= captured) return 0;
        a = view.getUint8(offset + k);
        break;
      case LD_W_IND: {
        const at = x + k;
        if (at > captured - 4) return 0;
        a = view.getUint32(offset + at);
        break;
      }
      case LD_H_IND: {
        const at = x + k;
        if (at > captured - 2) return 0;
        a = view.getUint16(offset + at);
        break;
      }
      case LD_B_IND: {
        const at = x + k;
        if (at >= captured) return 0;
        a = view.getUint8(offset + at);
        break;
      }
      case LD_LEN:
        a = wireLength;
        break;
      case LDX_LEN:
        x = wireLength;
        break;
      case LDX_MSH:
        if (k >= captured) return 0;
        x = (view.getUint8(offset + k) & NIBBLE_MASK) << WORD_SHIFT;
        break;
      case LD_IMM:
        a = k;
        break;
      case LDX_IMM:
        x = k;
        break;
      case LD_MEM:
        a = mem === undefined ? 0 : mem[k]!;
        break;
      case LDX_MEM:
        x = mem === undefined ? 0 : mem[k]!;
        break;
      case ST:
        (mem ??= new Uint32Array(BPF_MEMWORDS))[k] = a;
        break;
      case STX:
        (mem ??= new Uint32Array(BPF_MEMWORDS))[k] = x;
        break;
      case JA:
        pc += k;
        break;
      case JGT_K:
        pc += a > k ? insn.jt : insn.jf;
        break;
      case JGE_K:
        pc += a >= k ? insn.jt : insn.jf;
        break;
      case JEQ_K:
        pc += a === k ? insn.jt : insn.jf;
        break;
      case JSET_K:
        pc += (a & k) !== 0 ? insn.jt : insn.jf;
        break;
      case JGT_X:
        pc += a > x ? insn.jt : insn.jf;
        break;
      case JGE_X:
        pc += a >= x ? insn.jt : insn.jf;
        break;
      case JEQ_X:
        pc += a === x ? insn.jt : insn.jf;
        break;
      case JSET_X:
        pc += (a & x) !== 0 ? insn.jt : insn.jf;
        break;
      case ADD_X:
        a = (a + x) >>> 0;
        break;
      case SUB_X:
        a = (a - x) >>> 0;
        break;
      case MUL_X:
        a = Math.imul(a, x) >>> 0;
        break;
      case DIV_X:
        if (x === 0) return 0;
        a = Math.floor(a / x);
        break;
      case MOD_X:
        if (x === 0) return 0;
        a = a % x;
        break;
      case AND_X:
        a = (a & x) >>> 0;
        break;
      case OR_X:
        a = (a | x) >>> 0;
        break;
      case XOR_X:
        a = (a ^ x) >>> 0;
        break;
      case LSH_X:
        a = x < WORD_BITS ? (a << x) >>> 0 : 0;
        break;
      case RSH_X:
        a = x < WORD_BITS ? a >>> x : 0;
        break;
      case ADD_K:
        a = (a + k) >>> 0;
        break;
      case SUB_K:
        a = (a - k) >>> 0;
        break;
      case MUL_K:
        a = Math.imul(a, k) >>> 0;
        break;
      case DIV_K:
        if (k === 0) return 0;
        a = Math.floor(a / k);
        break;
      case MOD_K:
        if (k === 0) return 0;
        a = a % k;
        break;
      case AND_K:
        a = (a & k) >>> 0;
        break;
      case OR_K:
        a = (a | k) >>> 0;
        break;
      case XOR_K:
        a = (a ^ k) >>> 0;
        break;
      case LSH_K:
        a = k < WORD_BITS ? (a << k) >>> 0 : 0;
        break;
      case RSH_K:
        a = k < WORD_BITS ? a >>> k : 0;
        break;
      case NEG:
        a = (0 - a) >>> 0;
        break;
      case TAX:
        x = a;
        break;
      case TXA:
        a = x;
        break;
      default:
        throw new RangeError(
          `Cannot run filter: unknown opcode 0x${insn.code.toString(16)} at instruction ${pc - 1}`,
        );
    }
  }
}

/**
 * Runs a program over one packet's captured bytes; `wireLength` defaults to their number.
 * Returns 0 to reject the packet, anything else to accept it.
 *
 * @example Reject an ARP frame with an IPv4 filter
 * ```ts
 * import { runFilter } from "./interpret.ts";
 * import { compileFilter } from "./compile.ts";
 * import assert from "node:assert/strict";
 * const arp = new Uint8Array(42);
 * arp[12] = 0x08;
 * arp[13] = 0x06;
 * assert.ok(runFilter(compileFilter("ip", 1), arp) === 0);
 * ```
 */
export function runFilter(
  program: BpfProgram,
  packet: Uint8Array,
  wireLength: number = packet.length,
): number {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return runFilterAt(program, view, 0, packet.length, wireLength);
}
