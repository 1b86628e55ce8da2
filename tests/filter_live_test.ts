/**
 * Filters attached live, in network namespaces these tests create: only the packets the filter
 * accepts reach snout, the kernel's "received by filter" count is theirs, capture on every
 * interface (a cooked socket, whose program is moved onto the packet the kernel sees) keeps what
 * `tcpdump -i any` keeps with the same filter, and a filter the kernel cannot run is applied in
 * user space. Needs root; skipped with a message otherwise.
 */

import assert from "node:assert/strict";
import { readRecords } from "../io/read_records.ts";
import { haveProgram, ROOT } from "./helpers.ts";
import { type Namespace, type NamespacePair, namespacePair } from "./netns.ts";

function runningAsRoot(): boolean {
  const id = new Deno.Command("id", { args: ["-u"], stdout: "piped", stderr: "null" }).outputSync();
  return new TextDecoder().decode(id.stdout).trim() === "0";
}

const TOOLS = ["ip", "python3", "ping", "tcpdump", "sysctl"];
const SKIP = !runningAsRoot() || !TOOLS.every(haveProgram);
if (SKIP) {
  console.log(`filter_live_test.ts: needs root and ${TOOLS.join(", ")}: live filter tests skipped`);
}

const SNOUT = [
  "run",
  "-q",
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  `${ROOT}cli.ts`,
];
/** Captures that have not ended after this long are killed by PID. */
const TIMEOUT_MS = 20_000;
const ARPHRD_LOOPBACK = 772;

/**
 * Sends from argv[1] to argv[2], one item at a time, 20 ms apart: `udp:PORT` a datagram,
 * `tcp:PORT` a connection attempt.
 */
const TRAFFIC = `
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
for item in sys.argv[3].split(","):
    kind, port = item.split(":")
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.sendto(b"filtered", (dst, int(port)))
    else:
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect((dst, int(port)))
        except OSError:
            pass
    s.close()
    time.sleep(0.02)
`;

async function send(pair: NamespacePair, items: string[]): Promise<void> {
  await pair.b.exec("python3", ["-c", TRAFFIC, pair.addressB, pair.addressA, items.join(",")]);
}

/** Starts snout in `ns` and waits until it listens. */
async function snout(ns: Namespace, args: string[]) {
  const child = ns.spawn(Deno.execPath(), [...SNOUT, ...args], { timeoutMs: TIMEOUT_MS });
  await child.waitForStderr(/^listening on /m);
  return child;
}

/** A count from the exit statistics: "N packets captured", "N packets received by filter". */
function statistic(stderr: string, what: string): number {
  const match = stderr.match(new RegExp(`^(\\d+) packets ${what}$`, "m"));
  assert.ok(match, `no "${what}" line in: ${stderr}`);
  return Number(match[1]);
}

type JsonRecord = {
  frame: { interface?: number };
  layers: ({ type: string } & Record<string, unknown>)[];
};

function records(stdout: string): JsonRecord[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

function layerOf(record: JsonRecord, type: string) {
  const found = record.layers.find((layer) => layer.type === type);
  assert.ok(found, `no ${type} layer in ${JSON.stringify(record)}`);
  return found;
}

async function withPair(test: (pair: NamespacePair) => Promise<void>): Promise<void> {
  const pair = await namespacePair();
  try {
    // No ARP probes in the middle of a test.
    await pair.a.exec("sysctl", ["-q", "-w", "net.ipv4.neigh.vethA.delay_first_probe_time=60"]);
    await test(pair);
  } finally {
    await pair.destroy();
  }
}

Deno.test({
  name: "cli.ts -i vethA EXPRESSION gets only matching packets, and the kernel counts only them",
  ignore: SKIP,
  async fn() {
    await withPair(async (pair) => {
      const cli = await snout(pair.a, "-i vethA -c 3 --json udp dst port 5001".split(" "));
      await pair.b.exec("ping", ["-n", "-q", "-c", "1", "-W", "2", pair.addressA]);
      await send(pair, "udp:5001 udp:5002 tcp:9 udp:5001 udp:5003 tcp:5001 udp:5001".split(" "));
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = records(result.stdout);
      assert.equal(packets.length, 3, result.stdout);
      for (const packet of packets) {
        assert.deepEqual(packet.layers.map((layer) => layer.type), ["ethernet", "ipv4", "udp"]);
        assert.equal(layerOf(packet, "udp").dstPort, 5001);
      }
      assert.equal(statistic(result.stderr, "captured"), 3);
      // Echo requests and replies, ARP, TCP, ICMP errors and the other datagrams never passed.
      assert.equal(statistic(result.stderr, "received by filter"), 3);
    });
  },
});

Deno.test({
  name: "cli.ts --l3 udp EXPRESSION filters the raw IPv4 socket too",
  ignore: SKIP,
  async fn() {
    await withPair(async (pair) => {
      const cli = await snout(pair.a, [
        ..."-i vethA --l3 udp -c 2 --json".split(" "),
        "udp dst port 5002",
      ]);
      await send(pair, ["udp:5001", "udp:5002", "udp:5003", "tcp:5002", "udp:5002"]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = records(result.stdout);
      assert.deepEqual(packets.map((p) => p.layers.map((layer) => layer.type).join("/")), [
        "ipv4/udp",
        "ipv4/udp",
      ]);
      assert.deepEqual(packets.map((p) => layerOf(p, "udp").dstPort), [5002, 5002]);
    });
  },
});

Deno.test({
  name: "cli.ts EXPRESSION on every interface keeps exactly what tcpdump -i any keeps",
  ignore: SKIP,
  async fn() {
    await withPair(async (pair) => {
      const dir = await Deno.makeTempDir();
      try {
        const filter = "udp dst port 5001 or (icmp and host 127.0.0.1)";
        const expected = 4; // two datagrams to 5001; an echo request and reply on lo
        const ours = `${dir}/snout.pcap`;
        const theirs = `${dir}/tcpdump.pcap`;
        const cli = await snout(pair.a, ["-c", String(expected), "-w", ours, filter]);
        const tcpdump = pair.a.spawn("tcpdump", [
          ...["-Z", "root", "-U", "--immediate-mode", "-n", "-i", "any", "-y", "LINUX_SLL2"],
          ...["-c", String(expected), "-w", theirs, filter],
        ], { timeoutMs: TIMEOUT_MS });
        await tcpdump.waitForStderr(/listening on any/);
        await send(pair, ["udp:5001", "udp:5002", "tcp:5001", "udp:5001"]);
        await pair.a.exec("ping", ["-n", "-q", "-c", "1", "-W", "2", "127.0.0.1"]);
        const [snoutResult, tcpdumpResult] = await Promise.all([
          cli.finished(),
          tcpdump.finished(),
        ]);
        assert.equal(snoutResult.code, 0, snoutResult.stderr);
        assert.equal(tcpdumpResult.code, 0, tcpdumpResult.stderr);
        const frames = async (path: string) =>
          (await Array.fromAsync(readRecords(path))).map((record) =>
            Array.from(record.data, (byte) => byte.toString(16).padStart(2, "0")).join("")
          ).sort();
        const kept = await frames(ours);
        assert.equal(kept.length, expected);
        assert.deepEqual(kept, await frames(theirs));
        // The kernel passes each lo packet twice (outgoing, then incoming: snout keeps one copy,
        // as libpcap does), so it counts the echo request and reply twice each.
        const onLoopback = 2;
        assert.equal(statistic(snoutResult.stderr, "received by filter"), expected + onLoopback);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name: "cli.ts EXPRESSION reading SLL2 header bytes the kernel lacks is applied in user space",
  ignore: SKIP,
  async fn() {
    await withPair(async (pair) => {
      // ether[8:2] is the SLL2 header's hardware type: only loopback packets.
      const cli = await snout(pair.a, ["-c", "2", "--json", `ether[8:2] = ${ARPHRD_LOOPBACK}`]);
      await send(pair, ["udp:5001", "udp:5002"]);
      await pair.a.exec("ping", ["-n", "-q", "-c", "1", "-W", "2", "127.0.0.1"]);
      const result = await cli.finished();
      assert.equal(result.code, 0, result.stderr);
      const packets = records(result.stdout);
      assert.equal(packets.length, 2, result.stdout);
      for (const packet of packets) {
        assert.equal(layerOf(packet, "sll2").arphrdType, ARPHRD_LOOPBACK);
        assert.equal(layerOf(packet, "icmp").type, "icmp");
      }
      // The kernel passed everything: the datagrams on vethA were counted, then dropped here.
      assert.ok(statistic(result.stderr, "received by filter") >= 4, result.stderr);
    });
  },
});
