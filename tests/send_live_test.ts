/**
 * Sending for real, between two network namespaces these tests create and delete (never on the
 * host's own interfaces): `cli.ts send` in namespace A puts crafted packets on vethA, and in
 * namespace B tcpdump and snout itself capture them on vethB, byte for byte, with tshark (where
 * installed) calling every checksum good; B's kernel answers the echo request, the SYN, the ARP
 * request and the fragmented datagram. `cli.ts replay` of a recorded capture arrives whole.
 *
 * Needs root, ip, sysctl and tcpdump; skipped with a message otherwise. Every process is killed
 * by PID after a timeout, and both namespaces are deleted in a `finally`.
 */

import assert from "node:assert/strict";
import { buildPacket, type LayerSpec } from "../parsers/build.ts";
import { buildRecord } from "../io/send_records.ts";
import { readRecords } from "../io/read_records.ts";
import { parseMac } from "../parsers/address_parse.ts";
import { fixture, haveProgram, ROOT } from "./helpers.ts";
import { concat } from "./fixtures.ts";
import { type Namespace, type NamespacePair, namespacePair } from "./netns.ts";
import { HAVE_TSHARK, tsharkChecksums } from "./tshark_checksums.ts";

function isRoot(): boolean {
  const id = new Deno.Command("id", { args: ["-u"], stdout: "piped", stderr: "null" });
  return new TextDecoder().decode(id.outputSync().stdout).trim() === "0";
}

const READY = isRoot() && ["ip", "sysctl", "tcpdump"].every(haveProgram);
if (!READY) console.log("send_live_test.ts: needs root, ip, sysctl and tcpdump: skipped");

const DENO = Deno.execPath();
const CLI = `${ROOT}cli.ts`;
const CAPTURE_PERMISSIONS = ["--allow-ffi", "--allow-read", "--allow-write", "--allow-env"];
const SEND_PERMISSIONS = ["--allow-ffi", "--allow-read"];
const TIMEOUT_MS = 20_000;
/** Time for B's kernel to answer, and for the captures to read it, after the last send. */
const SETTLE_MS = 700;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const SYN = 0x002;
const RST = 0x004;
const ACK = 0x010;
const FRAGMENT_ID = 0x4242;
const MTU = 1500;

type Fields = Record<string, unknown>;
interface JsonPacket {
  layers: Fields[];
  truncated: boolean;
  error?: unknown;
}

/** IPv6 on both veth ends, quietly (no DAD, no router solicitations, no link-local address). */
async function enableIpv6(pair: NamespacePair): Promise<{ a6: string; b6: string }> {
  const a6 = `fd00:77:${pair.subnet}::1`;
  const b6 = `fd00:77:${pair.subnet}::2`;
  for (const [ns, veth, address] of [[pair.a, pair.vethA, a6], [pair.b, pair.vethB, b6]] as const) {
    for (
      const [key, value] of [["accept_dad", 0], ["router_solicitations", 0], ["addr_gen_mode", 1]]
    ) {
      await ns.exec("sysctl", ["-q", "-w", `net.ipv6.conf.${veth}.${key}=${value}`]);
    }
    await ns.exec("sysctl", ["-q", "-w", `net.ipv6.conf.${veth}.disable_ipv6=0`]);
    await ns.ip("-6", "addr", "add", `${address}/64`, "dev", veth, "nodad");
  }
  return { a6, b6 };
}

/** Permanent neighbours both ways, so that no ARP or NDP but the test's own is on the wire. */
async function staticNeighbours(pair: NamespacePair, a6: string, b6: string): Promise<void> {
  const entries = [
    [pair.a, pair.addressB, pair.macB, pair.vethA],
    [pair.a, b6, pair.macB, pair.vethA],
    [pair.b, pair.addressA, pair.macA, pair.vethB],
    [pair.b, a6, pair.macA, pair.vethB],
  ] as const;
  for (const [ns, address, mac, veth] of entries) {
    await ns.ip("neigh", "replace", address, "lladdr", mac, "dev", veth, "nud", "permanent");
  }
  // B answers every error at once: no ICMP rate limit to lose an answer to.
  await pair.b.exec("sysctl", ["-q", "-w", "net.ipv4.icmp_ratelimit=0"]);
  await pair.b.exec("sysctl", ["-q", "-w", "net.ipv6.icmp.ratelimit=0"]);
}

/** tcpdump on `veth` in `ns`, handed and writing every frame as it comes (as tests/record_fixtures.sh runs it). */
async function startTcpdump(ns: Namespace, veth: string, path: string, count?: number) {
  const args = ["-U", "--immediate-mode", "-Z", "root", "-n", "-i", veth, "-w", path];
  if (count !== undefined) args.push("-c", String(count));
  const process = ns.spawn("tcpdump", args, { timeoutMs: TIMEOUT_MS });
  await process.waitForStderr(/listening on/);
  return process;
}

/** snout capturing on `veth` in `ns`, printing NDJSON. */
async function startSnout(ns: Namespace, veth: string) {
  const process = ns.spawn(DENO, ["run", "-q", ...CAPTURE_PERMISSIONS, CLI, "-i", veth, "--json"], {
    timeoutMs: TIMEOUT_MS,
  });
  await process.waitForStderr(/^listening on /m);
  return process;
}

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The frame the kernel puts on the wire for a packet sent at layer 3: an Ethernet header first. */
function onTheWire(pair: NamespacePair, packet: Uint8Array, linkType: number): Uint8Array {
  if (linkType === 1) return packet;
  const header = new Uint8Array(14);
  header.set(parseMac(pair.macB)!, 0);
  header.set(parseMac(pair.macA)!, 6);
  new DataView(header.buffer).setUint16(
    12,
    packet[0]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4,
  );
  return concat(header, packet);
}

function layerOf(packet: JsonPacket, type: string, index = 0): Fields | undefined {
  return packet.layers.filter((l) => l.type === type)[index];
}

Deno.test({
  name:
    "cli.ts send puts a SYN, UDP, echo, ARP, IPv6 hop-by-hop UDP and IPv4 fragments on a veth: tcpdump, snout and tshark agree, and B answers",
  ignore: !READY,
  async fn() {
    const pair = await namespacePair();
    const dir = await Deno.makeTempDir();
    try {
      const { a6, b6 } = await enableIpv6(pair);
      await staticNeighbours(pair, a6, b6);
      const { addressA: a, addressB: b, macA, macB } = pair;
      const records: Fields[] = [
        {
          layers: [
            { type: "ipv4", src: a, dst: b, dontFragment: true },
            {
              type: "tcp",
              srcPort: 40100,
              dstPort: 9,
              seq: 123456789,
              flags: "S",
              window: 64240,
              options: [
                { kind: 2, mss: 1460 },
                { kind: 4 },
                { kind: 8, tsval: 1000, tsecr: 0 },
                { kind: 1 },
                { kind: 3, shift: 7 },
              ],
            },
          ],
        },
        {
          layers: [{ type: "ipv4", src: a, dst: b }, {
            type: "udp",
            srcPort: 40101,
            dstPort: 9999,
          }],
          payload: { text: "snout udp\n" },
        },
        {
          layers: [
            { type: "ethernet", src: macA, dst: macB },
            { type: "ipv4", src: a, dst: b },
            { type: "icmp", messageType: 8, id: 0x5151, seq: 1 },
          ],
          payload: "000102030405060708090a0b0c0d0e0f",
        },
        {
          layers: [
            { type: "ethernet", src: macA, dst: "ff:ff:ff:ff:ff:ff" },
            { type: "arp", senderMac: macA, senderIp: a, targetIp: b },
          ],
        },
        {
          layers: [
            {
              type: "ipv6",
              src: a6,
              dst: b6,
              extensions: [{ type: "hopByHop", options: [{ type: 0x1e, data: "abcd" }] }],
            },
            { type: "udp", srcPort: 40102, dstPort: 9999 },
          ],
          payload: { text: "snout over IPv6" },
        },
        {
          layers: [
            { type: "ipv4", src: a, dst: b, id: FRAGMENT_ID },
            { type: "udp", srcPort: 40103, dstPort: 9 },
          ],
          payload: "5a".repeat(3000),
        },
      ];
      const recordsPath = `${dir}/records.ndjson`;
      await Deno.writeTextFile(
        recordsPath,
        records.map((r) => JSON.stringify(r)).join("\n") + "\n",
      );
      const built = records.map((value, i) => buildRecord({ line: i + 1, value }, MTU));
      const expected = built.flatMap(({ packets, linkType }) =>
        packets.map((packet) => hex(onTheWire(pair, packet, linkType)))
      );
      const sentBytes = built.flatMap((b) => b.packets).reduce((n, p) => n + p.length, 0);
      assert.equal(expected.length, records.length + 2, "the datagram is three fragments");

      const pcap = `${dir}/b.pcap`;
      const tcpdump = await startTcpdump(pair.b, pair.vethB, pcap);
      const snout = await startSnout(pair.b, pair.vethB);
      const sent = await pair.a.exec(DENO, [
        "run",
        "-q",
        ...SEND_PERMISSIONS,
        CLI,
        "send",
        recordsPath,
        "-i",
        pair.vethA,
        "--mtu",
        String(MTU),
        "--rate",
        "20",
      ], { check: false });
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(sent.stderr.trim(), `8 packets sent (from 6 records), ${sentBytes} bytes`);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      snout.kill("SIGINT");
      tcpdump.kill("SIGINT");
      const snoutResult = await snout.finished();
      await tcpdump.finished();

      // tcpdump captured every frame A sent, byte for byte (but A's kernel's MLD reports).
      const sentByTest = (r: { data: Uint8Array }) =>
        hex(r.data.subarray(6, 12)) === hex(parseMac(macA)!) &&
        hex(r.data.subarray(0, 2)) !== "3333";
      const captured = await Array.fromAsync(readRecords(pcap));
      const fromA = captured.filter(sentByTest);
      assert.deepEqual(fromA.map((r) => hex(r.data)), expected);

      // snout captured them too, decoded as built, every checksum valid.
      const packets = snoutResult.stdout.split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l) as JsonPacket
      );
      for (const p of packets) assert.equal(p.error, undefined, JSON.stringify(p));
      const ipFrom = (p: JsonPacket, src: string) =>
        (layerOf(p, "ipv4") ?? layerOf(p, "ipv6"))?.src === src;
      // A's kernel sends MLD reports to 33:33:* once IPv6 is on: those are not the test's.
      const sentBySnout = packets.filter((p) =>
        layerOf(p, "ethernet")?.src === macA &&
        !String(layerOf(p, "ethernet")?.dst).startsWith("33:33:")
      );
      assert.equal(sentBySnout.length, expected.length, snoutResult.stdout);
      for (const p of sentBySnout) {
        for (const layer of p.layers) {
          if ("checksumValid" in layer && layerOf(p, "ipv4")?.fragmentOffset === 0) {
            // A first fragment's UDP checksum covers bytes in later fragments: not verifiable.
            if (layer.type === "udp" && layerOf(p, "ipv4")?.moreFragments === true) continue;
            assert.equal(layer.checksumValid, true, JSON.stringify(p));
          }
        }
      }
      const syn = sentBySnout.find((p) => layerOf(p, "tcp")?.flags === SYN)!;
      assert.deepEqual(layerOf(syn, "tcp")!.options, [
        { kind: 2, length: 4, mss: 1460 },
        { kind: 4, length: 2 },
        { kind: 8, length: 10, tsval: 1000, tsecr: 0 },
        { kind: 1 },
        { kind: 3, length: 3, shift: 7 },
      ]);
      const hop = sentBySnout.find((p) => layerOf(p, "ipv6") !== undefined)!;
      assert.deepEqual((layerOf(hop, "ipv6")!.extensions as Fields[])[0], {
        type: "hopByHop",
        nextHeader: 17,
        length: 8,
        options: [{ type: 0x1e, length: 4, data: "abcd" }, { type: 1, length: 2, data: "" }],
      });
      assert.equal(layerOf(hop, "udp")!.checksumValid, true);
      const fragments = sentBySnout.filter((p) => layerOf(p, "ipv4")?.id === FRAGMENT_ID);
      assert.deepEqual(
        fragments.map((
          p,
        ) => [layerOf(p, "ipv4")!.fragmentOffset, layerOf(p, "ipv4")!.moreFragments]),
        [[0, true], [1480, true], [2960, false]],
      );

      // B's kernel answered: a RST for the SYN, the echo reply, the ARP reply, and a port
      // unreachable that quotes the whole reassembled datagram.
      const fromB = packets.filter((p) => ipFrom(p, b) || layerOf(p, "arp")?.senderIp === b);
      const rst = fromB.find((p) => layerOf(p, "tcp")?.dstPort === 40100);
      assert.ok(rst, snoutResult.stdout);
      assert.equal(layerOf(rst, "tcp")!.flags, RST | ACK);
      assert.equal(layerOf(rst, "tcp")!.ack, 123456790);
      const reply = fromB.find((p) => layerOf(p, "icmp")?.messageType === 0);
      assert.ok(reply, snoutResult.stdout);
      assert.deepEqual([layerOf(reply, "icmp")!.id, layerOf(reply, "icmp")!.seq], [0x5151, 1]);
      const arpReply = fromB.find((p) => layerOf(p, "arp")?.opcode === 2);
      assert.ok(arpReply, snoutResult.stdout);
      assert.equal(layerOf(arpReply, "arp")!.targetMac, macA);
      const reassembled = fromB.find((p) => layerOf(p, "ipv4", 1)?.id === FRAGMENT_ID);
      assert.ok(reassembled, snoutResult.stdout);
      assert.equal(layerOf(reassembled, "icmp")!.messageType, 3);
      assert.equal(layerOf(reassembled, "ipv4", 1)!.totalLength, 20 + 8 + 3000);

      // tshark calls every checksum of A's frames good (it reassembles the fragments).
      if (HAVE_TSHARK) {
        const verdicts = await tsharkChecksums(pcap);
        const indexes = captured.map((r, i) => [r, i] as const).filter(([r]) => sentByTest(r))
          .map(([, i]) => i);
        const ours = indexes.map((i) => verdicts[i]!);
        for (const verdict of ours) {
          for (const [protocol, values] of Object.entries(verdict)) {
            assert.ok(values.every((v) => v === "good"), `${protocol}: ${JSON.stringify(ours)}`);
          }
        }
        assert.ok(ours.flatMap((v) => Object.keys(v)).includes("icmp"));
        assert.ok(
          ours.some((v) => v.udp !== undefined && v.ip?.length === 1 && v.ip[0] === "good"),
        );
      } else {
        console.log("tshark is not installed: its checksum verdicts are skipped");
      }
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cli.ts replay of tests/testdata/tcp_session.pcap arrives whole, frame for frame, on the other end",
  ignore: !READY,
  async fn() {
    const pair = await namespacePair();
    const dir = await Deno.makeTempDir();
    try {
      const original = await Array.fromAsync(readRecords(fixture("tcp_session.pcap")));
      const pcap = `${dir}/replayed.pcap`;
      const tcpdump = await startTcpdump(pair.b, pair.vethB, pcap, original.length);
      const replay = await pair.a.exec(DENO, [
        "run",
        "-q",
        ...SEND_PERMISSIONS,
        CLI,
        "replay",
        "-r",
        fixture("tcp_session.pcap"),
        "-i",
        pair.vethA,
      ], { check: false });
      assert.equal(replay.code, 0, replay.stderr);
      const bytes = original.reduce((n, r) => n + r.data.length, 0);
      assert.equal(replay.stderr.trim(), `${original.length} packets sent, ${bytes} bytes`);
      const done = await tcpdump.finished();
      assert.equal(done.code, 0, done.stderr);
      const replayed = await Array.fromAsync(readRecords(pcap));
      assert.deepEqual(replayed.map((r) => hex(r.data)), original.map((r) => hex(r.data)));
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "buildPacket() bytes sent through the library's send() get an echo reply from the other namespace",
  ignore: !READY,
  async fn() {
    const pair = await namespacePair();
    const dir = await Deno.makeTempDir();
    try {
      await pair.b.exec("sysctl", ["-q", "-w", "net.ipv4.icmp_ratelimit=0"]);
      const layers: LayerSpec[] = [
        { type: "ipv4", src: pair.addressA, dst: pair.addressB },
        { type: "icmp", messageType: 8, id: 0x7777, seq: 3 },
      ];
      const script = `${dir}/send.ts`;
      await Deno.writeTextFile(
        script,
        `import { send } from ${JSON.stringify(`${ROOT}mod.ts`)};\n` +
          `const bytes = send(${JSON.stringify(layers)}, { interface: ${
            JSON.stringify(pair.vethA)
          } });\n` +
          "console.log(bytes.length);\n",
      );
      const pcap = `${dir}/a.pcap`;
      // A sees its request go out and B's reply come back (A's ARP for B comes first).
      const tcpdump = await startTcpdump(pair.a, pair.vethA, pcap);
      const result = await pair.a.exec(DENO, ["run", "-q", ...SEND_PERMISSIONS, script], {
        check: false,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), String(buildPacket(layers).length));
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      tcpdump.kill("SIGINT");
      await tcpdump.finished();
      const frames = await Array.fromAsync(readRecords(pcap));
      const icmp = frames.filter((f) =>
        hex(f.data.subarray(12, 14)) === "0800" && f.data[23] === 1
      );
      assert.deepEqual(icmp.map((f) => f.data[34]), [8, 0], "echo request, then echo reply");
      assert.deepEqual(icmp.map((f) => hex(f.data.subarray(38, 42))), ["77770003", "77770003"]);
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
