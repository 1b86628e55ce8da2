/**
 * The filter compiler's parts on their own: the interpreter (every opcode class, every bound),
 * the verifier (every rule), the `-d` printer (against tcpdump -d where tcpdump is installed),
 * the errors bad expressions get, the program a cooked socket's kernel runs, and filters over
 * capture records.
 */

import assert from "node:assert/strict";
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
  BPF_MAXINSNS,
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
  jump,
  stmt,
} from "../filter/bpf.ts";
import { compileFilter } from "../filter/compile.ts";
import { formatProgram } from "../filter/dump.ts";
import { FilterError } from "../filter/filter_error.ts";
import { runFilter } from "../filter/interpret.ts";
import { KERNEL_ACCEPT_LENGTH, kernelProgram } from "../filter/kernel_program.ts";
import { RecordFilter } from "../filter/record_filter.ts";
import { verifyProgram } from "../filter/verify.ts";
import { CaptureParser } from "../parsers/capture_format.ts";
import { pcapFileHeader } from "../parsers/pcap_write.ts";
import { haveProgram, run } from "./helpers.ts";

const RET_A = stmt(BPF_RET | BPF_A);
const retK = (k: number) => stmt(BPF_RET | BPF_K, k);
const ldImm = (k: number) => stmt(BPF_LD | BPF_IMM, k);
const ldxImm = (k: number) => stmt(BPF_LDX | BPF_IMM, k);

/** Runs a hand-written program (verified first) over `packet`. */
function exec(program: BpfProgram, packet = new Uint8Array(0), wireLength?: number): number {
  verifyProgram(program);
  return runFilter(program, packet, wireLength ?? packet.length);
}

const PACKET = new Uint8Array([0x45, 0x01, 0x02, 0x03, 0x84, 0x05, 0x06, 0x07, 0x08, 0x09]);

// The interpreter.

Deno.test("runFilter() loads words, half words and bytes big-endian at absolute offsets", () => {
  assert.equal(exec([stmt(BPF_LD | BPF_W | BPF_ABS, 1), RET_A], PACKET), 0x01020384);
  assert.equal(exec([stmt(BPF_LD | BPF_H | BPF_ABS, 3), RET_A], PACKET), 0x0384);
  assert.equal(exec([stmt(BPF_LD | BPF_B | BPF_ABS, 4), RET_A], PACKET), 0x84);
});

Deno.test("runFilter() rejects when a load reaches past the captured bytes, by one byte", () => {
  const last = PACKET.length;
  for (const [size, width] of [[BPF_W, 4], [BPF_H, 2], [BPF_B, 1]] as const) {
    const load = (k: number) => [stmt(BPF_LD | size | BPF_ABS, k), retK(7)];
    assert.equal(exec(load(last - width), PACKET), 7, `size ${width} at the end`);
    assert.equal(exec(load(last - width + 1), PACKET), 0, `size ${width} one past the end`);
    const indirect = (x: number) => [ldxImm(x), stmt(BPF_LD | size | BPF_IND, 1), retK(7)];
    assert.equal(exec(indirect(last - width - 1), PACKET), 7);
    assert.equal(exec(indirect(last - width), PACKET), 0);
  }
  // An ancillary offset is out of bounds for a file's packet.
  assert.equal(exec([stmt(BPF_LD | BPF_H | BPF_ABS, 0xfffff000), retK(7)], PACKET), 0);
});

Deno.test("runFilter() loads at X + k, the length on the wire, constants and the header length", () => {
  assert.equal(exec([ldxImm(2), stmt(BPF_LD | BPF_H | BPF_IND, 1), RET_A], PACKET), 0x0384);
  assert.equal(exec([stmt(BPF_LD | BPF_W | BPF_LEN), RET_A], PACKET, 1500), 1500);
  assert.equal(
    exec([stmt(BPF_LDX | BPF_W | BPF_LEN), stmt(BPF_MISC | BPF_TXA), RET_A], PACKET, 99),
    99,
  );
  assert.equal(exec([ldImm(0xdeadbeef), RET_A]), 0xdeadbeef);
  // 4 * (0x45 & 0xf): the IPv4 header length.
  assert.equal(
    exec([stmt(BPF_LDX | BPF_MSH | BPF_B, 0), stmt(BPF_MISC | BPF_TXA), RET_A], PACKET),
    20,
  );
  assert.equal(exec([stmt(BPF_LDX | BPF_MSH | BPF_B, PACKET.length), retK(1)], PACKET), 0);
});

Deno.test("runFilter() stores A and X in scratch memory and loads them back", () => {
  const program = [
    ldImm(11),
    stmt(BPF_ST, 3),
    ldxImm(22),
    stmt(BPF_STX, 15),
    ldImm(0),
    stmt(BPF_LDX | BPF_MEM, 3),
    stmt(BPF_LD | BPF_MEM, 15),
    stmt(BPF_ALU | BPF_ADD | BPF_X),
    RET_A,
  ];
  assert.equal(exec(program), 33);
});

Deno.test("runFilter() does every ALU operation on 32 unsigned bits, with a constant or X", () => {
  const cases: [number, number, number, number][] = [
    [BPF_ADD, 0xffffffff, 2, 1],
    [BPF_SUB, 1, 2, 0xffffffff],
    [BPF_MUL, 0x10000, 0x10001, 0x10000],
    [BPF_DIV, 7, 2, 3],
    [BPF_MOD, 7, 4, 3],
    [BPF_AND, 0xf0f0, 0xff00, 0xf000],
    [BPF_OR, 0xf0, 0x0f, 0xff],
    [BPF_XOR, 0xff, 0x0f, 0xf0],
    [BPF_LSH, 0x80000001, 1, 2],
    [BPF_RSH, 0x80000000, 31, 1],
  ];
  for (const [op, a, b, expected] of cases) {
    assert.equal(
      exec([ldImm(a), stmt(BPF_ALU | op | BPF_K, b), RET_A]),
      expected,
      `0x${op.toString(16)} k`,
    );
    const x = [ldImm(a), ldxImm(b), stmt(BPF_ALU | op | BPF_X), RET_A];
    assert.equal(exec(x), expected, `0x${op.toString(16)} x`);
  }
  assert.equal(exec([ldImm(1), stmt(BPF_ALU | BPF_NEG), RET_A]), 0xffffffff);
});

Deno.test("runFilter() rejects on a zero X divisor and gives 0 for X shifts of 32 or more", () => {
  for (const op of [BPF_DIV, BPF_MOD]) {
    assert.equal(exec([ldImm(5), ldxImm(0), stmt(BPF_ALU | op | BPF_X), retK(9)]), 0);
  }
  for (const op of [BPF_LSH, BPF_RSH]) {
    assert.equal(exec([ldImm(0xffffffff), ldxImm(32), stmt(BPF_ALU | op | BPF_X), RET_A]), 0);
  }
});

Deno.test("runFilter() jumps on every test, against a constant or X, and always on ja", () => {
  const tests: [number, number, number, boolean][] = [
    [BPF_JEQ, 5, 5, true],
    [BPF_JEQ, 5, 6, false],
    [BPF_JGT, 6, 5, true],
    [BPF_JGT, 5, 5, false],
    [BPF_JGE, 5, 5, true],
    [BPF_JGE, 4, 5, false],
    [BPF_JSET, 6, 2, true],
    [BPF_JSET, 6, 1, false],
    [BPF_JGT, 0xffffffff, 1, true], // unsigned
  ];
  for (const [op, a, b, holds] of tests) {
    const expected = holds ? 1 : 2;
    const k = [ldImm(a), jump(BPF_JMP | op | BPF_K, b, 0, 1), retK(1), retK(2)];
    assert.equal(exec(k), expected, `0x${op.toString(16)} ${a} ${b}`);
    const x = [ldImm(a), ldxImm(b), jump(BPF_JMP | op | BPF_X, 0, 0, 1), retK(1), retK(2)];
    assert.equal(exec(x), expected, `0x${op.toString(16)} ${a} x=${b}`);
  }
  assert.equal(exec([stmt(BPF_JMP | BPF_JA, 1), retK(1), retK(2)]), 2);
});

Deno.test("runFilter() moves A to X and back", () => {
  assert.equal(
    exec([ldImm(3), stmt(BPF_MISC | BPF_TAX), ldImm(0), stmt(BPF_MISC | BPF_TXA), RET_A]),
    3,
  );
});

Deno.test("runFilter() never throws on compiled programs over arbitrary bytes", () => {
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const programs = [
    "tcp port 80",
    "host 10.0.0.1 or net fe80::/10",
    "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
    "vlan and udp[8:2] > len / 3",
    "icmp6[icmp6type] = icmp6-echo",
  ].map((expression) => compileFilter(expression, 1));
  for (let i = 0; i < 2000; i++) {
    const packet = new Uint8Array(Math.floor(random() * 120));
    for (let j = 0; j < packet.length; j++) packet[j] = Math.floor(random() * 256);
    if (packet.length > 14 && random() < 0.5) packet.set([0x08, 0x00, 0x45], 12);
    for (const program of programs) {
      runFilter(program, packet, packet.length + Math.floor(random() * 9));
    }
  }
});

// The verifier.

function refused(program: BpfProgram, pattern: RegExp): void {
  assert.throws(() => verifyProgram(program), (error: unknown) => {
    assert.ok(error instanceof FilterError);
    assert.match(error.message, /^Invalid filter program: /);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("verifyProgram() refuses an empty program and one longer than 4096", () => {
  refused([], /empty/);
  refused(new Array<BpfInstruction>(BPF_MAXINSNS + 1).fill(retK(0)), /4097 instructions/);
  verifyProgram(new Array<BpfInstruction>(BPF_MAXINSNS).fill(retK(0)));
});

Deno.test("verifyProgram() refuses jumps past the last instruction", () => {
  refused([stmt(BPF_JMP | BPF_JA, 1), retK(0)], /instruction 0 jumps to 2/);
  refused([ldImm(0), jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), retK(0)], /jumps to 3/);
  refused([ldImm(0), jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), retK(0)], /jumps to 3/);
  verifyProgram([ldImm(0), jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), retK(1), retK(0)]);
});

Deno.test("verifyProgram() refuses a program whose last instruction is not ret", () => {
  refused([retK(0), ldImm(1)], /last instruction \(1\) is not a ret/);
});

Deno.test("verifyProgram() refuses unknown opcodes and fields out of range", () => {
  refused([{ code: 0xff, jt: 0, jf: 0, k: 0 }, retK(0)], /unknown opcode 0xff/);
  refused([{ code: BPF_LD | BPF_H | BPF_IMM, jt: 0, jf: 0, k: 0 }, retK(0)], /unknown opcode/);
  refused([{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 2 ** 32 }], /k 4294967296/);
  refused([{ code: BPF_RET | BPF_K, jt: 256, jf: 0, k: 0 }], /jt 256/);
});

Deno.test("verifyProgram() refuses constant division by zero and shifts of 32 bits", () => {
  refused([stmt(BPF_ALU | BPF_DIV | BPF_K, 0), RET_A], /divides by the constant 0/);
  refused([stmt(BPF_ALU | BPF_MOD | BPF_K, 0), RET_A], /divides by the constant 0/);
  refused([stmt(BPF_ALU | BPF_LSH | BPF_K, 32), RET_A], /shifts by 32 bits/);
  refused([stmt(BPF_ALU | BPF_RSH | BPF_K, 40), RET_A], /shifts by 40 bits/);
});

Deno.test("verifyProgram() refuses scratch words beyond M[15] and reads before any store", () => {
  refused([stmt(BPF_ST, 16), RET_A], /scratch word 16/);
  refused([stmt(BPF_LD | BPF_MEM, 0), RET_A], /reads M\[0\] before/);
  // Stored on one path only.
  refused([
    ldImm(0),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    stmt(BPF_ST, 2),
    stmt(BPF_LDX | BPF_MEM, 2),
    RET_A,
  ], /reads M\[2\]/);
  verifyProgram([ldImm(0), stmt(BPF_ST, 2), stmt(BPF_LDX | BPF_MEM, 2), RET_A]);
});

// The -d printer.

/** What tcpdump -d prints for every kind of instruction (libpcap's bpf_image()). */
const EVERY_OPCODE: [BpfInstruction, string][] = [
  [stmt(BPF_LD | BPF_W | BPF_ABS, 26), "(000) ld       [26]"],
  [stmt(BPF_LD | BPF_H | BPF_ABS, 12), "(000) ldh      [12]"],
  [stmt(BPF_LD | BPF_B | BPF_ABS, 23), "(000) ldb      [23]"],
  [stmt(BPF_LD | BPF_H | BPF_ABS, 0xfffff000), "(000) ldh      [proto]"],
  [stmt(BPF_LD | BPF_W | BPF_ABS, 0xfffff004), "(000) ld       [type]"],
  [stmt(BPF_LD | BPF_W | BPF_IND, 14), "(000) ld       [x + 14]"],
  [stmt(BPF_LD | BPF_H | BPF_IND, 16), "(000) ldh      [x + 16]"],
  [stmt(BPF_LD | BPF_B | BPF_IND, 27), "(000) ldb      [x + 27]"],
  [stmt(BPF_LD | BPF_W | BPF_LEN), "(000) ld       #pktlen"],
  [stmt(BPF_LDX | BPF_W | BPF_LEN), "(000) ldx      #pktlen"],
  [stmt(BPF_LD | BPF_IMM, 0x800), "(000) ld       #0x800"],
  [stmt(BPF_LDX | BPF_IMM, 13), "(000) ldx      #0xd"],
  [stmt(BPF_LDX | BPF_MSH | BPF_B, 14), "(000) ldxb     4*([14]&0xf)"],
  [stmt(BPF_LD | BPF_MEM, 1), "(000) ld       M[1]"],
  [stmt(BPF_LDX | BPF_MEM, 2), "(000) ldx      M[2]"],
  [stmt(BPF_ST, 3), "(000) st       M[3]"],
  [stmt(BPF_STX, 4), "(000) stx      M[4]"],
  [stmt(BPF_JMP | BPF_JA, 5), "(000) ja       6"],
  [jump(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 1, 7), "(000) jeq      #0x86dd          jt 2\tjf 8"],
  [jump(BPF_JMP | BPF_JGT | BPF_K, 0x5dc, 0, 1), "(000) jgt      #0x5dc           jt 1\tjf 2"],
  [jump(BPF_JMP | BPF_JGE | BPF_K, 0xe0, 0, 1), "(000) jge      #0xe0            jt 1\tjf 2"],
  [jump(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 3, 0), "(000) jset     #0x1fff          jt 4\tjf 1"],
  [jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1), "(000) jeq      x                jt 1\tjf 2"],
  [jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1), "(000) jgt      x                jt 1\tjf 2"],
  [jump(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1), "(000) jge      x                jt 1\tjf 2"],
  [jump(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1), "(000) jset     x                jt 1\tjf 2"],
  [stmt(BPF_ALU | BPF_ADD | BPF_K, 13), "(000) add      #13"],
  [stmt(BPF_ALU | BPF_SUB | BPF_K, 0xffffffff), "(000) sub      #-1"],
  [stmt(BPF_ALU | BPF_MUL | BPF_K, 2), "(000) mul      #2"],
  [stmt(BPF_ALU | BPF_DIV | BPF_K, 4), "(000) div      #4"],
  [stmt(BPF_ALU | BPF_MOD | BPF_K, 7), "(000) mod      #7"],
  [stmt(BPF_ALU | BPF_AND | BPF_K, 0xf0), "(000) and      #0xf0"],
  [stmt(BPF_ALU | BPF_OR | BPF_K, 0x3), "(000) or       #0x3"],
  [stmt(BPF_ALU | BPF_XOR | BPF_K, 0xff), "(000) xor      #0xff"],
  [stmt(BPF_ALU | BPF_LSH | BPF_K, 2), "(000) lsh      #2"],
  [stmt(BPF_ALU | BPF_RSH | BPF_K, 4), "(000) rsh      #4"],
  [stmt(BPF_ALU | BPF_ADD | BPF_X), "(000) add      x"],
  [stmt(BPF_ALU | BPF_SUB | BPF_X), "(000) sub      x"],
  [stmt(BPF_ALU | BPF_MUL | BPF_X), "(000) mul      x"],
  [stmt(BPF_ALU | BPF_DIV | BPF_X), "(000) div      x"],
  [stmt(BPF_ALU | BPF_MOD | BPF_X), "(000) mod      x"],
  [stmt(BPF_ALU | BPF_AND | BPF_X), "(000) and      x"],
  [stmt(BPF_ALU | BPF_OR | BPF_X), "(000) or       x"],
  [stmt(BPF_ALU | BPF_XOR | BPF_X), "(000) xor      x"],
  [stmt(BPF_ALU | BPF_LSH | BPF_X), "(000) lsh      x"],
  [stmt(BPF_ALU | BPF_RSH | BPF_X), "(000) rsh      x"],
  [stmt(BPF_ALU | BPF_NEG), "(000) neg      "],
  [stmt(BPF_MISC | BPF_TAX), "(000) tax      "],
  [stmt(BPF_MISC | BPF_TXA), "(000) txa      "],
  [stmt(BPF_RET | BPF_K, 262144), "(000) ret      #262144"],
  [stmt(BPF_RET | BPF_A), "(000) ret      "],
];

Deno.test("formatProgram() prints every opcode as libpcap's bpf_image() does", () => {
  for (const [insn, line] of EVERY_OPCODE) assert.equal(formatProgram([insn]), line);
  assert.equal(formatProgram([{ code: 0xff, jt: 0, jf: 0, k: 0 }]), "(000) unimp    0xff");
});

Deno.test("formatProgram() prints -dd as a C array and -ddd as decimal numbers", () => {
  const program = compileFilter("ip", 1);
  assert.equal(
    formatProgram(program, "c"),
    "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n" +
      "{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },",
  );
  assert.equal(
    formatProgram(program, "decimal"),
    "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0",
  );
});

Deno.test("compileFilter() gives tcp port 80 the program tcpdump -d prints", () => {
  assert.equal(
    formatProgram(compileFilter("tcp port 80", 1)),
    [
      "(000) ldh      [12]",
      "(001) jeq      #0x86dd          jt 2\tjf 8",
      "(002) ldb      [20]",
      "(003) jeq      #0x6             jt 4\tjf 19",
      "(004) ldh      [54]",
      "(005) jeq      #0x50            jt 18\tjf 6",
      "(006) ldh      [56]",
      "(007) jeq      #0x50            jt 18\tjf 19",
      "(008) jeq      #0x800           jt 9\tjf 19",
      "(009) ldb      [23]",
      "(010) jeq      #0x6             jt 11\tjf 19",
      "(011) ldh      [20]",
      "(012) jset     #0x1fff          jt 19\tjf 13",
      "(013) ldxb     4*([14]&0xf)",
      "(014) ldh      [x + 14]",
      "(015) jeq      #0x50            jt 18\tjf 16",
      "(016) ldh      [x + 16]",
      "(017) jeq      #0x50            jt 18\tjf 19",
      "(018) ret      #262144",
      "(019) ret      #0",
    ].join("\n"),
  );
});

/** Expressions for which snout's compiler writes the very program libpcap's does. */
const SAME_AS_LIBPCAP: [string, number][] = [
  ["ip", 1],
  ["tcp", 1],
  ["host 10.0.0.1", 1],
  ["host 10.0.0.1 or 10.0.0.2", 1],
  ["port 80 or 443 or 8080", 1],
  ["ip[9] - 1 = 0", 1],
  ["vlan 100 and ip", 1],
  ["icmp6[0] == 128", 1],
  ["tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", 1],
  ["tcp[13] & 2 != 0", 1],
  ["ip[6:2] & 0x1fff = 0", 1],
  ["len > 100 and less 500 and greater 64", 1],
  ["ether broadcast or ether multicast", 1],
  ["ip multicast or ip6 multicast", 1],
  ["portrange 1-1024", 1],
  ["src or dst port 53", 1],
  ["net 10.0.0.0/8 and not host 10.1.2.3", 1],
  ["ip6", 0],
  ["ip", 101],
  ["ether proto 6", 113],
  ["udp port 53", 276],
];

Deno.test({
  name: "formatProgram() prints what tcpdump -d, -dd and -ddd print for the same program",
  ignore: !haveProgram("tcpdump"),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const [expression, linkType] of SAME_AS_LIBPCAP) {
        const file = `${dir}/${linkType}.pcap`;
        await Deno.writeFile(file, pcapFileHeader(linkType, 262144, false));
        for (
          const [flag, style] of [["-d", "assembly"], ["-dd", "c"], ["-ddd", "decimal"]] as const
        ) {
          const tcpdump = await run("tcpdump", ["-r", file, flag, "--", expression]);
          assert.equal(tcpdump.code, 0, tcpdump.stderr);
          assert.equal(
            formatProgram(compileFilter(expression, linkType), style),
            tcpdump.stdout.trimEnd(),
            `${flag} ${expression} (link type ${linkType})`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compileFilter() accepts everything for an empty expression, as tcpdump", () => {
  assert.equal(formatProgram(compileFilter("", 1)), "(000) ret      #262144");
  assert.equal(formatProgram(compileFilter("  \n ", 276)), "(000) ret      #262144");
  assert.equal(formatProgram(compileFilter("1 = 1", 1)), "(000) ret      #262144");
});

Deno.test("compileFilter() lays out jumps beyond 255 instructions through ja", () => {
  const hosts = Array.from({ length: 120 }, (_, i) => `10.0.${i >> 8}.${i & 0xff}`);
  const program = compileFilter(`host ${hosts.join(" or ")}`, 1);
  verifyProgram(program);
  assert.ok(program.length > 256);
  assert.ok(program.some((insn) => insn.code === (BPF_JMP | BPF_JA)));
  const frame = new Uint8Array(34);
  frame.set([0x08, 0x00, 0x45], 12);
  frame.set([10, 0, 0, 119], 30);
  assert.ok(runFilter(program, frame) > 0);
  frame.set([10, 0, 0, 120], 30);
  assert.equal(runFilter(program, frame), 0);
});

// Errors.

/** Bad expressions and the message each gets (on Ethernet unless another link type is named). */
const BAD_EXPRESSIONS: [string, string, number?][] = [
  ["tcp or port", 'expected a port number after "port" at column 12'],
  ["port", 'expected a port number after "port" at column 5'],
  ["tcp dst port and 1", 'expected a port number after "port" at column 14'],
  ["host", 'expected a host address after "host" at column 5'],
  ["net and ip", 'expected a network after "net" at column 5'],
  ["src", 'expected a host, network or port after "src" at column 4'],
  ["portrange", 'expected a port range such as 1-1024 after "portrange" at column 10'],
  ["ip proto tcp", 'expected a protocol number or name after "proto" at column 10'],
  ["tcp and", "unexpected end of expression at column 8"],
  ["ip and &&", 'unexpected "&&" at column 8'],
  ["(tcp or udp", 'expected ")" at column 12'],
  ["tcp)", 'unmatched ")" at column 4'],
  ["tcp[13 & 2 = 2", 'expected "]" at column 12'],
  ["ip[0:3] = 1", 'expected a data size of 1, 2 or 4 after ":" at column 6'],
  ["ip[", "expected a number or a packet field such as ip[0] at column 4"],
  ["ip[0] 5", "expected a comparison (=, !=, <, <=, >, >=) at column 7"],
  ["less", 'expected a length after "less" at column 5'],
  ["net 10.0.0.0/", 'expected a mask length after "/" at column 14'],
  ["net 10.0.0.0 mask", 'expected a network mask after "mask" at column 18'],
  ["host 1.2.3.4 @", 'unexpected character "@" at column 14'],
  ["ip[0] = 99999999999", "number 99999999999 does not fit in 32 bits at column 9"],
  [
    "10.0.0.1",
    'unexpected "10.0.0.1": give a qualifier such as "host" or "port" before it at column 1',
  ],
  ["tcp or 80", 'unexpected "80": give a qualifier such as "host" or "port" before it at column 8'],
  ["mpls", '"mpls" is not supported at column 1'],
  ["host 1.2.3.4 mpls", 'unexpected "mpls" at column 14'],
  ["ether", '"ether" needs a qualifier after it, such as "host", "src" or "proto" at column 1'],
  ["vlan 5000", "VLAN id 5000 is above the largest, 4095 at column 1"],
  ["port 70000", "port number 70000 is above 65535 at column 6"],
  ["ip6 port 80", '"port" cannot follow "ip6": use tcp, udp or sctp at column 10'],
  ["tcp host 1.2.3.4", '"tcp" cannot qualify a host: use "tcp port" or "ip host" at column 10'],
  ["ip host fe80::1", '"ip" cannot qualify an IPv6 host at column 9'],
  ["ether host 10.0.0.1", '"ether" needs a MAC address, not 10.0.0.1 at column 12'],
  [
    "host aa:bb:cc:dd:ee:ff",
    'a MAC address needs "ether" before it: "ether host aa:bb:cc:dd:ee:ff" at column 6',
  ],
  ["port 10.0.0.1", '"port" applied to the IPv4 address 10.0.0.1 at column 6'],
  ["net 10.0.0.1/8", '"10.0.0.1/8" has bits set outside the mask at column 5'],
  ["net 10.0.0.0/33", "mask length 33 is above 32 at column 5"],
  ["host 10.0.0.0/8", 'a mask is for networks only: write "net 10.0.0.0/8" at column 6'],
  ["net fe80::1/10", '"fe80::1/10" has bits set outside the mask at column 5'],
  ["host 10.0.0.256", 'invalid IPv4 address "10.0.0.256" at column 6'],
  [
    "host foo",
    'unknown host "foo": snout does not look up host names, give an address at column 6',
  ],
  ["port nosuchservice", 'unknown port name "nosuchservice" at column 6'],
  ["udp port http", 'port "http" is a tcp port only at column 10'],
  ["ip proto \\nosuch", 'unknown IP protocol "nosuch" at column 10'],
  ["tcp proto 6", '"tcp proto" is not a test: tcp has no protocol field at column 11'],
  ["arp proto 6", "arp does not carry another protocol at column 11"],
  ["src proto 6", 'expected a host, network or port after "src" at column 5'],
  ["ip[0] / 0 = 1", "division by zero at column 7"],
  ["ip[0] % (2 - 2) = 1", "modulus by zero at column 7"],
  ["ip[0] << 32 = 0", "shift by more than 31 bits at column 7"],
  ["ah[0] = 1", '"ah[...]" is not supported: no offsets are known for ah at column 1'],
  ["ip6 and ip", "the expression rejects every packet of link type IPV4 (Raw IPv4)", 228],
  ["arp", "the expression rejects every packet of link type NULL (BSD loopback)", 0],
  [
    "ether host 1:2:3:4:5:6",
    "MAC addresses can be matched on Ethernet only, not Raw IP at column 12",
    101,
  ],
  ["vlan", '"vlan" needs Ethernet frames, not Linux cooked v2 at column 1', 276],
  ["broadcast", '"broadcast" needs Ethernet frames, not Linux cooked v1 at column 1', 113],
  ["ip", "link type LINKTYPE 105 is not supported", 105],
];

Deno.test("compileFilter() refuses each bad expression with its reason and column", () => {
  for (const [expression, message, linkType] of BAD_EXPRESSIONS) {
    assert.throws(
      () => compileFilter(expression, linkType ?? 1),
      (error: unknown) => {
        assert.ok(error instanceof FilterError, expression);
        assert.equal(error.message, `Cannot compile filter: ${message}`, expression);
        return true;
      },
    );
  }
});

Deno.test("compileFilter() refuses expressions nested too deep or too long, without crashing", () => {
  assert.throws(
    () => compileFilter("(".repeat(300) + "tcp" + ")".repeat(300), 1),
    /nested more than 200 deep at column 200$/,
  );
  assert.throws(() => compileFilter("not ".repeat(500) + "tcp", 1), /nested more than 200 deep/);
  assert.throws(() => compileFilter("-".repeat(500) + "1 = 1", 1), /nested more than 200 deep/);
  const long = Array.from({ length: 8000 }, (_, i) => `ip[${i % 50}] = ${i % 256}`).join(" or ");
  assert.throws(() => compileFilter(long, 1), /has 55999 tokens, more than the 50000/);
  // A long chain that fits is compiled without running out of stack.
  const chain = Array.from({ length: 3000 }, (_, i) => `ip[0] = ${i % 256}`).join(" or ");
  assert.ok(compileFilter(chain, 1).length < 300);
});

Deno.test("compileFilter() counts lines and columns of an expression of several lines", () => {
  assert.throws(
    () => compileFilter("udp\n  and port", 1),
    (error: unknown) =>
      error instanceof FilterError && error.line === 2 && error.column === 11 &&
      error.message.endsWith('after "port" at line 2 column 11'),
  );
});

// The kernel's program on a cooked socket.

Deno.test("kernelProgram() moves SLL2 loads onto the network packet and the ancillary fields", () => {
  const program = kernelProgram(compileFilter("ip and host 10.0.0.1", 276), 276, true)!;
  const text = formatProgram(program);
  assert.match(text, /^\(000\) ldh {6}\[proto\]$/m);
  assert.match(text, /ld {7}\[12\]/); // 20 + 12 in the file
  assert.doesNotMatch(text, /\[32\]/);
  const ifindex = kernelProgram(compileFilter("ether[4:4] = 2 and ether[10] = 4", 276), 276, true)!;
  assert.match(formatProgram(ifindex), /\[ifidx\][\s\S]*\[type\]/);
  for (const insn of program) {
    if (insn.code === (BPF_RET | BPF_K) && insn.k !== 0) assert.equal(insn.k, KERNEL_ACCEPT_LENGTH);
  }
});

Deno.test("kernelProgram() gives up on SLL2 header bytes the kernel does not have", () => {
  assert.equal(kernelProgram(compileFilter("ether[8:2] = 1", 276), 276, true), undefined);
  assert.equal(kernelProgram(compileFilter("ether[ether[0]] = 1", 276), 276, true), undefined);
  // A socket that is not cooked keeps its offsets.
  const raw = compileFilter("ether[8:2] = 1", 1);
  assert.deepEqual(kernelProgram(raw, 1, false), raw);
});

Deno.test("kernelProgram() keeps accepted packets whole: every non-zero ret becomes 262144", () => {
  const program = compileFilter("ip", 1, { snapLength: 96 });
  assert.equal(program.at(-2)?.k, 96);
  assert.equal(kernelProgram(program, 1, false)!.at(-2)?.k, KERNEL_ACCEPT_LENGTH);
  assert.equal(kernelProgram(program, 1, false)!.at(-1)?.k, 0);
});

// Filters over capture records.

/** A parser at a one-record BSD loopback capture written in either byte order. */
function nullRecord(littleEndian: boolean, family: number): CaptureParser {
  const PCAP_MAGIC = 0xa1b2c3d4;
  const bytes = new Uint8Array(24 + 16 + 24);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, PCAP_MAGIC, littleEndian);
  view.setUint16(4, 2, littleEndian);
  view.setUint16(6, 4, littleEndian);
  view.setUint32(16, 65535, littleEndian);
  view.setUint32(20, 0, littleEndian); // LINKTYPE_NULL
  view.setUint32(24 + 8, 24, littleEndian);
  view.setUint32(24 + 12, 24, littleEndian);
  view.setUint32(40, family, littleEndian);
  bytes[44] = 0x45;
  const parser = new CaptureParser();
  parser.push(bytes);
  assert.ok(parser.advance());
  assert.equal(parser.littleEndian, littleEndian);
  return parser;
}

Deno.test("RecordFilter reads a BSD loopback family in the file's own byte order", () => {
  const filter = new RecordFilter("ip");
  for (const littleEndian of [true, false]) {
    const ipv4 = nullRecord(littleEndian, 2);
    assert.ok(filter.matches(ipv4.cursor, ipv4.littleEndian), `little-endian ${littleEndian}`);
    const ipv6 = nullRecord(littleEndian, 24);
    assert.ok(!filter.matches(ipv6.cursor, ipv6.littleEndian), `little-endian ${littleEndian}`);
  }
});

Deno.test("RecordFilter compiles an expression once per link type and checks syntax at once", () => {
  assert.throws(() => new RecordFilter("tcp or"), /unexpected end of expression at column 7/);
  const filter = new RecordFilter("ip");
  assert.equal(filter.programFor(1), filter.programFor(1));
  assert.notEqual(filter.programFor(1), filter.programFor(276));
  assert.throws(() => new RecordFilter("ether host 1:2:3:4:5:6").programFor(101), /Ethernet only/);
  const program = compileFilter("ip", 1);
  assert.equal(new RecordFilter(program).programFor(276), program);
  assert.throws(() => new RecordFilter([stmt(BPF_JMP | BPF_JA, 5), retK(0)]), /jumps to 6/);
});
