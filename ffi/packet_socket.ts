/**
 * Capture sockets: AF_PACKET for link-layer capture on one interface or all of them, and
 * AF_INET raw sockets for the textbook layer-3 sniffer. Packets are read with `recvmsg` on a
 * non-blocking socket, with nanosecond kernel timestamps from SO_TIMESTAMPNS.
 *
 * @module
 */

import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
} from "../parsers/link_type.ts";
import {
  AF_INET,
  AF_PACKET,
  CMSGHDR,
  ETH_P_ALL,
  IOVEC,
  IPPROTO,
  MSG_TRUNC,
  MSGHDR,
  PACKET_ADD_MEMBERSHIP,
  PACKET_MR_PROMISC,
  PACKET_MREQ,
  PACKET_OUTGOING,
  PACKET_STATISTICS,
  SCM_TIMESTAMPNS,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_TIMESTAMPNS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCKADDR_LL,
  SOL_PACKET,
  SOL_SOCKET,
  TIMESPEC,
  TPACKET_STATS,
} from "./constants.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import { runFilterAt } from "../filter/interpret.ts";
import { kernelProgram } from "../filter/kernel_program.ts";
import { verifyProgram } from "../filter/verify.ts";
import { EACCES, EAGAIN, EINTR, EPERM, ErrnoError, lastErrno } from "./errno.ts";
import { interfaceIndex, listInterfaces, type NetworkInterface } from "./interfaces.ts";
import { libc } from "./libc.ts";
import { attachSocketFilter, detachSocketFilter } from "./socket_filter.ts";

/** Largest snapshot length, as libpcap's MAXIMUM_SNAPLEN. */
export const MAX_SNAP_LENGTH = 262144;
/** Default snapshot length. */
export const DEFAULT_SNAP_LENGTH = MAX_SNAP_LENGTH;

/** Length of the SLL2 header snout writes in front of packets captured on all interfaces. */
const SLL2_LENGTH = 20;
/** ARPHRD_ type of loopback interfaces. */
const ARPHRD_LOOPBACK = 772;
/** ARPHRD_ types whose frames carry an Ethernet header. */
const ARPHRD_ETHER = 1;
const CONTROL_LENGTH = 64;
const BITS_PER_BYTE = 8;

/** The layer-3 protocols a raw AF_INET socket can sniff. */
export type L3Protocol = keyof typeof IPPROTO;

/** How to open a capture socket. */
export interface PacketSocketOptions {
  /** Interface name; all interfaces when absent. */
  interface?: string;
  /** Put the interface in promiscuous mode (default true; only with an interface). */
  promiscuous?: boolean;
  /** Bytes kept of each packet, 1 to 262144 (default 262144). */
  snapLength?: number;
  /** Kernel receive buffer in bytes. */
  bufferSize?: number;
  /** Sniff IPv4 packets of one protocol from the IP header up, through an AF_INET raw socket. */
  l3?: L3Protocol;
  /**
   * A filter compiled for the frames this socket hands out (`compileFilter(expression,
   * socket.linkType)`), attached in the kernel once the socket is bound; see
   * {@linkcode PacketSocket.setFilter}.
   */
  filter?: BpfProgram;
}

/** Counters of a capture socket, accumulated over its life. */
export interface SocketStats {
  /** Packets the kernel passed to the socket (its filter accepted). */
  received: number;
  /** Packets the kernel dropped for want of buffer room. */
  dropped: number;
}

/** Receives one packet: the bytes are valid only during the call. */
export type PacketHandler = (
  data: Uint8Array,
  length: number,
  seconds: number,
  nanos: number,
  interfaceIndex: number,
) => void;

/** Thrown for a capture that cannot start for a reason the user can fix. */
export class CaptureSetupError extends Error {
  override name = "CaptureSetupError";
}

function htons(value: number): number {
  return ((value & 0xff) << BITS_PER_BYTE) | (value >> BITS_PER_BYTE);
}

function pointerValue(buffer: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

function knownInterfaces(): string {
  try {
    return listInterfaces().map((i) => i.name).join(", ");
  } catch {
    return "unknown";
  }
}

/** Explains a socket() failure, with what fixes a missing privilege. */
function socketError(errno: number): Error {
  const error = new ErrnoError("Cannot open packet socket", "socket", errno);
  if (errno === EPERM || errno === EACCES) {
    return new CaptureSetupError(
      `${error.message}: capturing needs root or CAP_NET_RAW; run it with sudo, or give a ` +
        "dedicated copy of deno the capability (setcap cap_net_raw+ep ./deno)",
      { cause: error },
    );
  }
  return error;
}

/**
 * A capture socket. `close()` is safe to call twice, and `[Symbol.dispose]` closes it.
 */
export class PacketSocket {
  /** The socket's file descriptor. */
  readonly fd: number;
  /** LINKTYPE_ of the frames it hands out. */
  readonly linkType: number;
  /** Snapshot length. */
  readonly snapLength: number;
  /** The interface it is bound to, or undefined for all. */
  readonly interface: NetworkInterface | undefined;
  #closed = false;
  #seconds = 0;
  #nanos = 0;
  #stats: SocketStats = { received: 0, dropped: 0 };
  readonly #cooked: boolean;
  readonly #dropOutgoing: (ifindex: number) => boolean;
  /** A filter the kernel cannot run (it reads SLL2 header bytes the kernel lacks). */
  #userFilter: BpfProgram | undefined;
  // Buffers the kernel writes into: held here for the socket's life.
  readonly #packet: Uint8Array;
  readonly #packetView: DataView;
  readonly #name = new Uint8Array(SOCKADDR_LL.size);
  readonly #nameView = new DataView(this.#name.buffer);
  readonly #control = new Uint8Array(CONTROL_LENGTH);
  readonly #controlView = new DataView(this.#control.buffer);
  readonly #iov = new Uint8Array(IOVEC.size);
  readonly #msg = new Uint8Array(MSGHDR.size);
  readonly #msgView = new DataView(this.#msg.buffer);
  readonly #statsBuffer = new Uint8Array(TPACKET_STATS.size);
  readonly #statsLength = new Uint8Array(4);

  private constructor(
    fd: number,
    linkType: number,
    snapLength: number,
    iface: NetworkInterface | undefined,
    cooked: boolean,
    loopbacks: ReadonlySet<number>,
  ) {
    this.fd = fd;
    this.linkType = linkType;
    this.snapLength = snapLength;
    this.interface = iface;
    this.#cooked = cooked;
    this.#dropOutgoing = (ifindex) => loopbacks.has(ifindex);
    const headroom = cooked ? SLL2_LENGTH : 0;
    this.#packet = new Uint8Array(headroom + snapLength);
    this.#packetView = new DataView(this.#packet.buffer);
    const iov = new DataView(this.#iov.buffer);
    iov.setBigUint64(IOVEC.base, pointerValue(this.#packet.subarray(headroom)), true);
    iov.setBigUint64(IOVEC.len, BigInt(snapLength), true);
    const msg = this.#msgView;
    msg.setBigUint64(MSGHDR.name, pointerValue(this.#name), true);
    msg.setBigUint64(MSGHDR.iov, pointerValue(this.#iov), true);
    msg.setBigUint64(MSGHDR.iovlen, 1n, true);
    msg.setBigUint64(MSGHDR.control, pointerValue(this.#control), true);
  }

  /**
   * Opens a capture socket as the options say.
   *
   * @throws {CaptureSetupError} For an unknown or down interface, or missing privileges.
   * @throws {ErrnoError} When the kernel refuses a call for another reason.
   *
   * @example Capture on lo (root, --allow-ffi)
   * ```ts ignore
   * import { PacketSocket } from "./packet_socket.ts";
   * using socket = PacketSocket.open({ interface: "lo" });
   * ```
   */
  static open(options: PacketSocketOptions = {}): PacketSocket {
    const snapLength = options.snapLength ?? DEFAULT_SNAP_LENGTH;
    const c = libc();
    let iface: NetworkInterface | undefined;
    if (options.interface !== undefined) {
      const index = interfaceIndex(options.interface);
      if (index === 0) {
        throw new CaptureSetupError(
          `No such interface: ${options.interface} (known: ${knownInterfaces()})`,
        );
      }
      iface = listInterfaces().find((i) => i.index === index);
      if (iface !== undefined && !iface.up) {
        throw new CaptureSetupError(
          `Interface ${options.interface} is down (bring it up with: ip link set ` +
            `${options.interface} up)`,
        );
      }
    }
    let fd: number;
    let linkType: number;
    let cooked = false;
    if (options.l3 !== undefined) {
      fd = c.socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO[options.l3]);
      if (fd < 0) throw socketError(lastErrno());
      linkType = LINKTYPE_IPV4;
    } else {
      cooked = iface === undefined;
      fd = c.socket(AF_PACKET, (cooked ? SOCK_DGRAM : SOCK_RAW) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) throw socketError(lastErrno());
      linkType = cooked ? LINKTYPE_LINUX_SLL2 : LINKTYPE_ETHERNET;
    }
    const loopbacks = new Set<number>();
    try {
      for (const i of iface === undefined ? listInterfaces() : [iface]) {
        if (i.loopback) loopbacks.add(i.index);
      }
      const socket = new PacketSocket(fd, linkType, snapLength, iface, cooked, loopbacks);
      socket.#setInt(SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");
      if (options.bufferSize !== undefined) socket.#setBuffer(options.bufferSize);
      if (options.l3 !== undefined) {
        if (iface !== undefined) socket.#bindToDevice(iface.name);
      } else {
        socket.#bind(iface?.index ?? 0);
        if (iface !== undefined && (options.promiscuous ?? true)) socket.#promiscuous(iface.index);
      }
      if (iface !== undefined && !iface.loopback && linkType === LINKTYPE_ETHERNET) {
        // Interfaces that are not Ethernet-like (tun, ...) deliver raw IP.
        const hatype = socket.#hardwareType();
        if (hatype !== ARPHRD_ETHER && hatype !== ARPHRD_LOOPBACK && hatype !== undefined) {
          (socket as { linkType: number }).linkType = LINKTYPE_RAW;
        }
      }
      if (options.filter !== undefined) socket.setFilter(options.filter);
      return socket;
    } catch (error) {
      c.close(fd);
      throw error;
    }
  }

  /**
   * Filters what the socket hands out with `program`, compiled for this socket's `linkType`.
   * The program runs in the kernel (attached as {@linkcode attachSocketFilter} attaches, so no
   * packet queued earlier gets through); on a socket capturing on every interface it is first
   * moved onto the packet the kernel sees, without the SLL2 header, and a program that reads
   * header bytes the kernel cannot provide runs in user space instead. Packets thrown away while
   * attaching are not counted as received.
   *
   * @throws {FilterError} For a program that fails verification.
   * @throws {ErrnoError} When the kernel refuses it.
   *
   * @example Keep only TCP on lo (root, --allow-ffi)
   * ```ts ignore
   * import { PacketSocket } from "./packet_socket.ts";
   * import { compileFilter } from "../filter/compile.ts";
   * using socket = PacketSocket.open({ interface: "lo" });
   * socket.setFilter(compileFilter("tcp", socket.linkType));
   * ```
   */
  setFilter(program: BpfProgram): void {
    verifyProgram(program);
    const inKernel = kernelProgram(program, this.linkType, this.#cooked);
    this.#userFilter = inKernel === undefined ? program : undefined;
    if (inKernel === undefined) {
      detachSocketFilter(this.fd);
      return;
    }
    const drained = attachSocketFilter(this.fd, inKernel);
    if (drained > 0 && this.linkType !== LINKTYPE_IPV4) {
      this.stats();
      this.#stats.received = Math.max(0, this.#stats.received - drained);
    }
  }

  #setInt(level: number, name: number, value: number, label: string): void {
    const buffer = new Uint8Array(4);
    new DataView(buffer.buffer).setInt32(0, value, true);
    if (libc().setsockopt(this.fd, level, name, buffer, buffer.length) < 0) {
      throw new ErrnoError(`Cannot set ${label}`, "setsockopt", lastErrno());
    }
  }

  #setBuffer(bytes: number): void {
    const buffer = new Uint8Array(4);
    new DataView(buffer.buffer).setInt32(0, bytes, true);
    if (libc().setsockopt(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, buffer, 4) < 0) {
      this.#setInt(SOL_SOCKET, SO_RCVBUF, bytes, "the receive buffer size");
    }
  }

  #bind(ifindex: number): void {
    const address = new Uint8Array(SOCKADDR_LL.size);
    const view = new DataView(address.buffer);
    view.setUint16(SOCKADDR_LL.family, AF_PACKET, true);
    view.setUint16(SOCKADDR_LL.protocol, htons(ETH_P_ALL), true);
    view.setInt32(SOCKADDR_LL.ifindex, ifindex, true);
    if (libc().bind(this.fd, address, address.length) < 0) {
      throw new ErrnoError("Cannot bind packet socket", "bind", lastErrno());
    }
  }

  #bindToDevice(name: string): void {
    const SO_BINDTODEVICE = 25;
    const bytes = new TextEncoder().encode(name + "\0");
    if (libc().setsockopt(this.fd, SOL_SOCKET, SO_BINDTODEVICE, bytes, bytes.length) < 0) {
      throw new ErrnoError(`Cannot bind to ${name}`, "setsockopt", lastErrno());
    }
  }

  #promiscuous(ifindex: number): void {
    const mreq = new Uint8Array(PACKET_MREQ.size);
    const view = new DataView(mreq.buffer);
    view.setInt32(PACKET_MREQ.ifindex, ifindex, true);
    view.setUint16(PACKET_MREQ.type, PACKET_MR_PROMISC, true);
    if (libc().setsockopt(this.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, mreq.length) < 0) {
      throw new ErrnoError("Cannot enter promiscuous mode", "setsockopt", lastErrno());
    }
  }

  /** The ARPHRD_ type of the bound interface, from the socket's own address. */
  #hardwareType(): number | undefined {
    const address = new Uint8Array(SOCKADDR_LL.size);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, address.length, true);
    if (libc().getsockname(this.fd, address, length) < 0) return undefined;
    return new DataView(address.buffer).getUint16(SOCKADDR_LL.hatype, true);
  }

  /**
   * Receives every packet queued on the socket, up to `max`, calling `onPacket` for each; stops
   * at EAGAIN. Returns how many packets it handed out and whether the queue was found empty.
   * EINTR is retried.
   */
  drain(onPacket: PacketHandler, max: number): { count: number; empty: boolean } {
    const c = libc();
    const fd = this.fd;
    const msg = this.#msg;
    const msgView = this.#msgView;
    const packet = this.#packet;
    const headroom = this.#cooked ? SLL2_LENGTH : 0;
    let count = 0;
    while (count < max) {
      msgView.setUint32(MSGHDR.namelen, SOCKADDR_LL.size, true);
      msgView.setUint32(MSGHDR.controllen, CONTROL_LENGTH, true);
      msgView.setUint32(MSGHDR.controllen + 4, 0, true);
      const result = c.recvmsg(fd, msg, MSG_TRUNC);
      if (result < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) return { count, empty: true };
        if (errno === EINTR) continue;
        throw new ErrnoError("Cannot receive a packet", "recvmsg", errno);
      }
      const name = this.#nameView;
      const ifindex = this.linkType === LINKTYPE_IPV4
        ? 0
        : name.getInt32(SOCKADDR_LL.ifindex, true);
      if (
        this.linkType !== LINKTYPE_IPV4 && name.getUint8(SOCKADDR_LL.pkttype) === PACKET_OUTGOING &&
        this.#dropOutgoing(ifindex)
      ) {
        continue; // lo shows every packet twice, outgoing and incoming: keep one, as libpcap does
      }
      const captured = Math.min(result, this.snapLength);
      if (headroom > 0) this.#writeSll2(ifindex);
      if (
        this.#userFilter !== undefined &&
        runFilterAt(
            this.#userFilter,
            this.#packetView,
            0,
            headroom + captured,
            headroom + result,
          ) ===
          0
      ) {
        continue;
      }
      this.#readTimestamp();
      onPacket(
        packet.subarray(0, headroom + captured),
        headroom + result,
        this.#seconds,
        this.#nanos,
        ifindex,
      );
      count++;
    }
    return { count, empty: false };
  }

  /** Fills the SLL2 header in front of a cooked packet from the sockaddr_ll the kernel gave. */
  #writeSll2(ifindex: number): void {
    const header = new DataView(this.#packet.buffer, 0, SLL2_LENGTH);
    const name = this.#nameView;
    header.setUint16(0, htons(name.getUint16(SOCKADDR_LL.protocol, true)));
    header.setUint16(2, 0);
    header.setUint32(4, ifindex);
    header.setUint16(8, name.getUint16(SOCKADDR_LL.hatype, true));
    header.setUint8(10, name.getUint8(SOCKADDR_LL.pkttype));
    const halen = Math.min(name.getUint8(SOCKADDR_LL.halen), 8);
    header.setUint8(11, halen);
    for (let i = 0; i < 8; i++) {
      header.setUint8(12 + i, i < halen ? name.getUint8(SOCKADDR_LL.addr + i) : 0);
    }
  }

  /** Sets #seconds and #nanos from the last packet's SCM_TIMESTAMPNS, or the current time. */
  #readTimestamp(): void {
    const controlLength = this.#msgView.getUint32(MSGHDR.controllen, true);
    const control = this.#controlView;
    let offset = 0;
    while (offset + CMSGHDR.size <= controlLength) {
      const length = Number(control.getBigUint64(offset + CMSGHDR.len, true));
      if (length < CMSGHDR.size) break;
      if (
        control.getInt32(offset + CMSGHDR.level, true) === SOL_SOCKET &&
        control.getInt32(offset + CMSGHDR.type, true) === SCM_TIMESTAMPNS &&
        offset + CMSGHDR.data + TIMESPEC.size <= controlLength
      ) {
        const data = offset + CMSGHDR.data;
        // time_t seconds fit in 32 bits until 2106 read unsigned; tv_nsec is below 1e9.
        this.#seconds = control.getUint32(data + TIMESPEC.sec, true) +
          control.getInt32(data + TIMESPEC.sec + 4, true) * 2 ** 32;
        this.#nanos = control.getUint32(data + TIMESPEC.nsec, true);
        return;
      }
      offset += (length + 7) & ~7;
    }
    const now = Date.now();
    this.#seconds = Math.floor(now / 1000);
    this.#nanos = (now % 1000) * 1_000_000;
  }

  /**
   * The kernel's counters, accumulated: the kernel resets them on each read.
   *
   * @example Read the counters
   * ```ts ignore
   * import { PacketSocket } from "./packet_socket.ts";
   * using socket = PacketSocket.open({ interface: "lo" });
   * console.log(socket.stats());
   * ```
   */
  stats(): SocketStats {
    if (this.#closed || this.linkType === LINKTYPE_IPV4) return { ...this.#stats };
    const length = new DataView(this.#statsLength.buffer);
    length.setUint32(0, TPACKET_STATS.size, true);
    if (
      libc().getsockopt(
        this.fd,
        SOL_PACKET,
        PACKET_STATISTICS,
        this.#statsBuffer,
        this.#statsLength,
      ) ===
        0
    ) {
      const view = new DataView(this.#statsBuffer.buffer);
      this.#stats.received += view.getUint32(TPACKET_STATS.packets, true);
      this.#stats.dropped += view.getUint32(TPACKET_STATS.drops, true);
    }
    return { ...this.#stats };
  }

  /** Closes the socket (after a last read of its counters); a second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.stats();
    this.#closed = true;
    libc().close(this.fd);
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }
}
