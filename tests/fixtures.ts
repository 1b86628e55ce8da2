/**
 * The recorded fixtures and the byte helpers the decoder tests share.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CaptureRecord } from "../parsers/capture_format.ts";
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
