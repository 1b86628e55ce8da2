/**
 * snout's filters against tcpdump's: for every capture in tests/testdata and in ../shared/captures
 * (when that folder sits beside the project) and every expression below, the frames snout's
 * compiler and interpreter accept are exactly the frames `tcpdump -r FILE -w OUT EXPR` keeps, and
 * an expression tcpdump refuses for a link type snout refuses too. Each frame is also checked cut
 * short at the lengths where headers end, where the order of a filter's loads decides what it
 * keeps.
 *
 * tcpdump numbers the packets it prints, not their place in the file, so the test learns which
 * frames it kept from the file it writes. To run few tcpdump processes, the captures of one link
 * type are put together in one temporary pcap whose record N has the timestamp N seconds: the
 * frames tcpdump keeps are then named by their timestamps, and their bytes are checked against
 * the originals. A big-endian copy of the BSD loopback captures checks that the address family is
 * read in the file's byte order, as libpcap reads it.
 */

import assert from "node:assert/strict";
import { compileFilter } from "../filter/compile.ts";
import { runFilter } from "../filter/interpret.ts";
import type { BpfProgram } from "../filter/bpf.ts";
import { readRecords } from "../io/read_records.ts";
import type { CaptureRecord } from "../parsers/capture_format.ts";
import { LINKTYPE_NULL } from "../parsers/link_type.ts";
import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
import { concat, FIXTURES } from "./fixtures.ts";
import { fixture, fromFileUrl, haveProgram, run } from "./helpers.ts";

/** Every construct of the language, on the addresses and ports the captures hold. */
const EXPRESSIONS: readonly string[] = [
  "ip",
  "ip6",
  "arp",
  "rarp",
  "tcp",
  "udp",
  "icmp",
  "icmp6",
  "sctp",
  "igmp",
  "ah or esp",
  "ether proto 0x86dd",
  "ether proto \\arp",
  "ether proto 0x8100",
  "ip proto 17",
  "ip proto \\tcp",
  "ip6 proto 58",
  "proto 6",
  "ip proto 2 or ip6 proto 0",
  "host 10.99.0.1",
  "src host 10.99.0.2",
  "dst host 10.99.0.2",
  "host 10.99.0.1 and host 10.99.0.2",
  "src and dst host 127.0.0.1",
  "ip host 127.0.0.1",
  "arp host 10.99.0.2",
  "rarp or arp dst host 10.99.0.1",
  "host fd00:99::1",
  "ip6 src host fd00:99::2",
  "net 10.99.0.0/24",
  "net 10.99.0.0 mask 255.255.255.0",
  "net 10.99",
  "net 10",
  "src net 192.168.0.0/16",
  "dst net 224.0.0.0/4",
  "net fe80::/10",
  "ip6 dst net fd00:99::/64",
  "port 8080",
  "tcp port 8080",
  "udp port 9999",
  "tcp src port 8080",
  "tcp dst port 8080",
  "port 80 or 443 or 8080",
  "udp port 53 or 9",
  "src or dst port 9",
  "portrange 8000-8100",
  "tcp portrange 1-1024",
  "udp portrange 1000-2000 or tcp portrange 8000-9000",
  "port domain",
  "tcp port http",
  "ether host 02:00:00:00:99:01",
  "ether src 02:00:00:00:99:02",
  "ether dst ff:ff:ff:ff:ff:ff",
  "ether broadcast",
  "ether multicast",
  "broadcast",
  "multicast",
  "ip multicast",
  "ip6 multicast",
  "ip broadcast",
  "vlan",
  "vlan 202",
  "vlan and ip",
  "vlan 200 and vlan 2001",
  "vlan and port 646",
  "not vlan and udp",
  "less 100",
  "greater 1000",
  "len > 600",
  "len <= 60",
  "greater 100 and less 200",
  "ip and len < 100",
  "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
  "tcp[tcpflags] & tcp-rst != 0",
  "tcp[13] & 0x12 = 0x12",
  "dst port 8080 and tcp[tcpflags] & tcp-push != 0",
  "icmp[icmptype] == icmp-echo",
  "icmp[icmptype] = icmp-unreach and icmp[icmpcode] = 3",
  "icmp6[icmp6type] == icmp6-echo",
  "icmp6[0] = 135 or icmp6[0] = 136",
  "ip[6:2] & 0x1fff = 0",
  "ip[6:2] & 0x3fff != 0",
  "ip[0] & 0xf > 5",
  "ip[2:2] > 576",
  "ip6[6] = 44",
  "udp[4:2] > 100",
  "tcp[12] >> 4 > 5",
  "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
  "ether[12:2] = 0x0800",
  "ip[9] - 1 = 0",
  "arp[6:2] = 2",
  "udp[0:2] * 2 > 100 / 2 + len % 7",
  "ip[8] ^ 0xff < 200",
  "-ip[8] & 0xff > 3",
  "ip[1] << 2 >= 0",
  "tcp and not port 8080",
  "not ip and not ip6",
  "icmp or icmp6 and not arp",
  "(tcp or udp) and not (port 53 or port 9)",
  "! tcp && ! udp || arp",
  "host 10.99.0.1 and not 10.99.0.2",
  "host 10.99.0.1 or 127.0.0.1",
  "tcp port 8080 and (host 10.99.0.1 or 10.99.0.2)",
  "ip and udp and udp[8:2] != 0",
];

const SHARED_CAPTURES = new URL("../../shared/captures/", import.meta.url);
const HAVE_TCPDUMP = haveProgram("tcpdump");
if (!HAVE_TCPDUMP) console.log("filter_agreement_test.ts: tcpdump is not installed; skipped");
/** tcpdump processes at a time. */
const CONCURRENCY = 4;
/** The snapshot length of the merged files: libpcap's largest. */
const SNAP_LENGTH = 262144;
/** Captured lengths the frames are cut to, around the ends of link, IP and transport headers. */
const CUT_LENGTHS = [4, 14, 18, 20, 24, 30, 34, 38, 40, 44, 48, 54, 56, 58, 60, 64, 70];
const PCAP_MAGIC = 0xa1b2c3d4;
const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;
const FILE_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;

/** A frame and where it came from. */
interface Frame {
  readonly source: string;
  readonly record: CaptureRecord;
}

/** Frames of one link type (and byte order), as one temporary pcap. */
interface Group {
  readonly name: string;
  readonly linkType: number;
  readonly bigEndian: boolean;
  readonly frames: Frame[];
}

function captureFiles(): string[] {
  const files = FIXTURES.map(fixture);
  try {
    for (const entry of Deno.readDirSync(SHARED_CAPTURES)) {
      if (/\.pcap(ng)?$/.test(entry.name)) {
        files.push(fromFileUrl(new URL(entry.name, SHARED_CAPTURES)));
      }
    }
  } catch {
    console.log("filter_agreement_test.ts: ../shared/captures is not there; testdata only");
  }
  return files.sort();
}

async function loadGroups(): Promise<Group[]> {
  const groups = new Map<string, Group>();
  for (const file of captureFiles()) {
    let index = 0;
    for await (const record of readRecords(file)) {
      index++;
      const key = String(record.linkType);
      let group = groups.get(key);
      if (group === undefined) {
        group = {
          name: `linktype ${key}`,
          linkType: record.linkType,
          bigEndian: false,
          frames: [],
        };
        groups.set(key, group);
      }
      group.frames.push({ source: `${file.split("/").pop()}#${index}`, record });
    }
  }
  // Every frame again, cut short at the lengths where headers end, the way a small snapshot
  // length cuts packets: a load past the captured bytes rejects the packet, so the order in
  // which a filter loads decides what it keeps, and it must be libpcap's.
  for (const group of groups.values()) {
    const cut: Frame[] = [];
    for (const { source, record } of group.frames) {
      for (const length of CUT_LENGTHS) {
        if (length >= record.data.length) break;
        cut.push({
          source: `${source} cut to ${length}`,
          record: { ...record, data: record.data.slice(0, length) },
        });
      }
    }
    group.frames.push(...cut);
  }
  const loopback = groups.get(String(LINKTYPE_NULL));
  if (loopback !== undefined) {
    // The same packets as a big-endian host would have captured them.
    groups.set("null-be", {
      name: "linktype 0, big-endian copy",
      linkType: LINKTYPE_NULL,
      bigEndian: true,
      frames: loopback.frames.map(({ source, record }) => {
        const data = record.data.slice();
        if (data.length >= 4) data.subarray(0, 4).reverse();
        return { source: `${source} (big-endian)`, record: { ...record, data } };
      }),
    });
  }
  return [...groups.values()];
}

/** A pcap of the group's frames, record N stamped N seconds. */
function groupFile(group: Group): Uint8Array {
  const parts: Uint8Array[] = [];
  if (group.bigEndian) {
    const header = new DataView(new ArrayBuffer(FILE_HEADER_LENGTH));
    header.setUint32(0, PCAP_MAGIC);
    header.setUint16(4, PCAP_VERSION_MAJOR);
    header.setUint16(6, PCAP_VERSION_MINOR);
    header.setUint32(16, SNAP_LENGTH);
    header.setUint32(20, group.linkType);
    parts.push(new Uint8Array(header.buffer));
  } else {
    parts.push(pcapFileHeader(group.linkType, SNAP_LENGTH, false));
  }
  group.frames.forEach(({ record }, i) => {
    if (group.bigEndian) {
      const header = new DataView(new ArrayBuffer(RECORD_HEADER_LENGTH));
      header.setUint32(0, i);
      header.setUint32(8, record.data.length);
      header.setUint32(12, record.length);
      parts.push(new Uint8Array(header.buffer));
    } else {
      parts.push(pcapRecordHeader(i, 0, record.data.length, record.length));
    }
    parts.push(record.data);
  });
  return concat(...parts);
}

/** What a filter did to a group: the indexes of the frames kept, or the refusal. */
type Verdict = { kept: number[] } | { refused: string };

async function tcpdumpVerdict(group: Group, input: string, expression: string): Promise<Verdict> {
  const output = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const result = await run("tcpdump", [
      "-Z",
      "root",
      "-r",
      input,
      "-w",
      output,
      "--",
      expression,
    ]);
    if (result.code !== 0) return { refused: result.stderr.trim().split("\n").pop()! };
    const kept: number[] = [];
    for await (const record of readRecords(output)) {
      const original = group.frames[record.seconds]?.record;
      assert.ok(original, `tcpdump wrote a frame stamped ${record.seconds}, not in the input`);
      assert.deepEqual(record.data, original.data, `frame ${record.seconds}: bytes differ`);
      kept.push(record.seconds);
    }
    return { kept };
  } finally {
    await Deno.remove(output);
  }
}

function snoutVerdict(group: Group, expression: string): Verdict {
  let program: BpfProgram;
  try {
    program = compileFilter(expression, group.linkType, {
      nullByteOrder: group.bigEndian ? "big-endian" : "little-endian",
    });
  } catch (error) {
    return { refused: error instanceof Error ? error.message : String(error) };
  }
  const kept: number[] = [];
  group.frames.forEach(({ record }, i) => {
    if (runFilter(program, record.data, record.length) !== 0) kept.push(i);
  });
  return { kept };
}

/** Runs `task` over `items`, `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

function describeDifference(group: Group, expression: string, ours: Verdict, theirs: Verdict) {
  if ("refused" in ours || "refused" in theirs) {
    const say = (v: Verdict) =>
      "refused" in v ? `refuses (${v.refused})` : `accepts ${v.kept.length}`;
    return `${group.name}: "${expression}": snout ${say(ours)}, tcpdump ${say(theirs)}`;
  }
  const a = new Set(ours.kept);
  const b = new Set(theirs.kept);
  const onlyOurs = ours.kept.filter((i) => !b.has(i)).map((i) => group.frames[i]!.source);
  const onlyTheirs = theirs.kept.filter((i) => !a.has(i)).map((i) => group.frames[i]!.source);
  return `${group.name}: "${expression}": only snout keeps [${onlyOurs.join(", ")}]; ` +
    `only tcpdump keeps [${onlyTheirs.join(", ")}]`;
}

Deno.test({
  name: "filters keep exactly the frames tcpdump keeps, on every capture and expression",
  ignore: !HAVE_TCPDUMP,
  permissions: { read: true, write: true, run: true, env: true },
  async fn() {
    assert.ok(EXPRESSIONS.length >= 60);
    const groups = await loadGroups();
    const differences: string[] = [];
    let comparisons = 0;
    let frames = 0;
    for (const group of groups) {
      frames += group.bigEndian ? 0 : group.frames.length;
      const input = await Deno.makeTempFile({ suffix: ".pcap" });
      try {
        await Deno.writeFile(input, groupFile(group));
        const verdicts = await pool(
          EXPRESSIONS,
          CONCURRENCY,
          (expression) => tcpdumpVerdict(group, input, expression),
        );
        EXPRESSIONS.forEach((expression, i) => {
          const theirs = verdicts[i]!;
          const ours = snoutVerdict(group, expression);
          comparisons++;
          const same = "refused" in theirs
            ? "refused" in ours
            : "kept" in ours && ours.kept.join() === theirs.kept.join();
          if (!same) differences.push(describeDifference(group, expression, ours, theirs));
        });
      } finally {
        await Deno.remove(input);
      }
    }
    console.log(
      `filter agreement: ${EXPRESSIONS.length} expressions x ${groups.length} link-type groups ` +
        `(${frames} frames, whole and cut short, of ${captureFiles().length} captures): ` +
        `${comparisons} comparisons`,
    );
    assert.deepEqual(differences, []);
  },
});
