/**
 * Live capture end to end: the CLI and the library capturing real traffic in network namespaces
 * these tests create (never on the host's own interfaces), and the error paths a user meets.
 *
 * Most tests need root; they are skipped with a message otherwise. Every process they start is
 * killed by PID after a timeout, and every namespace is deleted in a `finally`.
 */

import assert from "node:assert/strict";
import { capture, type CaptureOptions } from "../ffi/capture.ts";
import { readRecords } from "../io/read_records.ts";
import { haveProgram, nobodyCanRunCli, ROOT, run } from "./helpers.ts";
import {
  leftoverNamespaces,
  type Namespace,
  namespace,
  type NamespacePair,
  namespacePair,
  runningProcesses,
} from "./netns.ts";

/** Whether this process is root: Deno.uid() where --allow-sys permits it, else `id -u`. */
function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    // `deno task test` grants no --allow-sys; it does grant --allow-run.
    const id = new Deno.Command("id", { args: ["-u"], stdout: "piped", stderr: "null" });
    return new TextDecoder().decode(id.outputSync().stdout).trim() === "0";
  }
}

const IS_ROOT = isRoot();
const HAVE_TOOLS = ["ip", "python3", "ping", "tcpdump", "sysctl", "ps"].every(haveProgram);
/** Tests that build namespaces and capture: root, and the tools they drive. */
const NEEDS_ROOT = !IS_ROOT || !HAVE_TOOLS;
if (!IS_ROOT) {
  console.log("live_test.ts: not root, so the live capture tests are skipped (run as root)");
} else if (!HAVE_TOOLS) {
  console.log("live_test.ts: ip, python3, ping, tcpdump, sysctl or ps missing: live tests skipped");
}

const DENO = Deno.execPath();
const CLI = `${ROOT}cli.ts`;
const LIVE_PERMISSIONS = ["--allow-ffi", "--allow-read", "--allow-write", "--allow-env"];
/** A capture that has not finished after this long is killed by PID. */
const CAPTURE_TIMEOUT_MS = 20_000;
/** The EtherType of the hand-made raw frame (IEEE local experimental). */
const EXPERIMENTAL_ETHERTYPE = 0x88b5;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_LINUX_SLL2 = 276;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const TCP_SYN = 0x002;
const TCP_RST_ACK = 0x014;
const ICMP_ECHO_REPLY = 0;
const ICMP_UNREACHABLE = 3;
const ICMP_PORT_UNREACHABLE = 3;
const ICMP_ECHO_REQUEST = 8;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const UDP_HEADER = 8;
const IPV4_HEADER = 20;

/** A layer of an NDJSON record, loosely typed: the tests check fields by name. */
type JsonLayer = { type: string } & Record<string, unknown>;

/** One `--json` record. */
interface JsonPacket {
  frame: {
    number: number;
    time: string;
    length: number;
    captured: number;
    linkType: number;
    interface?: number;
  };
  layers: JsonLayer[];
  truncated: boolean;
  error?: unknown;
}

function parseRecords(stdout: string): JsonPacket[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** The layer types of a record, joined by "/": "ethernet/ipv4/udp". */
function stack(packet: JsonPacket): string {
  return packet.layers.map((layer) => layer.type).join("/");
}

/** The first layer of `type` in a record; fails the test if there is none. */
function layer(packet: JsonPacket, type: string): JsonLayer {
  const found = packet.layers.find((l) => l.type === type);
  assert.ok(found, `frame ${packet.frame.number} has no ${type} layer: ${stack(packet)}`);
  return found;
}

/** Asserts that `actual` has each of `expected`'s fields with its value. */
function assertFields(actual: Record<string, unknown>, expected: Record<string, unknown>): void {
  const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, actual[key]]));
  assert.deepEqual(picked, expected);
}

/** One line on stderr starting "snout: ", with no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^snout: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/);
}

/** The "N packets captured" count from the CLI's exit statistics. */
function capturedCount(stderr: string): number {
  const match = stderr.match(/^(\d+) packets captured$/m);
  assert.ok(match, `no "packets captured" line in: ${stderr}`);
  return Number(match[1]);
}

/** Starts `cli.ts ARGS` in `ns` and waits until it says it is listening. */
async function startCli(ns: Namespace, args: string[]) {
  const cli = ns.spawn(DENO, ["run", "-q", ...LIVE_PERMISSIONS, CLI, ...args], {
    timeoutMs: CAPTURE_TIMEOUT_MS,
  });
  await cli.waitForStderr(/^listening on /m);
  return cli;
}

/** Sends UDP datagrams, one socket each: "srcPort:dstPort:payloadLength,..." with a pause. */
const SEND_UDP = `
import socket, sys, time
src, dst, spec, gap = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
for item in spec.split(","):
    sport, dport, n = map(int, item.split(":"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, sport))
    s.sendto(bytes(n), (dst, dport))
    s.close()
    time.sleep(gap)
`;

/** Sends COUNT datagrams of LENGTH bytes to DST:PORT, pausing GAP seconds after each. */
const SEND_UDP_BULK = `
import socket, sys, time
dst, port, count, length, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    s.sendto(i.to_bytes(4, "big") + bytes(length - 4), (dst, port))
    time.sleep(gap)
s.close()
`;

/** Sends 32-byte datagrams to DST:PORT as fast as it can for SECONDS, at most COUNT of them. */
const SEND_UDP_FOR = `
import socket, sys, time
dst, port, seconds, count = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + seconds
sent = 0
while sent < count and time.monotonic() < end:
    s.sendto(bytes(32), (dst, port))
    sent += 1
s.close()
`;

/** Connects from SRC:SPORT to DST:DPORT, a closed port: one SYN, answered by a RST. */
const CONNECT_TCP = `
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(3)
try:
    s.connect((sys.argv[3], int(sys.argv[4])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
s.close()
`;

/** Sends one Ethernet frame on IFACE: DST, SRC, ETHERTYPE (hex), PAYLOAD, padded to 60 bytes. */
const SEND_FRAME = `
import socket, sys
iface, dst, src, ethertype, payload = sys.argv[1:6]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
frame = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) \\
    + int(ethertype, 16).to_bytes(2, "big") + payload.encode()
s.send(frame + bytes(max(0, 60 - len(frame))))
s.close()
`;

function python(ns: Namespace, script: string, args: (string | number)[]) {
  return ns.exec("python3", ["-c", script, ...args.map(String)]);
}

/**
 * Waits (at most 5 s) until every packet socket in `ns` has an empty receive queue, so that what
 * was sent has been read by the capture: the Rmem column of /proc/net/packet.
 */
async function waitUntilRead(ns: Namespace): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const table = (await ns.exec("cat", ["/proc/net/packet"])).stdout.trim().split("\n").slice(1);
    const queued = table.map((line) => Number(line.trim().split(/\s+/)[6]));
    if (queued.length > 0 && queued.every((bytes) => bytes === 0)) return;
    if (Date.now() > deadline) throw new Error(`Capture did not read its queue: ${table}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An address in the pair's subnet that B sends to A's MAC, which A silently drops (no ARP, no ICMP). */
async function silentAddress(pair: NamespacePair): Promise<string> {
  const address = `10.77.${pair.subnet}.3`;
  await pair.b.ip(
    "neigh",
    "replace",
    address,
    "lladdr",
    pair.macA,
    "dev",
    pair.vethB,
    "nud",
    "permanent",
  );
  return address;
}

/**
 * No ARP probe from A in the middle of a test: A learns B from B's request (STALE), and would
 * confirm it with a unicast probe after delay_first_probe_time (5 s) of use.
 */
async function quietNeighbours(pair: NamespacePair): Promise<void> {
  await pair.a.exec("sysctl", ["-q", "-w", "net.ipv4.neigh.vethA.delay_first_probe_time=60"]);
  await pair.a.ip("neigh", "flush", "all");
  await pair.b.ip("neigh", "flush", "all");
}

const UDP_SENDS = [
  { srcPort: 4001, dstPort: 5001, payload: 10 },
  { srcPort: 4002, dstPort: 5002, payload: 100 },
  { srcPort: 4003, dstPort: 5003, payload: 1000 },
];

function udpSpec(): string {
  return UDP_SENDS.map((s) => `${s.srcPort}:${s.dstPort}:${s.payload}`).join(",");
}

Deno.test({
  name: "cli.ts -i vethA --json shows ARP, UDP, TCP, ICMP and a raw frame in order, with fields",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      await quietNeighbours(pair);
      const { addressA: a, addressB: b, macA, macB } = pair;
      const expectedCount = 2 + 2 * UDP_SENDS.length + 2 + 4 + 1;
      const cli = await startCli(pair.a, ["-i", "vethA", "-c", String(expectedCount), "--json"]);
      await python(pair.b, SEND_UDP, [b, a, udpSpec(), 0.05]);
      assert.equal((await python(pair.b, CONNECT_TCP, [b, 40001, a, 9])).stdout.trim(), "refused");
      await pair.b.exec("ping", ["-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", a]);
      await python(pair.b, SEND_FRAME, [
        "vethB",
        macA,
        macB,
        EXPERIMENTAL_ETHERTYPE.toString(16),
        "snout raw frame",
      ]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = parseRecords(result.stdout);
      assert.equal(packets.length, expectedCount, result.stdout);
      assert.equal(capturedCount(result.stderr), expectedCount);

      for (const [i, packet] of packets.entries()) {
        assert.equal(packet.frame.number, i + 1);
        assert.equal(packet.frame.linkType, LINKTYPE_ETHERNET);
        assert.equal(packet.frame.interface, pair.ifindexA, `frame ${i + 1}`);
        assert.equal(packet.frame.captured, packet.frame.length);
        assert.equal(packet.truncated, false);
        assert.equal(packet.error, undefined);
      }
      const next = (() => {
        let i = 0;
        return () => packets[i++]!;
      })();

      // First contact: B asks for A, A answers.
      let p = next();
      assert.equal(stack(p), "ethernet/arp");
      assertFields(layer(p, "ethernet"), { src: macB, dst: "ff:ff:ff:ff:ff:ff", etherType: 0x806 });
      assertFields(layer(p, "arp"), {
        opcode: ARP_REQUEST,
        senderMac: macB,
        senderIp: b,
        targetMac: "00:00:00:00:00:00",
        targetIp: a,
      });
      p = next();
      assert.equal(stack(p), "ethernet/arp");
      assertFields(layer(p, "ethernet"), { src: macA, dst: macB, etherType: ETHERTYPE_ARP });
      assertFields(layer(p, "arp"), {
        opcode: ARP_REPLY,
        senderMac: macA,
        senderIp: a,
        targetMac: macB,
        targetIp: b,
      });

      // Each datagram to a closed port, then A's port unreachable quoting it.
      for (const send of UDP_SENDS) {
        p = next();
        assert.equal(stack(p), "ethernet/ipv4/udp");
        assert.equal(p.frame.length, 14 + IPV4_HEADER + UDP_HEADER + send.payload);
        assertFields(layer(p, "ethernet"), { src: macB, dst: macA, etherType: ETHERTYPE_IPV4 });
        assertFields(layer(p, "ipv4"), {
          src: b,
          dst: a,
          protocol: IPPROTO_UDP,
          totalLength: IPV4_HEADER + UDP_HEADER + send.payload,
        });
        assertFields(layer(p, "udp"), {
          srcPort: send.srcPort,
          dstPort: send.dstPort,
          length: UDP_HEADER + send.payload,
        });
        p = next();
        assert.equal(stack(p), "ethernet/ipv4/icmp/ipv4/udp");
        assertFields(p.layers[1]!, { src: a, dst: b, protocol: IPPROTO_ICMP });
        assertFields(layer(p, "icmp"), {
          messageType: ICMP_UNREACHABLE,
          code: ICMP_PORT_UNREACHABLE,
          checksumValid: true,
        });
        assertFields(p.layers[3]!, { src: b, dst: a });
        assertFields(p.layers[4]!, { srcPort: send.srcPort, dstPort: send.dstPort });
      }

      // A SYN to a closed port, and the RST that refuses it.
      p = next();
      assert.equal(stack(p), "ethernet/ipv4/tcp");
      assertFields(layer(p, "ipv4"), { src: b, dst: a, protocol: IPPROTO_TCP });
      const syn = layer(p, "tcp");
      assertFields(syn, { srcPort: 40001, dstPort: 9, flags: TCP_SYN, ack: 0, payloadLength: 0 });
      p = next();
      assert.equal(stack(p), "ethernet/ipv4/tcp");
      assertFields(layer(p, "ipv4"), { src: a, dst: b, protocol: IPPROTO_TCP });
      assertFields(layer(p, "tcp"), {
        srcPort: 9,
        dstPort: 40001,
        flags: TCP_RST_ACK,
        ack: ((syn.seq as number) + 1) % 2 ** 32,
        checksumValid: true,
      });

      // Two echo requests and their replies.
      let id: unknown;
      for (const seq of [1, 2]) {
        p = next();
        assert.equal(stack(p), "ethernet/ipv4/icmp");
        assertFields(layer(p, "ipv4"), { src: b, dst: a, totalLength: 84 });
        const request = layer(p, "icmp");
        assertFields(request, { messageType: ICMP_ECHO_REQUEST, code: 0, seq });
        id ??= request.id;
        assert.equal(request.id, id);
        p = next();
        assert.equal(stack(p), "ethernet/ipv4/icmp");
        assertFields(layer(p, "ipv4"), { src: a, dst: b, totalLength: 84 });
        assertFields(layer(p, "icmp"), { messageType: ICMP_ECHO_REPLY, code: 0, seq, id });
      }

      // The hand-made frame: an EtherType nobody decodes, passed through as a number.
      p = next();
      assert.equal(stack(p), "ethernet");
      assert.equal(p.frame.length, 60);
      assertFields(layer(p, "ethernet"), {
        src: macB,
        dst: macA,
        etherType: EXPERIMENTAL_ETHERTYPE,
      });
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "cli.ts --l3 udp shows only the UDP datagrams, as IPv4 records (link type 228)",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      await quietNeighbours(pair);
      const { addressA: a, addressB: b } = pair;
      const cli = await startCli(pair.a, [
        "-i",
        "vethA",
        "--l3",
        "udp",
        "-c",
        String(UDP_SENDS.length),
        "--json",
      ]);
      // Interleave other traffic: only the UDP may come through.
      const [first, second, third] = UDP_SENDS.map((s) => `${s.srcPort}:${s.dstPort}:${s.payload}`);
      await python(pair.b, SEND_UDP, [b, a, first!, 0]);
      await python(pair.b, CONNECT_TCP, [b, 40002, a, 9]);
      await pair.b.exec("ping", ["-n", "-q", "-c", "1", "-W", "2", a]);
      await python(pair.b, SEND_UDP, [b, a, second!, 0]);
      await python(pair.b, SEND_FRAME, ["vethB", pair.macA, pair.macB, "88b5", "not udp"]);
      await python(pair.b, SEND_UDP, [b, a, third!, 0]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^listening on vethA, link-type IPV4\b/m);
      const packets = parseRecords(result.stdout);
      assert.equal(packets.length, UDP_SENDS.length, result.stdout);
      for (const [i, send] of UDP_SENDS.entries()) {
        const p = packets[i]!;
        assert.equal(p.frame.number, i + 1);
        assert.equal(p.frame.linkType, LINKTYPE_IPV4);
        assert.equal(p.frame.length, IPV4_HEADER + UDP_HEADER + send.payload);
        assert.equal(stack(p), "ipv4/udp");
        assertFields(layer(p, "ipv4"), { src: b, dst: a, protocol: IPPROTO_UDP });
        assertFields(layer(p, "udp"), {
          srcPort: send.srcPort,
          dstPort: send.dstPort,
          length: UDP_HEADER + send.payload,
        });
      }
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "cli.ts -i lo shows each packet once: two echo requests and two replies, no duplicates",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      const cli = await startCli(ns, ["-i", "lo", "-c", "4", "--json"]);
      await ns.exec("ping", ["-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "127.0.0.1"]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = parseRecords(result.stdout);
      const loIndex = Number(await ns.sysNet("lo", "ifindex"));
      assert.deepEqual(
        packets.map((p) => {
          const icmp = layer(p, "icmp");
          return [p.frame.interface, stack(p), icmp.messageType, icmp.seq];
        }),
        [
          [loIndex, "ethernet/ipv4/icmp", ICMP_ECHO_REQUEST, 1],
          [loIndex, "ethernet/ipv4/icmp", ICMP_ECHO_REPLY, 1],
          [loIndex, "ethernet/ipv4/icmp", ICMP_ECHO_REQUEST, 2],
          [loIndex, "ethernet/ipv4/icmp", ICMP_ECHO_REPLY, 2],
        ],
      );
      for (const p of packets) {
        assertFields(layer(p, "ipv4"), { src: "127.0.0.1", dst: "127.0.0.1" });
      }
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test({
  name: "cli.ts with no -i captures every interface as SLL2 records naming the interface",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      await quietNeighbours(pair);
      const cli = await startCli(pair.a, ["-c", "4", "--json"]);
      assert.match(cli.stderr(), /^listening on all interfaces, link-type LINUX_SLL2\b/m);
      await pair.b.exec("ping", ["-n", "-q", "-c", "1", "-W", "2", pair.addressA]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = parseRecords(result.stdout);
      const PACKET_HOST = 0;
      const PACKET_BROADCAST = 1;
      const PACKET_OUTGOING = 4;
      assert.deepEqual(
        packets.map((p) => {
          const sll2 = layer(p, "sll2");
          return [p.frame.linkType, stack(p), sll2.packetType, sll2.protocol, sll2.interfaceIndex];
        }),
        [
          [LINKTYPE_LINUX_SLL2, "sll2/arp", PACKET_BROADCAST, ETHERTYPE_ARP, pair.ifindexA],
          [LINKTYPE_LINUX_SLL2, "sll2/arp", PACKET_OUTGOING, ETHERTYPE_ARP, pair.ifindexA],
          [LINKTYPE_LINUX_SLL2, "sll2/ipv4/icmp", PACKET_HOST, ETHERTYPE_IPV4, pair.ifindexA],
          [LINKTYPE_LINUX_SLL2, "sll2/ipv4/icmp", PACKET_OUTGOING, ETHERTYPE_IPV4, pair.ifindexA],
        ],
      );
      for (const p of packets) {
        assert.equal(p.frame.interface, pair.ifindexA);
        assertFields(layer(p, "sll2"), { arphrdType: 1 });
      }
      assertFields(layer(packets[0]!, "sll2"), { address: pair.macB });
      assertFields(layer(packets[2]!, "sll2"), { address: pair.macB });
      assertFields(layer(packets[2]!, "icmp"), { messageType: ICMP_ECHO_REQUEST, seq: 1 });
      assertFields(layer(packets[3]!, "icmp"), { messageType: ICMP_ECHO_REPLY, seq: 1 });
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "cli.ts -w after SIGINT holds every packet it counted as captured",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    const dir = await Deno.makeTempDir({ prefix: "snout-live-" });
    try {
      const to = await silentAddress(pair);
      const file = `${dir}/sigint.pcap`;
      const cli = await startCli(pair.a, ["-i", "vethA", "-w", file]);
      await python(pair.b, SEND_UDP_BULK, [to, 6000, 50, 32, 0.001]);
      await waitUntilRead(pair.a);
      cli.kill("SIGINT");
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "");
      const captured = capturedCount(result.stderr);
      assert.ok(captured >= 50, result.stderr);
      let records = 0;
      for await (const _ of readRecords(file)) records++;
      assert.equal(records, captured);
      const tcpdump = await run("tcpdump", ["-n", "-r", file]);
      assert.equal(tcpdump.code, 0, tcpdump.stderr);
      assert.equal(tcpdump.stdout.trimEnd().split("\n").length, captured);
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli.ts -c 500 --json -w prints and writes exactly the 500 datagrams sent",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    const dir = await Deno.makeTempDir({ prefix: "snout-live-" });
    try {
      // B reaches the silent address through a permanent neighbour entry: no ARP on the wire,
      // and A drops the datagrams without a port unreachable, so only the 500 are seen.
      const to = await silentAddress(pair);
      const file = `${dir}/cap.pcap`;
      const count = 500;
      const port = 6500;
      const cli = await startCli(pair.a, [
        "-i",
        "vethA",
        "-c",
        String(count),
        "--json",
        "-w",
        file,
      ]);
      await python(pair.b, SEND_UDP_BULK, [to, port, count, 64, 0.0005]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(capturedCount(result.stderr), count);
      assert.match(result.stderr, /^0 packets dropped by kernel$/m);
      const packets = parseRecords(result.stdout);
      assert.equal(packets.length, count);
      for (const [i, p] of packets.entries()) {
        assert.equal(stack(p), "ethernet/ipv4/udp");
        assertFields(layer(p, "ipv4"), { src: pair.addressB, dst: to });
        assertFields(layer(p, "udp"), { dstPort: port, length: UDP_HEADER + 64 });
        assert.equal(p.frame.number, i + 1);
      }
      // The first four payload bytes number the datagrams: none lost, none reordered.
      const records = [];
      for await (const record of readRecords(file)) {
        const data = record.data;
        const payload = 14 + IPV4_HEADER + UDP_HEADER;
        records.push(new DataView(data.buffer, data.byteOffset).getUint32(payload));
      }
      assert.deepEqual(records, Array.from({ length: count }, (_, i) => i));
      const tcpdump = await run("tcpdump", ["-n", "-r", file]);
      assert.equal(tcpdump.code, 0, tcpdump.stderr);
      const lines = tcpdump.stdout.trimEnd().split("\n");
      assert.equal(lines.length, count);
      for (const line of lines) assert.match(line, new RegExp(`> ${to}\\.${port}: UDP, length 64`));
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---- The receive ring, its fallback, and fanout workers ----

/** Sends COUNT datagrams to DST round robin from 16 source ports, each numbered in its payload. */
const SEND_UDP_FLOWS = `
import socket, sys, time
dst, port, count, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sockets = []
for i in range(16):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 21000 + i))
    sockets.append(s)
for i in range(count):
    sockets[i % 16].sendto(i.to_bytes(4, "big") + bytes(28), (dst, port))
    time.sleep(gap)
for s in sockets:
    s.close()
`;

/** Captures COUNT datagrams of SEND_UDP_FLOWS with `cli.ts -i vethA -c COUNT ARGS`. */
async function sendFlows(pair: NamespacePair, to: string, count: number, args: string[]) {
  const cli = await startCli(pair.a, ["-i", "vethA", "-c", String(count), ...args]);
  await python(pair.b, SEND_UDP_FLOWS, [to, 6600, count, 0.0005]);
  const result = await cli.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(capturedCount(result.stderr), count, result.stderr);
  return result;
}

/** As sendFlows, with --json: the records, checked to be numbered 1 to COUNT in order. */
async function captureFlows(pair: NamespacePair, to: string, count: number, args: string[]) {
  const result = await sendFlows(pair, to, count, ["--json", ...args]);
  const packets = parseRecords(result.stdout);
  assert.equal(packets.length, count);
  assert.deepEqual(packets.map((p) => p.frame.number), packets.map((_, i) => i + 1));
  return { packets, stderr: result.stderr };
}

/** What identifies a datagram of SEND_UDP_FLOWS across runs (IP ids differ from run to run). */
function flowKey(packet: JsonPacket): string {
  const udp = layer(packet, "udp");
  return `${stack(packet)} ${udp.srcPort}>${udp.dstPort} len=${udp.length} sum=${udp.checksum}`;
}

Deno.test({
  name: "cli.ts --workers 2 hands out the records one socket does, numbered 1 to N in order, " +
    "and -w writes them in the same order",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    const dir = await Deno.makeTempDir({ prefix: "snout-live-" });
    try {
      const to = await silentAddress(pair);
      const count = 400;
      const file = `${dir}/workers.pcap`;
      const single = await captureFlows(pair, to, count, []);
      const workers = await captureFlows(pair, to, count, ["--workers", "2", "-w", file]);
      assert.deepEqual(workers.packets.map(flowKey).sort(), single.packets.map(flowKey).sort());
      // The 16 flows are shared out by hash: both workers' output is in the merged stream, so
      // the kernel counted every datagram once across the two sockets.
      assert.match(workers.stderr, new RegExp(`^${count} packets received by filter$`, "m"));
      // Each datagram once in the file, record i the datagram of line i. The workers reuse the
      // buffers of batches already written, so this also checks that none was overwritten early.
      const numbers: number[] = [];
      const ports: number[] = [];
      for await (const record of readRecords(file)) {
        const udp = new DataView(record.data.buffer, record.data.byteOffset + 14 + IPV4_HEADER);
        ports.push(udp.getUint16(0));
        numbers.push(udp.getUint32(UDP_HEADER));
      }
      assert.deepEqual(
        numbers.toSorted((a, b) => a - b),
        Array.from({ length: count }, (_, i) => i),
      );
      assert.deepEqual(ports, workers.packets.map((p) => layer(p, "udp").srcPort));
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli.ts -v says how it reads: a ring sized by -B, or recvmsg with --no-ring",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      const to = await silentAddress(pair);
      const sized = await sendFlows(pair, to, 20, ["-v", "-B", "4096"]);
      assert.match(sized.stderr, /^reading a TPACKET_V3 ring of 8 blocks of 512 KiB$/m);
      assert.equal(sized.stdout.match(/^frame /gm)?.length, 20);
      const fanout = await sendFlows(pair, to, 20, ["-v", "--workers", "2"]);
      assert.match(
        fanout.stderr,
        /^reading a TPACKET_V3 ring of 32 blocks of 1024 KiB, 2 sockets/m,
      );
      assert.match(
        (await sendFlows(pair, to, 20, ["-v", "--no-ring"])).stderr,
        /^reading with recvmsg$/m,
      );
      // The recvmsg path hands out what the ring does.
      const ring = await captureFlows(pair, to, 50, []);
      const recv = await captureFlows(pair, to, 50, ["--no-ring"]);
      assert.deepEqual(recv.packets.map(flowKey), ring.packets.map(flowKey));
    } finally {
      await pair.destroy();
    }
  },
});

// ---- The library, run in namespace A by a small script ----

/** A script that imports the library by URL and does what its first argument says. */
const LIBRARY_SCRIPT = `
import { capture } from "${new URL("../ffi/capture.ts", import.meta.url).href}";
import { PcapFdWriter } from "${new URL("../ffi/pcap_records.ts", import.meta.url).href}";
const [mode, iface] = Deno.args;

/** Open file descriptors (Unix sockets aside) and AF_PACKET sockets, asked of the kernel (/proc/self needs --allow-all). */
const { fcntl, getsockopt, unlink } = Deno.dlopen("libc.so.6", {
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
}).symbols;
const F_GETFD = 1, SOL_SOCKET = 1, SO_DOMAIN = 39, AF_UNIX = 1, AF_PACKET = 17, MAX_FD = 4096;
function handles() {
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
  let open = 0, packetSockets = 0;
  for (let fd = 0; fd < MAX_FD; fd++) {
    if (fcntl(fd, F_GETFD, 0) < 0) continue;
    length[0] = 4;
    const domain = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, new Uint8Array(value.buffer), new Uint8Array(length.buffer));
    // Deno's runtime opens a Unix socket pair of its own now and then; snout never opens one.
    if (domain === 0 && value[0] === AF_UNIX) continue;
    open++;
    if (domain === 0 && value[0] === AF_PACKET) packetSockets++;
  }
  return { open, packetSockets };
}
const out = (value) => console.log(JSON.stringify(value));

if (mode === "iterate") {
  const live = capture({ interface: iface, count: 3 });
  console.error("ready");
  for await (const pkt of live) out({ frame: pkt.frame, layers: pkt.layers });
  out({ stats: live.stats() });
} else if (mode === "dispose") {
  const before = handles();
  let during;
  {
    await using live = capture({ interface: iface });
    during = handles();
  }
  out({ before, during, after: handles() });
} else if (mode === "close-twice") {
  const before = handles();
  const live = capture({ interface: iface });
  setTimeout(() => { live.close(); live.close(); }, 200);
  let packets = 0;
  for await (const _ of live) packets++;
  live.close();
  const again = [];
  for await (const _ of live) again.push(_);
  out({ packets, again: again.length, stats: live.stats(), before, after: handles() });
} else if (mode === "abort") {
  const before = handles();
  const controller = new AbortController();
  const live = capture({ interface: iface, signal: controller.signal });
  const start = performance.now();
  setTimeout(() => controller.abort(), 300);
  let packets = 0;
  for await (const _ of live) packets++;
  out({ packets, ms: performance.now() - start, before, after: handles() });
} else if (mode === "write-records") {
  // PcapFdWriter opens its file through libc: no --allow-write needed, nor used to remove it.
  const path = "/tmp/snout-write-records-" + Deno.pid + ".pcap";
  const live = capture({ interface: iface, count: 3 });
  const writer = PcapFdWriter.create(path, live.linkType, live.snapLength);
  console.error("ready");
  await live.writePcapRecords(writer);
  writer.close();
  const bytes = await Deno.readFile(path);
  unlink(new TextEncoder().encode(path + "\0"));
  const view = new DataView(bytes.buffer);
  const lengths = [];
  for (let at = 24; at + 16 <= bytes.length; at += 16 + view.getUint32(at + 8, true)) {
    lengths.push(view.getUint32(at + 12, true));
  }
  out({ magic: view.getUint32(0, true), lengths, stats: live.stats(), after: handles() });
} else if (mode === "flood-close") {
  // A consumer slower than the packets: no read comes back empty while the flood lasts.
  const live = capture({ interface: iface });
  console.error("ready");
  let closedAt;
  let packets = 0;
  for await (const batch of live.frames()) {
    packets += batch.count;
    if (closedAt === undefined) {
      closedAt = -1;
      setTimeout(() => { closedAt = performance.now(); live.close(); }, 300);
    }
    const until = performance.now() + 100;
    while (performance.now() < until);
  }
  out({ packets, afterClose: performance.now() - closedAt });
} else if (mode === "aborted") {
  const live = capture({ interface: iface, signal: AbortSignal.abort() });
  const start = performance.now();
  let packets = 0;
  for await (const _ of live) packets++;
  out({ packets, ms: performance.now() - start, after: handles() });
}
`;

/** Runs the library script in `ns` with --allow-ffi and --allow-read; killed after 10 s. */
async function runLibraryScript(ns: Namespace, mode: string, iface: string) {
  const dir = await Deno.makeTempDir({ prefix: "snout-live-" });
  try {
    const script = `${dir}/library.js`;
    await Deno.writeTextFile(script, LIBRARY_SCRIPT);
    const child = ns.spawn(
      DENO,
      ["run", "-q", "--allow-ffi", "--allow-read", script, mode, iface],
      {
        timeoutMs: 10_000,
      },
    );
    return { child, cleanup: () => Deno.remove(dir, { recursive: true }) };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

async function libraryResult(ns: Namespace, mode: string, iface: string) {
  const { child, cleanup } = await runLibraryScript(ns, mode, iface);
  try {
    const result = await child.finished();
    assert.equal(result.code, 0, `${mode}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  } finally {
    await cleanup();
  }
}

Deno.test({
  name: "capture() yields decoded packets to for await and stops at its count",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      const to = await silentAddress(pair);
      const { child, cleanup } = await runLibraryScript(pair.a, "iterate", "vethA");
      try {
        await child.waitForStderr(/ready/);
        await python(pair.b, SEND_UDP_BULK, [to, 7000, 3, 16, 0.01]);
        const result = await child.finished();
        assert.equal(result.code, 0, result.stderr);
        const lines = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
        assert.equal(lines.length, 4);
        const packets = lines.slice(0, 3) as JsonPacket[];
        for (const [i, p] of packets.entries()) {
          assertFields(p.frame, {
            number: i + 1,
            length: 14 + IPV4_HEADER + UDP_HEADER + 16,
            linkType: LINKTYPE_ETHERNET,
            interface: pair.ifindexA,
          });
          assert.match(p.frame.time, /^\d+\.\d{9}$/);
          assert.equal(stack(p), "ethernet/ipv4/udp");
          assertFields(layer(p, "udp"), { dstPort: 7000 });
        }
        assert.equal(lines[3].stats.captured, 3);
        assert.ok(lines[3].stats.received >= 3);
      } finally {
        await cleanup();
      }
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "LiveCapture.writePcapRecords() writes the packets as pcap records and stops at the count",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      const to = await silentAddress(pair);
      const { child, cleanup } = await runLibraryScript(pair.a, "write-records", "vethA");
      try {
        await child.waitForStderr(/ready/);
        await python(pair.b, SEND_UDP_BULK, [to, 7000, 3, 16, 0.01]);
        const result = await child.finished();
        assert.equal(result.code, 0, result.stderr);
        const { magic, lengths, stats, after } = JSON.parse(result.stdout);
        assert.equal(magic, 0xa1b23c4d, "nanosecond pcap");
        const length = 14 + IPV4_HEADER + UDP_HEADER + 16;
        assert.deepEqual(lengths, [length, length, length]);
        assertFields(stats, { captured: 3 });
        assert.equal(after.packetSockets, 0);
      } finally {
        await cleanup();
      }
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "LiveCapture.close() ends a capture within its flush time even while packets keep coming",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      const to = await silentAddress(pair);
      const { child, cleanup } = await runLibraryScript(pair.a, "flood-close", "vethA");
      try {
        await child.waitForStderr(/ready/);
        // About 4 s of datagrams as fast as Python sends them: the capture is closed long before.
        const sending = python(pair.b, SEND_UDP_FOR, [to, 7000, 4, 200_000]);
        const result = await child.finished();
        await sending;
        assert.equal(result.code, 0, result.stderr);
        const { packets, afterClose } = JSON.parse(result.stdout);
        assert.ok(packets > 0);
        // The flush time (100 ms), the batch being handled then (100 ms) and some slack.
        assert.ok(afterClose < 1_000, `ended ${afterClose} ms after close()`);
      } finally {
        await cleanup();
      }
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name:
    "capture() under await using closes its socket, epoll instance and eventfd at the block's end",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      const { before, during, after } = await libraryResult(ns, "dispose", "lo");
      // The packet socket, the epoll instance and the eventfd that wakes it.
      assert.deepEqual(during, { open: before.open + 3, packetSockets: before.packetSockets + 1 });
      assert.deepEqual(after, before);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test({
  name: "LiveCapture.close() twice is harmless, ends the iteration and releases the socket",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      const result = await libraryResult(ns, "close-twice", "lo");
      assert.equal(result.packets, 0);
      assert.equal(result.again, 0);
      assertFields(result.stats, { captured: 0, dropped: 0 });
      assert.deepEqual(result.after, result.before);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test({
  name: "capture() stops promptly when its AbortSignal aborts",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      const result = await libraryResult(ns, "abort", "lo");
      assert.equal(result.packets, 0);
      // Aborted at 300 ms, it ends after the flush time (100 ms): the abort wakes the idle wait
      // (up to 1 s) at once.
      assert.ok(result.ms >= 250 && result.ms < 900, `stopped after ${result.ms} ms`);
      assert.deepEqual(result.after, result.before);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test({
  name: "capture() with an already aborted AbortSignal ends at once",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      const result = await libraryResult(ns, "aborted", "lo");
      assert.equal(result.packets, 0);
      assert.ok(result.ms < 2000, `stopped after ${result.ms} ms`);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test("capture() rejects invalid options with a RangeError before opening anything", () => {
  // interface "lo" so that even a wrong order could never touch another interface.
  const invalid = [
    { count: 0 },
    { count: 1.5 },
    { snapLength: 0 },
    { snapLength: 262145 },
    { bufferSize: 0 },
    { l3: "sctp" },
  ];
  for (const options of invalid) {
    assert.throws(
      () => capture({ interface: "lo", ...options } as unknown as CaptureOptions),
      RangeError,
      JSON.stringify(options),
    );
  }
});

Deno.test("capture() validates its options before loading libc: no --allow-ffi needed", async () => {
  const script = `
    import { capture } from "${new URL("../ffi/capture.ts", import.meta.url).href}";
    for (const options of [{ count: 0 }, { snapLength: 0 }, { l3: "sctp" }]) {
      try {
        capture({ interface: "lo", ...options });
        console.log("no error");
      } catch (error) {
        console.log(error.name);
      }
    }`;
  const dir = await Deno.makeTempDir({ prefix: "snout-live-" });
  try {
    // deno eval would grant every permission: run a file with --allow-read only.
    await Deno.writeTextFile(`${dir}/validate.js`, script);
    const result = await run(DENO, ["run", "-q", "--allow-read", `${dir}/validate.js`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n"), ["RangeError", "RangeError", "RangeError"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- Error paths ----

Deno.test({
  name: "cli.ts -i with an unknown interface fails in one line listing the known ones",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      const result = await ns.exec(DENO, [
        "run",
        "-q",
        ...LIVE_PERMISSIONS,
        CLI,
        "-i",
        "nosuch0",
        "-c",
        "1",
      ], { check: false });
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assertOneLineError(result.stderr, /^snout: No such interface: nosuch0 \(known: lo\)$/);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test({
  name: "cli.ts -i with an interface that is down fails in one line saying how to bring it up",
  ignore: NEEDS_ROOT,
  async fn() {
    const ns = await namespace();
    try {
      await ns.ip("link", "add", "vdown", "type", "veth", "peer", "name", "vdown2");
      const result = await ns.exec(DENO, [
        "run",
        "-q",
        ...LIVE_PERMISSIONS,
        CLI,
        "-i",
        "vdown",
        "-c",
        "1",
      ], { check: false });
      assert.equal(result.code, 1);
      assertOneLineError(result.stderr, /^snout: Interface vdown is down \(.*ip link set vdown up/);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test("cli.ts live capture without --allow-ffi fails in one line naming --allow-ffi", async () => {
  // It fails before any socket exists; lo is named so that nothing else could ever be touched.
  const child = new Deno.Command(DENO, {
    args: ["run", "-q", "--allow-read", "--allow-write", "--allow-env", CLI, "-i", "lo", "-c", "1"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), CAPTURE_TIMEOUT_MS);
  try {
    const output = await child.output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1);
    assertOneLineError(stderr, /Live capture needs FFI access to libc: run with --allow-ffi/);
  } finally {
    clearTimeout(timer);
  }
});

const NOBODY_CAN_RUN = !NEEDS_ROOT && nobodyCanRunCli();
if (!NEEDS_ROOT && !NOBODY_CAN_RUN) {
  console.log("live_test.ts: user nobody cannot run this deno or read cli.ts: that test skipped");
}

const EPERM_MESSAGE =
  /^snout: Cannot open packet socket: EPERM \(.*\): capturing needs root or CAP_NET_RAW; run it with sudo/;

Deno.test({
  name: "cli.ts run as a user without privileges fails with EPERM, naming sudo and CAP_NET_RAW",
  ignore: !NOBODY_CAN_RUN,
  async fn() {
    const ns = await namespace();
    const denoDir = await Deno.makeTempDir({ prefix: "snout-live-deno-" });
    try {
      await Deno.chown(denoDir, 65534, 65534);
      const result = await ns.exec("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        DENO,
        "run",
        "-q",
        ...LIVE_PERMISSIONS,
        CLI,
        "-i",
        "lo",
        "-c",
        "1",
      ], { check: false, env: { DENO_DIR: denoDir, HOME: denoDir } });
      assert.equal(result.code, 1);
      assertOneLineError(result.stderr, EPERM_MESSAGE);
    } finally {
      await ns.destroy();
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli.ts run as root without CAP_NET_RAW fails with the same EPERM message",
  ignore: NEEDS_ROOT || !haveProgram("setpriv"),
  async fn() {
    const ns = await namespace();
    try {
      const result = await ns.exec("setpriv", [
        "--bounding-set=-net_raw",
        "--inh-caps=-net_raw",
        DENO,
        "run",
        "-q",
        ...LIVE_PERMISSIONS,
        CLI,
        "-i",
        "lo",
        "-c",
        "1",
      ], { check: false });
      assert.equal(result.code, 1);
      assertOneLineError(result.stderr, EPERM_MESSAGE);
    } finally {
      await ns.destroy();
    }
  },
});

Deno.test({
  name: "cli.ts -Z nobody captures as nobody once the socket is open",
  ignore: NEEDS_ROOT,
  async fn() {
    const pair = await namespacePair();
    try {
      const to = await silentAddress(pair);
      const cli = await startCli(pair.a, ["-i", "vethA", "-Z", "nobody", "-c", "2", "--json"]);
      const ps = await run("ps", ["-o", "user=", "-p", String(cli.pid)]);
      assert.equal(ps.stdout.trim(), "nobody");
      await python(pair.b, SEND_UDP_BULK, [to, 7100, 2, 16, 0.01]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = parseRecords(result.stdout);
      assert.deepEqual(packets.map((p) => layer(p, "udp").dstPort), [7100, 7100]);
    } finally {
      await pair.destroy();
    }
  },
});

Deno.test({
  name: "the live tests leave no namespace and no process behind",
  ignore: NEEDS_ROOT,
  async fn() {
    assert.deepEqual(await leftoverNamespaces(), []);
    assert.equal(runningProcesses(), 0);
  },
});
