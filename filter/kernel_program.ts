/**
 * A program as the kernel should run it on a capture socket, done the way libpcap's pcap-linux.c
 * does it (`fix_program()`, `fix_offset()`):
 *
 * - A packet socket opened SOCK_DGRAM ("cooked", snout's capture on every interface) hands its
 *   filter the network-layer packet, without the SLL2 header snout writes in front of it in user
 *   space. Loads from the payload move back by the header's length; loads of the header's
 *   protocol, interface index and packet type fields become the kernel's ancillary loads; a
 *   program that reads any other header byte (or a header byte at X + k) cannot run in the
 *   kernel and is filtered in user space instead. `len` stays the kernel's length, the packet's without the header, as with
 *   libpcap on `-i any`.
 * - An accepted packet is kept whole: a non-zero `ret #k` becomes the largest snapshot length, so
 *   that the kernel never trims a packet (which would lose its length on the wire); the socket's
 *   own buffer does the trimming.
 *
 * @module
 */

import {
  BPF_ABS,
  BPF_CLASS_MASK,
  BPF_IND,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MODE_MASK,
  BPF_MSH,
  BPF_RET,
  type BpfInstruction,
  type BpfProgram,
  SKF_AD_IFINDEX,
  SKF_AD_OFF,
  SKF_AD_PKTTYPE,
  SKF_AD_PROTOCOL,
} from "./bpf.ts";
import { LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 } from "../parsers/link_type.ts";

/** What an accepted packet's `ret` becomes: libpcap's MAXIMUM_SNAPLEN. */
export const KERNEL_ACCEPT_LENGTH = 262144;

/** The SLL2 header: 20 bytes; protocol at 0, interface index at 4, packet type at 10. */
const SLL2 = { length: 20, protocol: 0, ifindex: 4, pkttype: 10 } as const;
/** The SLL header: 16 bytes; packet type at 0, protocol at 14. */
const SLL = { length: 16, pkttype: 0, protocol: 14 } as const;

/**
 * A packet load's offset on a cooked socket: moved back by the header, an ancillary offset for a
 * header field the kernel knows, or undefined for a header byte it does not.
 */
function cookedOffset(k: number, linkType: number, absolute: boolean): number | undefined {
  if (k >= (SKF_AD_OFF >>> 0)) return k; // already ancillary
  const length = linkType === LINKTYPE_LINUX_SLL2 ? SLL2.length : SLL.length;
  // X + k for k inside the header cannot be mapped: libpcap would map k = 0 to an ancillary
  // load, which the kernel does not do for indirect loads.
  if (!absolute) return k >= length ? k - length : undefined;
  const ancillary = (field: number) => (SKF_AD_OFF + field) >>> 0;
  if (linkType === LINKTYPE_LINUX_SLL2) {
    if (k >= SLL2.length) return k - SLL2.length;
    if (k === SLL2.protocol) return ancillary(SKF_AD_PROTOCOL);
    if (k === SLL2.ifindex) return ancillary(SKF_AD_IFINDEX);
    if (k === SLL2.pkttype) return ancillary(SKF_AD_PKTTYPE);
    return undefined;
  }
  if (k >= SLL.length) return k - SLL.length;
  if (k === SLL.pkttype) return ancillary(SKF_AD_PKTTYPE);
  if (k === SLL.protocol) return ancillary(SKF_AD_PROTOCOL);
  return undefined;
}

function isPacketLoad(insn: BpfInstruction): boolean {
  const cls = insn.code & BPF_CLASS_MASK;
  const mode = insn.code & BPF_MODE_MASK;
  return (cls === BPF_LD && (mode === BPF_ABS || mode === BPF_IND)) ||
    (cls === BPF_LDX && mode === BPF_MSH);
}

/**
 * The program to attach to a socket whose frames have link type `linkType`, `cooked` when the
 * socket is SOCK_DGRAM and the frames' SLL or SLL2 header is made in user space. Returns
 * undefined when the program reads a header byte the kernel cannot provide: filter in user space.
 *
 * @example An SLL2 filter for IPv4, on a cooked socket
 * ```ts
 * import { kernelProgram } from "./kernel_program.ts";
 * import { compileFilter } from "./compile.ts";
 * import { formatProgram } from "./dump.ts";
 * import assert from "node:assert/strict";
 * const program = kernelProgram(compileFilter("ip", 276), 276, true)!;
 * assert.equal(formatProgram(program).split("\n")[0], "(000) ldh      [proto]");
 * ```
 */
export function kernelProgram(
  program: BpfProgram,
  linkType: number,
  cooked: boolean,
): BpfProgram | undefined {
  const fixed: BpfInstruction[] = [];
  for (const insn of program) {
    if (insn.code === (BPF_RET | BPF_K) && insn.k !== 0) {
      fixed.push({ ...insn, k: KERNEL_ACCEPT_LENGTH });
    } else if (
      cooked && isPacketLoad(insn) &&
      (linkType === LINKTYPE_LINUX_SLL2 || linkType === LINKTYPE_LINUX_SLL)
    ) {
      const absolute = (insn.code & BPF_MODE_MASK) === BPF_ABS;
      const k = cookedOffset(insn.k, linkType, absolute);
      if (k === undefined) return undefined;
      fixed.push({ ...insn, k });
    } else {
      fixed.push(insn);
    }
  }
  return fixed;
}
