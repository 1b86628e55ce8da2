/**
 * Attaching a classic BPF program to a socket (SO_ATTACH_FILTER) without the race libpcap
 * documents in pcap-linux.c: packets queued before the filter was attached would still be read
 * afterwards. So a filter that rejects everything goes on first, what was already queued is read
 * and thrown away (non-blocking `recv` until EAGAIN), and then the real program replaces it.
 *
 * @module
 */

import { BPF_K, BPF_RET, type BpfProgram } from "../filter/bpf.ts";
import { verifyProgram } from "../filter/verify.ts";
import {
  MSG_DONTWAIT,
  MSG_TRUNC,
  SO_ATTACH_FILTER,
  SO_DETACH_FILTER,
  SOCK_FILTER,
  SOCK_FPROG,
  SOL_SOCKET,
} from "./constants.ts";
import { EAGAIN, EINTR, ENOENT, ErrnoError, lastErrno } from "./errno.ts";
import { libc } from "./libc.ts";
import { bufferAddress } from "./pointer.ts";

/** A program that rejects every packet: `ret #0`. */
const REJECT_ALL: BpfProgram = [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 }];

/** A sock_fprog and the instructions it points to, kept together for as long as a call runs. */
interface FilterMemory {
  readonly fprog: Uint8Array;
  readonly instructions: Uint8Array;
}

/** Lays a program out as the kernel's struct sock_filter array and struct sock_fprog. */
function filterMemory(program: BpfProgram): FilterMemory {
  const instructions = new Uint8Array(program.length * SOCK_FILTER.size);
  const view = new DataView(instructions.buffer);
  program.forEach((insn, i) => {
    const at = i * SOCK_FILTER.size;
    view.setUint16(at + SOCK_FILTER.code, insn.code, true);
    view.setUint8(at + SOCK_FILTER.jt, insn.jt);
    view.setUint8(at + SOCK_FILTER.jf, insn.jf);
    view.setUint32(at + SOCK_FILTER.k, insn.k, true);
  });
  const fprog = new Uint8Array(SOCK_FPROG.size);
  const fprogView = new DataView(fprog.buffer);
  fprogView.setUint16(SOCK_FPROG.len, program.length, true);
  fprogView.setBigUint64(SOCK_FPROG.filter, bufferAddress(instructions), true);
  return { fprog, instructions };
}

/**
 * SO_ATTACH_FILTER with the program in `memory`. `memory` holds both the sock_fprog and the
 * instructions it points to, so neither can be collected while the kernel copies them.
 */
function setFilter(fd: number, memory: FilterMemory, what: string): void {
  if (libc().setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, memory.fprog, SOCK_FPROG.size) < 0) {
    throw new ErrnoError(`Cannot attach ${what}`, "setsockopt", lastErrno());
  }
}

/** Reads and throws away every packet queued on `fd`; returns how many there were. */
function drainQueue(fd: number): number {
  const c = libc();
  const scratch = new Uint8Array(1);
  let drained = 0;
  for (;;) {
    if (c.recv(fd, scratch, scratch.length, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
      drained++;
      continue;
    }
    const errno = lastErrno();
    if (errno === EAGAIN) return drained;
    if (errno === EINTR) continue;
    throw new ErrnoError("Cannot drain the socket before attaching the filter", "recv", errno);
  }
}

/**
 * Attaches `program` to the socket `fd` in the kernel. With `drain` (a socket that may already
 * hold packets), first a filter that rejects everything, then what was queued before is read
 * away, then the program; without it (a socket not yet receiving), just the program. From then
 * on the socket queues only packets the program accepts. The program is verified first.
 * Returns how many queued packets were thrown away.
 *
 * @throws {FilterError} For a program that fails verification.
 * @throws {ErrnoError} When the kernel refuses the program or the socket cannot be read.
 *
 * @example Keep only IPv4 on a packet socket (root, --allow-ffi)
 * ```ts ignore
 * import { attachSocketFilter } from "./socket_filter.ts";
 * import { compileFilter } from "../filter/compile.ts";
 * import { PacketSocket } from "./packet_socket.ts";
 * using socket = PacketSocket.open({ interface: "lo" });
 * attachSocketFilter(socket.fd, compileFilter("ip", socket.linkType), true);
 * ```
 */
export function attachSocketFilter(fd: number, program: BpfProgram, drain: boolean): number {
  verifyProgram(program);
  const memory = filterMemory(program);
  let drained = 0;
  if (drain) {
    setFilter(fd, filterMemory(REJECT_ALL), "the reject-all filter");
    drained = drainQueue(fd);
  }
  setFilter(fd, memory, "the capture filter");
  return drained;
}

/**
 * Removes the socket's filter, if it has one: from then on it queues every packet.
 *
 * @throws {ErrnoError} When the kernel refuses for another reason than there being no filter.
 *
 * @example Remove a filter (root, --allow-ffi)
 * ```ts ignore
 * import { detachSocketFilter } from "./socket_filter.ts";
 * import { PacketSocket } from "./packet_socket.ts";
 * using socket = PacketSocket.open({ interface: "lo" });
 * detachSocketFilter(socket.fd);
 * ```
 */
export function detachSocketFilter(fd: number): void {
  const unused = new Uint8Array(4);
  if (libc().setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, unused, unused.length) < 0) {
    const errno = lastErrno();
    if (errno !== ENOENT) {
      throw new ErrnoError("Cannot detach the capture filter", "setsockopt", errno);
    }
  }
}
