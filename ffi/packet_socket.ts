/**
 * Capture sockets: AF_PACKET for link-layer capture on one interface or all of them, and
 * AF_INET raw sockets for the textbook layer-3 sniffer. Packet sockets read a TPACKET_V3
 * receive ring in place where the kernel sets one up; otherwise packets are read with
 * `recvmsg` on a non-blocking socket, with nanosecond kernel timestamps from SO_TIMESTAMPNS.
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
  MAX_SNAP_LENGTH,
  MSG_TRUNC,
  MSGHDR,
  PACKET_ADD_MEMBERSHIP,
  PACKET_FANOUT,
  PACKET_FANOUT_FLAG_DEFRAG,
  PACKET_FANOUT_HASH,
  PACKET_MR_PROMISC,
  PACKET_MREQ,
  PACKET_OUTGOING,
  PACKET_STATISTICS,
  SCM_TIMESTAMPNS,
  SO_BINDTODEVICE,
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
import { EAGAIN, EINTR, ErrnoError, lastErrno, socketOpenError } from "./errno.ts";
import { interfaceIndex, listInterfaces, type NetworkInterface } from "./interfaces.ts";
import type { FrameBatch } from "./frame_batch.ts";
import type { PcapRecordBatch } from "./pcap_records.ts";
import { libc } from "./libc.ts";
import { bufferAddress, setAddress } from "./pointer.ts";
import { setSocketInt } from "./sockopt.ts";
import {
  DEFAULT_BLOCK_TIMEOUT_MS,
  DEFAULT_RING_BYTES,
  PacketRing,
  type RingGeometry,
  SLL2_LENGTH,
  writeSll2,
} from "./packet_ring.ts";
import { attachSocketFilter, detachSocketFilter } from "./socket_filter.ts";

/** Default snapshot length. */
export const DEFAULT_SNAP_LENGTH = MAX_SNAP_LENGTH;

/** ARPHRD_ type of loopback interfaces. */
const ARPHRD_LOOPBACK = 772;
/** ARPHRD_ types whose frames carry an Ethernet header. */
const ARPHRD_ETHER = 1;
const CONTROL_LENGTH = 64;
const BITS_PER_BYTE = 8;
/** Bytes the recv path reads into before handing out a batch (at least two whole packets). */
const RECV_BATCH_BYTES = 1024 * 1024;
/** Frames in the recv path's buffer start at multiples of this. */
const RECV_ALIGNMENT = 8;
/** Largest fanout group id. */
export const MAX_FANOUT_GROUP = 0xffff;

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
   * Read packet sockets through a TPACKET_V3 receive ring (default true). When the kernel
   * refuses the ring, the socket falls back to recvmsg and says why in `ringError`.
   */
  ring?: boolean;
  /**
   * Join PACKET_FANOUT group `group` (0 to 65535), which shares the packets among the sockets
   * in it by a hash of their flow: every packet of a flow reaches the same socket.
   */
  fanout?: number;
  /**
   * A filter for the frames this socket hands out, or what compiles one for the socket's link
   * type (`(linkType) => compileFilter(expression, linkType)`). It is attached before the socket
   * starts to receive, so nothing gets past it; see {@linkcode PacketSocket.setFilter}.
   */
  filter?: BpfProgram | ((linkType: number) => BpfProgram);
}

/** Counters of a capture socket, accumulated over its life. */
export interface SocketStats {
  /** Packets the kernel passed to the socket (its filter accepted). */
  received: number;
  /** Packets the kernel dropped for want of buffer room. */
  dropped: number;
}

/** Thrown for a capture that cannot start for a reason the user can fix. */
export class CaptureSetupError extends Error {
  override name = "CaptureSetupError";
}

function htons(value: number): number {
  return ((value & 0xff) << BITS_PER_BYTE) | (value >> BITS_PER_BYTE);
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
  return socketOpenError(errno, "packet socket", "capturing", CaptureSetupError);
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
  /** The receive ring's shape, or undefined where packets are read with recvmsg. */
  readonly ring: RingGeometry | undefined;
  /** Why a ring was asked for but not set up, or undefined. */
  readonly ringError: string | undefined;
  #closed = false;
  #seconds = 0;
  #nanos = 0;
  #stats: SocketStats = { received: 0, dropped: 0 };
  readonly #ring: PacketRing | undefined;
  readonly #cooked: boolean;
  readonly #loopbacks: ReadonlySet<number>;
  // Buffers the kernel writes into: held here for the socket's life.
  readonly #buffer: Uint8Array;
  readonly #bufferView: DataView;
  readonly #bufferAddress: number;
  /** A filter the kernel cannot run (it reads SLL2 header bytes the kernel lacks). */
  #userFilter: BpfProgram | undefined;
  /** Whether packets may already have been taken in (a filter then needs more care). */
  #receiving = false;
  /** The filter attached with {@linkcode PacketSocket.setFilter}, or undefined. */
  filter: BpfProgram | undefined;
  readonly #name = new Uint8Array(SOCKADDR_LL.size);
  readonly #nameView = new DataView(this.#name.buffer);
  readonly #control = new Uint8Array(CONTROL_LENGTH);
  readonly #controlView = new DataView(this.#control.buffer);
  readonly #iov = new Uint8Array(IOVEC.size);
  readonly #iovView = new DataView(this.#iov.buffer);
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
    ring: PacketRing | undefined,
    ringError: string | undefined,
  ) {
    this.fd = fd;
    this.linkType = linkType;
    this.snapLength = snapLength;
    this.interface = iface;
    this.#cooked = cooked;
    this.#loopbacks = loopbacks;
    this.#ring = ring;
    this.ring = ring?.geometry;
    this.ringError = ringError;
    const packetRoom = SLL2_LENGTH + snapLength + RECV_ALIGNMENT;
    this.#buffer = new Uint8Array(
      ring === undefined ? Math.max(RECV_BATCH_BYTES, 2 * packetRoom) : 0,
    );
    this.#bufferView = new DataView(this.#buffer.buffer);
    this.#bufferAddress = Number(bufferAddress(this.#buffer));
    this.#iovView.setBigUint64(IOVEC.len, BigInt(snapLength), true);
    const msg = this.#msgView;
    msg.setBigUint64(MSGHDR.name, bufferAddress(this.#name), true);
    msg.setBigUint64(MSGHDR.iov, bufferAddress(this.#iov), true);
    msg.setBigUint64(MSGHDR.iovlen, 1n, true);
    msg.setBigUint64(MSGHDR.control, bufferAddress(this.#control), true);
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
    let ring: PacketRing | undefined;
    try {
      for (const i of iface === undefined ? listInterfaces() : [iface]) {
        if (i.loopback) loopbacks.add(i.index);
      }
      let ringError: string | undefined;
      if (options.l3 === undefined && (options.ring ?? true)) {
        // Before bind: until then the socket takes no packets, so none queue outside the ring.
        try {
          ring = PacketRing.setUp(fd, {
            ringBytes: options.bufferSize ?? DEFAULT_RING_BYTES,
            snapLength,
            cooked,
            ethernet: !cooked,
            loopbacks,
            blockTimeoutMs: DEFAULT_BLOCK_TIMEOUT_MS,
          });
        } catch (error) {
          if (!(error instanceof ErrnoError)) throw error;
          ringError = error.message;
        }
      }
      const socket = new PacketSocket(
        fd,
        linkType,
        snapLength,
        iface,
        cooked,
        loopbacks,
        ring,
        ringError,
      );
      if (ring === undefined) {
        setSocketInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");
        if (options.bufferSize !== undefined) socket.#setBuffer(options.bufferSize);
      }
      if (options.l3 !== undefined) {
        if (iface !== undefined) socket.#bindToDevice(iface.name);
        // An AF_INET raw socket receives from the start: setFilter reads its queue away.
        socket.#receiving = true;
      } else {
        // Bound with protocol 0 the socket takes in nothing yet: the link type is learned and
        // the filter attached before the rebind to every protocol starts the flow.
        socket.#bind(iface?.index ?? 0, 0);
      }
      if (iface !== undefined && !iface.loopback && linkType === LINKTYPE_ETHERNET) {
        // Interfaces that are not Ethernet-like (tun, ...) deliver raw IP.
        const hatype = socket.#hardwareType();
        if (hatype !== ARPHRD_ETHER && hatype !== ARPHRD_LOOPBACK && hatype !== undefined) {
          (socket as { linkType: number }).linkType = LINKTYPE_RAW;
        }
      }
      const filter = options.filter;
      if (filter !== undefined) {
        socket.setFilter(typeof filter === "function" ? filter(socket.linkType) : filter);
      }
      if (options.l3 === undefined) {
        socket.#bind(iface?.index ?? 0, ETH_P_ALL);
        socket.#receiving = true;
        if (iface !== undefined && (options.promiscuous ?? true)) socket.#promiscuous(iface.index);
        if (options.fanout !== undefined) socket.#joinFanout(options.fanout);
      }
      return socket;
    } catch (error) {
      ring?.close();
      c.close(fd);
      throw error;
    }
  }

  /**
   * Filters what the socket hands out with `program`, compiled for this socket's `linkType`.
   * The program runs in the kernel; on a socket capturing on every interface it is first moved
   * onto the packet the kernel sees, without the SLL2 header, and a program that reads header
   * bytes the kernel cannot provide runs in user space instead. No packet that was already
   * taken in gets through unfiltered: before the socket receives (a filter given to `open`), it
   * is simply attached; on a ring, frames already in it are filtered in user space; on a
   * recvmsg socket a reject-all filter goes on first and the queue is read away, as
   * {@linkcode attachSocketFilter} does (those packets are not counted as received).
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
    this.filter = program;
    const inKernel = kernelProgram(program, this.linkType, this.#cooked);
    this.#userFilter = inKernel === undefined ? program : undefined;
    if (inKernel === undefined) {
      detachSocketFilter(this.fd);
      this.#ring?.setUserFilter(program, undefined);
      return;
    }
    if (!this.#receiving) {
      attachSocketFilter(this.fd, inKernel, false);
      return;
    }
    if (this.#ring !== undefined) {
      attachSocketFilter(this.fd, inKernel, false);
      // Frames the kernel put in the ring before now may have missed the filter.
      const now = Date.now();
      this.#ring.setUserFilter(program, {
        seconds: Math.floor(now / 1000) + 1,
        nanos: 0,
      });
      return;
    }
    const drained = attachSocketFilter(this.fd, inKernel, true);
    if (drained > 0 && this.linkType !== LINKTYPE_IPV4) {
      this.stats();
      this.#stats.received = Math.max(0, this.#stats.received - drained);
    }
  }

  #setBuffer(bytes: number): void {
    const buffer = new Uint8Array(4);
    new DataView(buffer.buffer).setInt32(0, bytes, true);
    if (libc().setsockopt(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, buffer, 4) < 0) {
      setSocketInt(this.fd, SOL_SOCKET, SO_RCVBUF, bytes, "the receive buffer size");
    }
  }

  /** Binds to interface `ifindex` (0: all) and EtherType `protocol` (0: none yet). */
  #bind(ifindex: number, protocol: number): void {
    const address = new Uint8Array(SOCKADDR_LL.size);
    const view = new DataView(address.buffer);
    view.setUint16(SOCKADDR_LL.family, AF_PACKET, true);
    view.setUint16(SOCKADDR_LL.protocol, htons(protocol), true);
    view.setInt32(SOCKADDR_LL.ifindex, ifindex, true);
    if (libc().bind(this.fd, address, address.length) < 0) {
      throw new ErrnoError("Cannot bind packet socket", "bind", lastErrno());
    }
  }

  #bindToDevice(name: string): void {
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

  #joinFanout(group: number): void {
    const mode = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
    setSocketInt(
      this.fd,
      SOL_PACKET,
      PACKET_FANOUT,
      (group & MAX_FANOUT_GROUP) | mode,
      "PACKET_FANOUT",
    );
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
   * Fills `batch` with up to `max` packets the socket holds and returns how many: 0 when it
   * holds none (the ring has no block ready, or recvmsg met EAGAIN), so the caller can wait for
   * the next wake-up. From the ring, the batch points into the ring's memory and is valid until
   * the next read or `close()`; from recvmsg, into a buffer the next read reuses. EINTR is
   * retried.
   */
  read(batch: FrameBatch, max: number): number {
    if (this.#ring !== undefined) return this.#ring.read(batch, max);
    const c = libc();
    const fd = this.fd;
    const msg = this.#msg;
    const msgView = this.#msgView;
    const iov = this.#iovView;
    const name = this.#nameView;
    const buffer = this.#buffer;
    const headroom = this.#cooked ? SLL2_LENGTH : 0;
    const room = headroom + this.snapLength;
    const packetSocket = this.linkType !== LINKTYPE_IPV4;
    batch.reset(buffer, this.#bufferView);
    let used = 0;
    while (batch.count < max && used + room <= buffer.length) {
      const address = this.#bufferAddress + used + headroom;
      setAddress(iov, IOVEC.base, address);
      msgView.setUint32(MSGHDR.namelen, SOCKADDR_LL.size, true);
      msgView.setUint32(MSGHDR.controllen, CONTROL_LENGTH, true);
      msgView.setUint32(MSGHDR.controllen + 4, 0, true);
      const result = c.recvmsg(fd, msg, MSG_TRUNC);
      if (result < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) break;
        if (errno === EINTR) continue;
        throw new ErrnoError("Cannot receive a packet", "recvmsg", errno);
      }
      const ifindex = packetSocket ? name.getInt32(SOCKADDR_LL.ifindex, true) : 0;
      if (
        packetSocket && name.getUint8(SOCKADDR_LL.pkttype) === PACKET_OUTGOING &&
        this.#loopbacks.has(ifindex)
      ) {
        continue; // lo shows every packet twice, outgoing and incoming: keep one, as libpcap does
      }
      const captured = Math.min(result, this.snapLength);
      if (headroom > 0) writeSll2(this.#bufferView, used, name, 0, ifindex);
      if (
        this.#userFilter !== undefined &&
        runFilterAt(
            this.#userFilter,
            this.#bufferView,
            used,
            headroom + captured,
            headroom + result,
          ) ===
          0
      ) {
        continue;
      }
      this.#readTimestamp();
      batch.push(used, headroom + captured, headroom + result, this.#seconds, this.#nanos, ifindex);
      used += (headroom + captured + RECV_ALIGNMENT - 1) & -RECV_ALIGNMENT;
    }
    return batch.count;
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
   * The `-w` fast path (receive ring only): fills `records` with up to `max` pcap records laid
   * out in place in the ring. Returns how many, 0 when no block is ready.
   *
   * @throws {Error} When the socket reads with recvmsg, which has no ring to write from.
   */
  readRecords(records: PcapRecordBatch, max: number): number {
    if (this.#ring === undefined) {
      throw new Error("Cannot read pcap records: the socket has no ring");
    }
    return this.#ring.readRecords(records, max);
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

  /**
   * Closes the socket (after a last read of its counters) and unmaps its ring; a second call
   * does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.stats();
    this.#closed = true;
    this.#ring?.close();
    libc().close(this.fd);
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }
}
