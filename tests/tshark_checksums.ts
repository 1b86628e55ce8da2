/**
 * tshark as the oracle of checksums: writes frames to a pcap (or reads one) and asks tshark,
 * with checksum validation switched on for every protocol, which checksums it calls good.
 *
 * @module
 */

import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
import { concat } from "./fixtures.ts";
import { haveProgram } from "./helpers.ts";

/** Whether tshark is installed. */
export const HAVE_TSHARK: boolean = haveProgram("tshark");

const SNAP_LENGTH = 262144;
const CHECKSUM_FIELDS = ["ip", "tcp", "udp", "icmp", "icmpv6"] as const;
/** tshark's checksum status values. */
const STATUS_NAMES: Record<string, string> = { "0": "bad", "1": "good", "2": "unverified" };

/** The checksum verdicts tshark gives one frame: `{ ip: ["good"], tcp: ["good"] }`. */
export type ChecksumVerdicts = Record<string, string[]>;

/** A pcap file of `frames`, all of `linkType`, one microsecond apart. */
export function pcapOf(frames: readonly Uint8Array[], linkType: number): Uint8Array {
  return concat(
    pcapFileHeader(linkType, SNAP_LENGTH, false),
    ...frames.flatMap((frame, i) => [pcapRecordHeader(0, i, frame.length, frame.length), frame]),
  );
}

/** tshark's checksum verdicts for every frame of the pcap at `path`, in order. */
export async function tsharkChecksums(path: string): Promise<ChecksumVerdicts[]> {
  const args = ["-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"];
  for (const protocol of CHECKSUM_FIELDS) {
    if (protocol !== "icmp" && protocol !== "icmpv6") {
      args.push("-o", `${protocol}.check_checksum:TRUE`);
    }
  }
  for (const protocol of CHECKSUM_FIELDS) args.push("-e", `${protocol}.checksum.status`);
  const output = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`tshark failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const columns = line.split("\t");
    const verdicts: ChecksumVerdicts = {};
    CHECKSUM_FIELDS.forEach((protocol, i) => {
      const column = columns[i] ?? "";
      if (column !== "") {
        verdicts[protocol] = column.split(",").map((value) => STATUS_NAMES[value] ?? value);
      }
    });
    return verdicts;
  });
}

/** tshark's checksum verdicts for `frames` of `linkType`, through a temporary pcap. */
export async function tsharkChecksumsOf(
  frames: readonly Uint8Array[],
  linkType: number,
): Promise<ChecksumVerdicts[]> {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, pcapOf(frames, linkType));
    return await tsharkChecksums(path);
  } finally {
    await Deno.remove(path);
  }
}
