/**
 * Network interfaces: names, indexes and flags, as `tcpdump -D` lists them.
 *
 * @module
 */

import {
  AF_INET,
  IF_NAMEINDEX,
  IFF_LOOPBACK,
  IFF_RUNNING,
  IFF_UP,
  IFNAMSIZ,
  IFREQ,
  SIOCGIFFLAGS,
  SOCK_CLOEXEC,
} from "./constants.ts";
import { check } from "./errno.ts";
import { libc } from "./libc.ts";

const SOCK_DGRAM_FOR_IOCTL = 2;
const encoder = new TextEncoder();

/** One network interface. */
export interface NetworkInterface {
  /** Kernel interface index. */
  index: number;
  /** Interface name, e.g. `lo`. */
  name: string;
  /** Administratively up. */
  up: boolean;
  /** Running (has carrier). */
  running: boolean;
  /** A loopback interface. */
  loopback: boolean;
}

function cString(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = encoder.encodeInto(text, bytes);
  return bytes.subarray(0, written + 1);
}

function interfaceFlags(fd: number, name: string): number {
  const ifreq = new Uint8Array(IFREQ.size);
  const nameBytes = encoder.encode(name).subarray(0, IFNAMSIZ - 1);
  ifreq.set(nameBytes, IFREQ.name);
  if (libc().ioctl(fd, BigInt(SIOCGIFFLAGS), ifreq) < 0) return 0;
  return new DataView(ifreq.buffer).getUint16(IFREQ.flags, true);
}

/**
 * Lists the interfaces of this network namespace, in index order.
 *
 * @example List interfaces (needs --allow-ffi)
 * ```ts ignore
 * import { listInterfaces } from "./interfaces.ts";
 * for (const i of listInterfaces()) console.log(i.index, i.name, i.up ? "up" : "down");
 * ```
 */
export function listInterfaces(): NetworkInterface[] {
  const c = libc();
  const list = c.if_nameindex();
  if (list === null) check(-1, "Cannot list network interfaces", "if_nameindex");
  const found: NetworkInterface[] = [];
  const fd = c.socket(AF_INET, SOCK_DGRAM_FOR_IOCTL | SOCK_CLOEXEC, 0);
  try {
    const view = new Deno.UnsafePointerView(list!);
    for (let offset = 0;; offset += IF_NAMEINDEX.size) {
      const index = view.getUint32(offset + IF_NAMEINDEX.index);
      if (index === 0) break;
      const namePointer = view.getPointer(offset + IF_NAMEINDEX.name);
      if (namePointer === null) continue;
      const name = Deno.UnsafePointerView.getCString(namePointer);
      const flags = fd >= 0 ? interfaceFlags(fd, name) : 0;
      found.push({
        index,
        name,
        up: (flags & IFF_UP) !== 0,
        running: (flags & IFF_RUNNING) !== 0,
        loopback: (flags & IFF_LOOPBACK) !== 0,
      });
    }
  } finally {
    c.if_freenameindex(list);
    if (fd >= 0) c.close(fd);
  }
  return found.sort((a, b) => a.index - b.index);
}

/**
 * The index of the interface called `name`, or 0 when there is none.
 *
 * @example Look up lo (needs --allow-ffi)
 * ```ts ignore
 * import { interfaceIndex } from "./interfaces.ts";
 * console.log(interfaceIndex("lo")); // 1
 * ```
 */
export function interfaceIndex(name: string): number {
  if (name.length === 0 || name.length >= IFNAMSIZ) return 0;
  return libc().if_nametoindex(cString(name));
}
