/**
 * Sending packets through the kernel, the raw-socket way: whole IPv4 datagrams through an
 * AF_INET / SOCK_RAW / IPPROTO_RAW socket with IP_HDRINCL (the kernel keeps the header, filling
 * only a zero id, a zero source address and the header checksum, and the total length), IPv6
 * packets through AF_INET6 / SOCK_RAW / IPPROTO_RAW (the header is the caller's, as is), and
 * frames with their link-layer header through an AF_PACKET / SOCK_RAW socket on one interface.
 * The sockets are send-only: none of them receives a packet.
 *
 * @module
 */

import {
  buildPacket,
  encodePacket,
  type LayerSpec,
  linkTypeOf,
  type PacketSpec,
} from "../parsers/build.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_RAW,
  linkTypeName,
} from "../parsers/link_type.ts";
import type { Layer } from "../parsers/types.ts";
import { IPV4_ADDRESS_LENGTH, IPV6_ADDRESS_LENGTH, MAC_LENGTH } from "../parsers/address.ts";
import { ETHERNET_HEADER_LENGTH } from "../parsers/ethernet.ts";
import { IPV4_MIN_HEADER_LENGTH, IPV4_OFFSET_DST } from "../parsers/ipv4.ts";
import { IPV6_HEADER_LENGTH, IPV6_OFFSET_DST } from "../parsers/ipv6.ts";
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  IP_HDRINCL,
  IPPROTO_RAW,
  SO_BINDTODEVICE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  SOCKADDR_LL,
  SOL_IP,
  SOL_SOCKET,
} from "./constants.ts";
import { EMSGSIZE, ErrnoError, lastErrno, socketOpenError } from "./errno.ts";
import { interfaceIndex, listInterfaces, type NetworkInterface } from "./interfaces.ts";
import { libc, LibcUnavailableError } from "./libc.ts";

/** Where to send. */
export interface SendOptions {
  /**
   * The interface to send on. Frames with a link-layer header (Ethernet) need one: they are sent
   * as they are, through AF_PACKET. IP packets go by the routing table to their destination, out
   * of this interface when one is given (SO_BINDTODEVICE).
   */
  interface?: string;
}

/** Packets and bytes a sender has sent. */
export interface SendStats {
  packets: number;
  bytes: number;
}

/**
 * Thrown for a send that cannot start for a reason the user can fix: no interface for an Ethernet
 * frame, an unknown or down interface, a link type that cannot be sent, no privilege.
 *
 * @example Report it in one line
 * ```ts
 * import { SendSetupError } from "./send_socket.ts";
 * import assert from "node:assert/strict";
 * const error = new SendSetupError("No such interface: veth9 (known: lo, veth0)");
 * assert.equal(error.name, "SendSetupError");
 * ```
 */
export class SendSetupError extends Error {
  override name = "SendSetupError";
}

/** Where a frame's EtherType is, after the two MAC addresses. */
const ETHERTYPE_OFFSET = 2 * MAC_LENGTH;
const VERSION_SHIFT = 4;
const INT_LENGTH = 4;

/** Explains a socket() failure, with what fixes a missing privilege. */
function socketError(errno: number): Error {
  return socketOpenError(errno, "raw socket", "sending", SendSetupError);
}

/** libc, or an error that says sending (not capturing) needs --allow-ffi. */
function openLibc(): ReturnType<typeof libc> {
  try {
    return libc();
  } catch (error) {
    if (error instanceof LibcUnavailableError && error.message.includes("--allow-ffi")) {
      throw new LibcUnavailableError(
        "Sending needs FFI access to libc: run with --allow-ffi " +
          "(sudo deno run --allow-ffi --allow-read cli.ts send ...)",
        { cause: error },
      );
    }
    throw error;
  }
}

/** The interface called `name`, up, or an error naming the ones there are. */
function findInterface(name: string): NetworkInterface {
  const index = interfaceIndex(name);
  const all = listInterfaces();
  const found = all.find((i) => i.index === index);
  if (index === 0 || found === undefined) {
    throw new SendSetupError(
      `No such interface: ${name} (known: ${all.map((i) => i.name).join(", ")})`,
    );
  }
  if (!found.up) {
    throw new SendSetupError(
      `Interface ${name} is down (bring it up with: ip link set ${name} up)`,
    );
  }
  return found;
}

/**
 * Sends built packets: Ethernet frames through AF_PACKET on the interface, IPv4 and IPv6 packets
 * through raw sockets to their destination. Each socket is opened on its first packet. `close()`
 * is safe to call twice, and `[Symbol.dispose]` closes.
 *
 * @example Send a SYN to 10.0.0.2 (root, --allow-ffi)
 * ```ts ignore
 * import { buildPacket } from "../parsers/build.ts";
 * import { PacketSender } from "./send_socket.ts";
 * using sender = PacketSender.open();
 * sender.send(buildPacket([
 *   { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
 *   { type: "tcp", srcPort: 40000, dstPort: 80 },
 * ]), 101);
 * ```
 */
export class PacketSender {
  /** The interface given, or undefined. */
  readonly interface: NetworkInterface | undefined;
  #packetFd = -1;
  #ipv4Fd = -1;
  #ipv6Fd = -1;
  #closed = false;
  #stats: SendStats = { packets: 0, bytes: 0 };
  // The addresses sendto() reads, held here so that they outlive every call.
  readonly #linkAddress = new Uint8Array(SOCKADDR_LL.size);
  readonly #ipv4Address = new Uint8Array(SOCKADDR_IN.size);
  readonly #ipv6Address = new Uint8Array(SOCKADDR_IN6.size);

  private constructor(iface: NetworkInterface | undefined) {
    this.interface = iface;
    const link = new DataView(this.#linkAddress.buffer);
    link.setUint16(SOCKADDR_LL.family, AF_PACKET, true);
    link.setInt32(SOCKADDR_LL.ifindex, iface?.index ?? 0, true);
    link.setUint8(SOCKADDR_LL.halen, MAC_LENGTH);
    new DataView(this.#ipv4Address.buffer).setUint16(SOCKADDR_IN.family, AF_INET, true);
    const v6 = new DataView(this.#ipv6Address.buffer);
    v6.setUint16(SOCKADDR_IN6.family, AF_INET6, true);
    // A link-local destination needs its interface; any other ignores the scope.
    v6.setUint32(SOCKADDR_IN6.scopeId, iface?.index ?? 0, true);
  }

  /**
   * Makes a sender. Nothing is opened yet but libc, and the interface is looked up.
   *
   * @throws {LibcUnavailableError} Without `--allow-ffi`.
   * @throws {SendSetupError} For an unknown or down interface.
   *
   * @example Send on vethA (root, --allow-ffi)
   * ```ts ignore
   * import { PacketSender } from "./send_socket.ts";
   * using sender = PacketSender.open({ interface: "vethA" });
   * ```
   */
  static open(options: SendOptions = {}): PacketSender {
    openLibc();
    const iface = options.interface === undefined ? undefined : findInterface(options.interface);
    return new PacketSender(iface);
  }

  /** Packets and bytes sent so far. */
  stats(): SendStats {
    return { ...this.#stats };
  }

  /**
   * Sends one packet of `linkType`: LINKTYPE_ETHERNET frames on the interface, raw IP packets
   * (LINKTYPE_RAW, IPV4, IPV6) to the destination in their header.
   *
   * @throws {SendSetupError} For a frame that needs an interface and has none, a link type that
   *   cannot be sent, or a missing privilege.
   * @throws {ErrnoError} When the kernel refuses the packet ("Cannot send packet: EMSGSIZE ...").
   */
  send(packet: Uint8Array, linkType: number): void {
    if (this.#closed) throw new Error("Cannot send packet: the sender is closed");
    if (linkType === LINKTYPE_ETHERNET) this.#sendFrame(packet);
    else if (
      linkType === LINKTYPE_RAW || linkType === LINKTYPE_IPV4 || linkType === LINKTYPE_IPV6
    ) {
      const version = packet.length > 0 ? packet[0]! >> VERSION_SHIFT : 0;
      if (version === 4) this.#sendIpv4(packet);
      else if (version === 6) this.#sendIpv6(packet);
      else throw new SendSetupError(`Cannot send packet: IP version ${version} is neither 4 nor 6`);
    } else {
      throw new SendSetupError(
        `Cannot send a ${linkTypeName(linkType)} frame: send starts at an Ethernet header ` +
          "(with an interface) or at an IPv4 or IPv6 header",
      );
    }
    this.#stats.packets++;
    this.#stats.bytes += packet.length;
  }

  #sendFrame(frame: Uint8Array): void {
    if (this.interface === undefined) {
      throw new SendSetupError(
        "Cannot send an Ethernet frame without an interface: give the one to send it on",
      );
    }
    if (frame.length < ETHERNET_HEADER_LENGTH) {
      throw new SendSetupError(
        `Cannot send packet: a ${frame.length}-byte frame has no Ethernet header`,
      );
    }
    if (this.#packetFd < 0) this.#packetFd = this.#socket(AF_PACKET, 0);
    // sll_protocol is in network order: copy the frame's EtherType bytes as they are.
    this.#linkAddress.set(
      frame.subarray(ETHERTYPE_OFFSET, ETHERTYPE_OFFSET + 2),
      SOCKADDR_LL.protocol,
    );
    this.#linkAddress.set(frame.subarray(0, MAC_LENGTH), SOCKADDR_LL.addr);
    this.#sendto(this.#packetFd, frame, this.#linkAddress);
  }

  #sendIpv4(packet: Uint8Array): void {
    if (packet.length < IPV4_MIN_HEADER_LENGTH) {
      throw new SendSetupError(`Cannot send packet: ${packet.length} bytes are no IPv4 header`);
    }
    if (this.#ipv4Fd < 0) {
      this.#ipv4Fd = this.#socket(AF_INET, IPPROTO_RAW);
      this.#setInt(this.#ipv4Fd, SOL_IP, IP_HDRINCL, 1, "IP_HDRINCL");
    }
    this.#ipv4Address.set(
      packet.subarray(IPV4_OFFSET_DST, IPV4_OFFSET_DST + IPV4_ADDRESS_LENGTH),
      SOCKADDR_IN.addr,
    );
    this.#sendto(this.#ipv4Fd, packet, this.#ipv4Address);
  }

  #sendIpv6(packet: Uint8Array): void {
    if (packet.length < IPV6_HEADER_LENGTH) {
      throw new SendSetupError(`Cannot send packet: ${packet.length} bytes are no IPv6 header`);
    }
    // IPPROTO_RAW implies IPV6_HDRINCL: the kernel sends the header as it is.
    if (this.#ipv6Fd < 0) this.#ipv6Fd = this.#socket(AF_INET6, IPPROTO_RAW);
    this.#ipv6Address.set(
      packet.subarray(IPV6_OFFSET_DST, IPV6_OFFSET_DST + IPV6_ADDRESS_LENGTH),
      SOCKADDR_IN6.addr,
    );
    this.#sendto(this.#ipv6Fd, packet, this.#ipv6Address);
  }

  #socket(family: number, protocol: number): number {
    const c = libc();
    const fd = c.socket(family, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw socketError(lastErrno());
    if (this.interface !== undefined && family !== AF_PACKET) {
      const name = new TextEncoder().encode(this.interface.name + "\0");
      if (c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) < 0) {
        const errno = lastErrno();
        c.close(fd);
        throw new ErrnoError(`Cannot send through ${this.interface.name}`, "setsockopt", errno);
      }
    }
    return fd;
  }

  #setInt(fd: number, level: number, name: number, value: number, what: string): void {
    const bytes = new Uint8Array(INT_LENGTH);
    new DataView(bytes.buffer).setInt32(0, value, true);
    if (libc().setsockopt(fd, level, name, bytes, bytes.length) < 0) {
      throw new ErrnoError(`Cannot set ${what}`, "setsockopt", lastErrno());
    }
  }

  #sendto(fd: number, packet: Uint8Array, address: Uint8Array): void {
    const sent = libc().sendto(fd, packet, packet.length, 0, address, address.length);
    if (sent >= 0) return;
    const errno = lastErrno();
    const error = new ErrnoError("Cannot send packet", "sendto", errno);
    if (errno === EMSGSIZE) {
      error.message += `: the ${packet.length}-byte packet is larger than the interface's MTU ` +
        "(split IPv4 datagrams into fragments: --mtu in the CLI, fragmentIpv4() in the library)";
    }
    throw error;
  }

  /** Closes the sockets. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of [this.#packetFd, this.#ipv4Fd, this.#ipv6Fd]) {
      if (fd >= 0) libc().close(fd);
    }
    this.#packetFd = this.#ipv4Fd = this.#ipv6Fd = -1;
  }

  /** Closes the sockets. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Builds one packet and sends it: from a record (a {@linkcode PacketSpec}, the `--json` shape
 * with a `payload`) or from its layers. Ethernet frames go out of `options.interface`; packets
 * that start at IPv4 or IPv6 go to their destination. Returns the bytes sent.
 *
 * @throws {BuildError} For a record that cannot be built (the same errors as `buildPacket()`).
 * @throws {SendSetupError} For a missing or unknown interface, or a missing privilege.
 * @throws {ErrnoError} When the kernel refuses the packet.
 *
 * @example Ping 10.77.1.2 from inside a namespace (root, --allow-ffi)
 * ```ts ignore
 * import { send } from "./send_socket.ts";
 * send([
 *   { type: "ipv4", src: "10.77.1.1", dst: "10.77.1.2" },
 *   { type: "icmp", messageType: 8, id: 1, seq: 1 },
 * ]);
 * ```
 */
export function send(
  packet: PacketSpec | readonly (Layer | LayerSpec)[],
  options: SendOptions = {},
): Uint8Array {
  const layers = Array.isArray(packet) ? packet : (packet as PacketSpec).layers;
  const bytes = Array.isArray(packet) ? buildPacket(packet) : encodePacket(packet as PacketSpec);
  using sender = PacketSender.open(options);
  sender.send(bytes, linkTypeOf(layers));
  return bytes;
}
