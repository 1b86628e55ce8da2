/**
 * Property tests: no input makes decodePacket() throw, and what it returns is a well-formed
 * record. Inputs are random frames under every supported link type, and the project's own
 * recorded frames (tests/testdata) with random bytes flipped, cut at random lengths, given wire
 * lengths beyond what was captured, and decoded under other link types.
 *
 * The seed is random and printed with every failure; set SNOUT_FUZZ_SEED (and grant
 * --allow-env=SNOUT_FUZZ_SEED) to replay one.
 */

import assert from "node:assert/strict";
import { AsciiBuffer } from "../format/ascii.ts";
import { writeJsonLines } from "../format/json.ts";
import { readRecords } from "../io/read_records.ts";
import { decodePacket } from "../parsers/decode.ts";
import type { PacketRecord } from "../parsers/types.ts";
import { fixture } from "./helpers.ts";
import { FIXTURES } from "./fixtures.ts";
import { random, SEED } from "./seeded_random.ts";

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];
const RANDOM_FRAMES_PER_LINK_TYPE = 3000;
const MAX_RANDOM_LENGTH = 200;
const MUTATIONS_PER_FRAME = 200;
function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Decodes `data` and checks the record; a failure names the seed and the input. */
function assertDecodes(data: Uint8Array, linkType: number, length: number, what: string): void {
  const input = () =>
    `seed ${SEED} (SNOUT_FUZZ_SEED=${SEED}), ${what}: linkType ${linkType}, length ${length}, ` +
    `bytes ${hex(data)}`;
  let pkt: PacketRecord;
  try {
    pkt = decodePacket(data, linkType, { length });
  } catch (error) {
    assert.fail(`decodePacket() threw ${error} for ${input()}`);
  }
  let json: string;
  try {
    json = JSON.stringify(pkt);
  } catch (error) {
    assert.fail(`The record is not JSON-serialisable (${error}) for ${input()}`);
  }
  if (!isDeepEqual(JSON.parse(json), pkt)) {
    assert.fail(`The record changes through JSON for ${input()}: ${json}`);
  }
  if (!Array.isArray(pkt.layers) || typeof pkt.truncated !== "boolean") {
    assert.fail(`Malformed record for ${input()}: ${json}`);
  }
  if (pkt.frame.captured !== data.length || pkt.frame.length !== length) {
    assert.fail(`Wrong frame lengths for ${input()}: ${json}`);
  }
  if (data.length < length && !pkt.truncated) {
    assert.fail(`A short capture is not marked truncated for ${input()}: ${json}`);
  }
  for (const [i, layer] of pkt.layers.entries()) {
    if (typeof layer.type !== "string" || ("partial" in layer && i !== pkt.layers.length - 1)) {
      assert.fail(`Layer ${i} is malformed or a partial layer is not last for ${input()}: ${json}`);
    }
  }
  const error = pkt.error;
  if (
    error !== undefined &&
    (typeof error.layer !== "string" || typeof error.reason !== "string" ||
      !Number.isInteger(error.offset) || error.offset < 0 || error.offset > data.length)
  ) {
    assert.fail(`Error offset outside [0, ${data.length}] for ${input()}: ${json}`);
  }
  // --json prints records a group at a time, split into lines where one record's text meets the
  // next: that must find exactly the joins.
  const lines = new AsciiBuffer();
  writeJsonLines([pkt, pkt], lines);
  if (lines.toString() !== `${json}\n${json}`) {
    assert.fail(`Two records through writeJsonLines() are not two lines for ${input()}: ${json}`);
  }
  // The formatters print decoder-made strings as they are: none may carry a byte of the packet.
  if (!/^[\x20-\x7e]*$/.test(json)) {
    assert.fail(`A string in the record is not printable ASCII for ${input()}: ${json}`);
  }
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Where each link type's network-layer packet starts, and how its link header names it. */
const NETWORK_OFFSET: Record<number, number> = { 0: 4, 108: 4, 1: 14, 113: 16, 276: 20 };
const IPV4_PROTOCOLS = [1, 4, 6, 17, 41, 58];
const IPV6_NEXT_HEADERS = [0, 6, 17, 41, 43, 44, 50, 51, 58, 59, 60];

/**
 * Makes a random frame plausible enough to reach past the link header: an IPv4 or IPv6 (or ARP)
 * type in the link header (behind a VLAN tag now and then) and a version, header length and protocol at the network layer.
 */
function steer(data: Uint8Array, linkType: number, rng: { int(below: number): number }): void {
  const tagged = linkType === 1 && rng.int(4) === 0; // an 802.1Q tag before the packet
  const at = (NETWORK_OFFSET[linkType] ?? 0) + (tagged ? 4 : 0);
  if (data.length < at + 10) return;
  if (tagged) data.set([0x81, 0x00], 12);
  const kind = rng.int(3); // 0: IPv4, 1: IPv6, 2: ARP
  const etherType = [0x0800, 0x86dd, 0x0806][kind]!;
  if (linkType === 1 || linkType === 113) data.set([etherType >> 8, etherType & 0xff], at - 2);
  if (linkType === 276) data.set([etherType >> 8, etherType & 0xff], 0);
  if (linkType === 0 || linkType === 108) data.set(kind === 1 ? [0, 0, 0, 10] : [0, 0, 0, 2], 0);
  if (kind === 0) {
    data[at] = 0x45 + rng.int(3);
    data[at + 9] = IPV4_PROTOCOLS[rng.int(IPV4_PROTOCOLS.length)]!;
    data[at + 6] = 0x40; // no fragment offset, so the transport layer is decoded
  } else if (kind === 1) {
    data[at] = 0x60;
    data[at + 6] = IPV6_NEXT_HEADERS[rng.int(IPV6_NEXT_HEADERS.length)]!;
  } else {
    data.set([0, 1, 8, 0, 6, 4], at);
  }
}

for (const [index, linkType] of LINK_TYPES.entries()) {
  Deno.test(`decodePacket() never throws on random frames of link type ${linkType}, and returns a well-formed record`, () => {
    const rng = random(index);
    for (let i = 0; i < RANDOM_FRAMES_PER_LINK_TYPE; i++) {
      const data = new Uint8Array(rng.int(MAX_RANDOM_LENGTH + 1));
      for (let j = 0; j < data.length; j++) data[j] = rng.int(256);
      if (i % 2 === 0) steer(data, linkType, rng);
      const length = rng.int(3) === 0 ? data.length + rng.int(2000) : data.length;
      assertDecodes(data, linkType, length, `random frame ${i}`);
    }
  });
}

const recorded: { name: string; linkType: number; data: Uint8Array }[] = [];
for (const name of FIXTURES) {
  let number = 0;
  for await (const record of readRecords(fixture(name))) {
    number++;
    recorded.push({ name: `${name}#${number}`, linkType: record.linkType, data: record.data });
  }
}

Deno.test("decodePacket() never throws on real frames with random bytes flipped, and returns a well-formed record", () => {
  const rng = random(100);
  for (const frame of recorded) {
    for (let i = 0; i < MUTATIONS_PER_FRAME; i++) {
      const data = frame.data.slice(0, Math.min(frame.data.length, 200));
      const flips = 1 + rng.int(4);
      for (let f = 0; f < flips; f++) data[rng.int(data.length)] = rng.int(256);
      assertDecodes(data, frame.linkType, data.length, `${frame.name} with ${flips} bytes changed`);
    }
  }
});

Deno.test("decodePacket() never throws on real frames cut at random lengths with wire lengths beyond the cut", () => {
  const rng = random(101);
  for (const frame of recorded) {
    for (let i = 0; i < MUTATIONS_PER_FRAME; i++) {
      const data = frame.data.slice(0, rng.int(Math.min(frame.data.length, 200) + 1));
      if (rng.int(2) === 0) data[rng.int(data.length)] = rng.int(256);
      const length = data.length + rng.int(frame.data.length + 2000);
      assertDecodes(data, frame.linkType, length, `${frame.name} cut at ${data.length}`);
    }
  }
});

Deno.test("decodePacket() never throws on real frames decoded under every other link type", () => {
  const rng = random(102);
  for (const frame of recorded) {
    const data = frame.data.slice(0, Math.min(frame.data.length, 200));
    for (const linkType of LINK_TYPES) {
      assertDecodes(data, linkType, data.length, `${frame.name} as link type ${linkType}`);
      const cut = data.subarray(0, rng.int(data.length + 1));
      assertDecodes(cut, linkType, data.length, `${frame.name} cut, as link type ${linkType}`);
    }
  }
});
