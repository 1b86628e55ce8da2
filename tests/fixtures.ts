/**
 * The recorded fixtures and the byte helpers the decoder tests share.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CaptureRecord } from "../parsers/capture_format.ts";
import type { Layer } from "../parsers/types.ts";
import { readRecords } from "../io/read_records.ts";
import { fixture } from "./helpers.ts";

/** Every capture in tests/testdata (see tests/testdata/README.md). */
export const FIXTURES: readonly string[] = [
  "any_sll.pcap",
  "any_sll2.pcap",
  "arp_ping.pcap",
  "ip_fragments.pcap",
  "ipv4_options.pcap",
  "ipv6_ext_headers.pcap",
  "lo_tcp.pcap",
  "ping6_ndp.pcap",
  "refused.pcap",
  "tcp6_session.pcap",
  "tcp_sack.pcap",
  "tcp_session.pcap",
];

/** Every record of a fixture. */
export async function load(name: string): Promise<CaptureRecord[]> {
  return await Array.fromAsync(readRecords(fixture(name)));
}

/** A big-endian 16-bit value. */
export function u16(data: Uint8Array, offset: number): number {
  return (data[offset]! << 8) | data[offset + 1]!;
}

/** A big-endian 32-bit value. */
export function u32(data: Uint8Array, offset: number): number {
  return ((data[offset]! << 24) | (data[offset + 1]! << 16) | (data[offset + 2]! << 8) |
    data[offset + 3]!) >>> 0;
}

/** Writes a big-endian 16-bit value. */
export function setU16(data: Uint8Array, offset: number, value: number): void {
  data[offset] = value >> 8;
  data[offset + 1] = value & 0xff;
}

/** A copy of the first record `match` accepts; fails naming `what` when none does. */
export function pick(
  records: CaptureRecord[],
  what: string,
  match: (data: Uint8Array) => boolean,
): Uint8Array {
  const record = records.find((r) => match(r.data));
  assert.ok(record !== undefined, `No frame in the fixture is ${what}`);
  return record.data.slice();
}

/** The parts one after another. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Bytes of header the decoded layers span, summed from their own fields (not from the encoder):
 * what follows is the payload a record must carry to be re-encoded whole.
 */
export function headerBytes(layers: readonly Layer[]): number {
  let total = 0;
  for (const layer of layers as unknown as Record<string, unknown>[]) {
    switch (layer.type) {
      case "ethernet":
        total += 14;
        break;
      case "vlan":
      case "loopback":
        total += 4;
        break;
      case "sll":
        total += 16;
        break;
      case "sll2":
        total += 20;
        break;
      case "arp":
        total += 8 + 2 * ((layer.hardwareSize as number) + (layer.protocolSize as number));
        break;
      case "ipv4":
      case "tcp":
        total += layer.headerLength as number;
        break;
      case "ipv6":
        total += 40;
        for (const extension of layer.extensions as Record<string, unknown>[]) {
          total += extension.type === "esp" ? 4 : extension.length as number;
        }
        break;
      case "udp":
        total += 8;
        break;
      case "icmp":
      case "icmpv6": {
        total += 8;
        if (layer.target !== undefined) total += 16;
        if (layer.destination !== undefined) total += 16;
        if (layer.reachableTime !== undefined) total += 8;
        for (const option of (layer.ndOptions ?? []) as Record<string, unknown>[]) {
          total += option.length as number;
        }
        break;
      }
      default:
        throw new Error(`No header length for ${layer.type}`);
    }
  }
  return total;
}
