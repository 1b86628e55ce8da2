/**
 * The least a Deno program can do of `snout -w /dev/null`'s work, for bench/live.py's "deno floor"
 * row: it shows what capturing costs in Deno before any of snout's own code (flags, library,
 * checks) runs. One file, one `Deno.dlopen`, a TPACKET_V3 ring read in place, and each block's
 * frames written as nanosecond pcap records with `writev`, as snout does.
 *
 * Not a sniffer: it keeps no loopback duplicates apart, restores no VLAN tags, applies no
 * snapshot length or filter, and checks little. Use it on a veth of a namespace you made.
 *
 * Usage (as root): deno run --allow-ffi bench/deno_floor.ts -i IFACE [-B KIB] > /dev/null
 * It writes the pcap to standard output, prints "listening on IFACE" on stderr once capturing and,
 * after SIGINT, tcpdump's closing counters.
 *
 * @module
 */

import {
  AF_PACKET,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_EVENT,
  EPOLLET,
  EPOLLIN,
  ETH_P_ALL,
  IOVEC,
  MAP_SHARED,
  MAX_SNAP_LENGTH,
  PACKET_RX_RING,
  PACKET_STATISTICS,
  PACKET_VERSION,
  PROT_READ_WRITE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCKADDR_LL,
  SOL_PACKET,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TPACKET3_HDR,
  TPACKET_BLOCK_DESC,
  TPACKET_REQ3,
  TPACKET_STATS,
  TPACKET_V3,
} from "../ffi/constants.ts";
import { LINKTYPE_ETHERNET } from "../parsers/link_type.ts";
import { pcapFileHeader } from "../parsers/pcap_write.ts";

const c = Deno.dlopen(
  "libc.so.6",
  {
    /** int socket(int domain, int type, int protocol) */
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    /** int setsockopt(int fd, int level, int name, const void *value, socklen_t length) */
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    /** int getsockopt(int fd, int level, int name, void *value, socklen_t *length) */
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
    /** int bind(int fd, const struct sockaddr *address, socklen_t length) */
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    /** void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) */
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
    /** unsigned if_nametoindex(const char *name) */
    if_nametoindex: { parameters: ["buffer"], result: "u32" },
    /** int epoll_create1(int flags) */
    epoll_create1: { parameters: ["i32"], result: "i32" },
    /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) */
    epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
    /** int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout), here */
    epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
    /** The same epoll_wait on another thread, awaited while no block is ready. */
    epoll_wait_off_thread: {
      name: "epoll_wait",
      parameters: ["i32", "buffer", "i32", "i32"],
      result: "i32",
      nonblocking: true,
    },
    /** ssize_t writev(int fd, const struct iovec *iov, int count): totals below 2 GiB */
    writev: { parameters: ["i32", "buffer", "i32"], result: "i32" },
    /** ssize_t write(int fd, const void *bytes, size_t count): the file header only */
    write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  } as const satisfies Deno.ForeignLibraryInterface,
).symbols;

// The ring and the batches are snout's defaults (ffi/packet_ring.ts, ffi/pcap_records.ts), written
// out here: importing them would load snout's capture modules, which this script leaves out.
const BLOCK_BYTES = 1024 * 1024;
const FRAME_BYTES = 2048;
const BLOCK_TIMEOUT_MS = 50;
const DEFAULT_RING_KIB = 32768;
const PCAP_RECORD_LENGTH = 16;
const IOV_MAX = 1024;
const IDLE_WAIT_MS = 100;
const STDOUT_FD = 1;

function fail(what: string): never {
  console.error(`deno_floor: ${what}`);
  Deno.exit(1);
}

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at < 0 ? undefined : Deno.args[at + 1];
}

const iface = flag("-i") ?? fail("give -i IFACE");
const ringBytes = Number(flag("-B") ?? DEFAULT_RING_KIB) * 1024;
const blockCount = Math.max(3, Math.floor(ringBytes / BLOCK_BYTES));

const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
if (fd < 0) fail("Cannot open packet socket (root?)");
if (c.setsockopt(fd, SOL_PACKET, PACKET_VERSION, new Uint8Array([TPACKET_V3, 0, 0, 0]), 4) < 0) {
  fail("Cannot set TPACKET_V3");
}
const request = new DataView(new ArrayBuffer(TPACKET_REQ3.size));
request.setUint32(TPACKET_REQ3.blockSize, BLOCK_BYTES, true);
request.setUint32(TPACKET_REQ3.blockNumber, blockCount, true);
request.setUint32(TPACKET_REQ3.frameSize, FRAME_BYTES, true);
request.setUint32(TPACKET_REQ3.frameNumber, (BLOCK_BYTES / FRAME_BYTES) * blockCount, true);
request.setUint32(TPACKET_REQ3.retireTimeout, BLOCK_TIMEOUT_MS, true);
const requestBytes = new Uint8Array(request.buffer);
if (c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, requestBytes, TPACKET_REQ3.size) < 0) {
  fail("Cannot set up the ring");
}
const length = BLOCK_BYTES * blockCount;
const pointer = c.mmap(null, BigInt(length), PROT_READ_WRITE, MAP_SHARED, fd, 0n);
if (pointer === null) fail("Cannot map the ring");
const ring = Deno.UnsafePointerView.getArrayBuffer(pointer, length);
const view = new DataView(ring);
const words = new Uint32Array(ring);
const address = BigInt(Deno.UnsafePointer.value(pointer));
const low = Number(address & 0xffff_ffffn);
const high = Number(address >> 32n);

const index = c.if_nametoindex(new TextEncoder().encode(`${iface}\0`));
if (index === 0) fail(`No such interface: ${iface}`);
const name = new DataView(new ArrayBuffer(SOCKADDR_LL.size));
name.setUint16(SOCKADDR_LL.family, AF_PACKET, true);
name.setUint16(SOCKADDR_LL.protocol, ETH_P_ALL << 8, true); // htons
name.setInt32(SOCKADDR_LL.ifindex, index, true);
if (c.bind(fd, new Uint8Array(name.buffer), SOCKADDR_LL.size) < 0) fail("Cannot bind");

const epfd = c.epoll_create1(EPOLL_CLOEXEC);
const events = new Uint8Array(EPOLL_EVENT.size);
const event = new DataView(events.buffer);
event.setUint32(EPOLL_EVENT.events, (EPOLLIN | EPOLLET) >>> 0, true);
event.setInt32(EPOLL_EVENT.data, fd, true);
if (c.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, events) < 0) fail("Cannot watch the socket");

const header = pcapFileHeader(LINKTYPE_ETHERNET, MAX_SNAP_LENGTH, true);
c.write(STDOUT_FD, header, header.length);
const iov = new Uint8Array(IOV_MAX * IOVEC.size);
const iovWords = new Uint32Array(iov.buffer);
let next = 0;
let captured = 0;
let stopping = false;

/** Writes every block the kernel has handed over, gives it back, and says how many frames. */
function drain(): number {
  let frames = 0;
  for (;;) {
    const block = next * BLOCK_BYTES;
    if ((words[(block + TPACKET_BLOCK_DESC.status) >>> 2]! & TP_STATUS_USER) === 0) return frames;
    const inBlock = words[(block + TPACKET_BLOCK_DESC.packets) >>> 2]!;
    const blockEnd = block + BLOCK_BYTES;
    let cursor = block + words[(block + TPACKET_BLOCK_DESC.firstPacket) >>> 2]!;
    let count = 0;
    for (let left = inBlock; left > 0; left--) {
      const at = cursor >>> 2;
      const bytes = words[at + TPACKET3_HDR.snaplen / 4]!;
      const record = cursor + view.getUint16(cursor + TPACKET3_HDR.mac, true) - PCAP_RECORD_LENGTH;
      view.setUint32(record, words[at + TPACKET3_HDR.sec / 4]!, true);
      view.setUint32(record + 4, words[at + TPACKET3_HDR.nsec / 4]!, true);
      view.setUint32(record + 8, bytes, true);
      view.setUint32(record + 12, words[at + TPACKET3_HDR.len / 4]!, true);
      const word = count * 4;
      const start = low + record;
      iovWords[word] = start;
      iovWords[word + 1] = start > 0xffff_ffff ? high + 1 : high;
      iovWords[word + 2] = PCAP_RECORD_LENGTH + bytes;
      iovWords[word + 3] = 0;
      if (++count === IOV_MAX) {
        c.writev(STDOUT_FD, iov, count);
        count = 0;
      }
      const offset = words[at + TPACKET3_HDR.nextOffset / 4]!;
      cursor = offset === 0 ? blockEnd : cursor + offset;
    }
    if (count > 0) c.writev(STDOUT_FD, iov, count);
    words[(block + TPACKET_BLOCK_DESC.status) >>> 2] = TP_STATUS_KERNEL;
    next = (next + 1) % blockCount;
    frames += inBlock;
  }
}

Deno.addSignalListener("SIGINT", () => {
  stopping = true;
});
console.error(`listening on ${iface}`);
while (!stopping) {
  captured += drain();
  if (c.epoll_wait(epfd, events, 1, 0) > 0) continue;
  await c.epoll_wait_off_thread(epfd, events, 1, IDLE_WAIT_MS);
}
captured += drain();
const stats = new Uint8Array(TPACKET_STATS.size);
const statsLength = new Uint32Array([TPACKET_STATS.size]);
c.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, stats, new Uint8Array(statsLength.buffer));
const dropped = new DataView(stats.buffer).getUint32(TPACKET_STATS.drops, true);
console.error(`${captured} packets captured`);
console.error(`${dropped} packets dropped by kernel`);
Deno.exit(0);
