/**
 * IPv4 fragmentation: fragments that reassemble to the datagram, with offsets, flags, options and
 * checksums as RFC 791 says; tshark, which reassembles them, as the oracle of the UDP checksum.
 */

import assert from "node:assert/strict";
import { buildPacket } from "../parsers/build.ts";
import { BuildError } from "../parsers/build_fields.ts";
import { decodePacket } from "../parsers/decode.ts";
import { fragmentIpv4 } from "../parsers/fragment.ts";
import type { Ipv4Layer, UdpLayer } from "../parsers/types.ts";
import { concat } from "./fixtures.ts";
import { HAVE_TSHARK, tsharkChecksumsOf } from "./tshark_checksums.ts";

const LINKTYPE_ETHERNET = 1;
const ETHERNET = 14;
const MTU = 1500;
const PAYLOAD = 3000;

function datagram(options: Record<string, unknown>[] = [], extra: Record<string, unknown> = {}) {
  const payload = Uint8Array.from({ length: PAYLOAD }, (_, i) => i % 251);
  return buildPacket([
    { type: "ethernet", dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01" },
    { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", id: 4242, options, ...extra },
    { type: "udp", srcPort: 4000, dstPort: 9999 },
  ], { payload });
}

Deno.test("fragmentIpv4() splits a 3028-byte datagram into fragments of at most the MTU that reassemble to it", () => {
  const frame = datagram();
  const fragments = fragmentIpv4(frame, ETHERNET, MTU);
  assert.deepEqual(fragments.map((f) => f.length - ETHERNET), [1500, 1500, 68]);
  const ips = fragments.map((f) => decodePacket(f, LINKTYPE_ETHERNET).layers[1] as Ipv4Layer);
  assert.deepEqual(
    ips.map((ip) => [ip.id, ip.fragmentOffset, ip.moreFragments, ip.totalLength, ip.checksumValid]),
    [[4242, 0, true, 1500, true], [4242, 1480, true, 1500, true], [4242, 2960, false, 68, true]],
  );
  for (const fragment of fragments) {
    assert.deepEqual(fragment.subarray(0, ETHERNET), frame.subarray(0, ETHERNET));
  }
  // The first fragment carries the UDP header, whose length and checksum cover the whole datagram.
  const udp = decodePacket(fragments[0]!, LINKTYPE_ETHERNET).layers[2] as UdpLayer;
  assert.equal(udp.length, 8 + PAYLOAD);
  const data = concat(...fragments.map((f) => f.subarray(ETHERNET + 20)));
  assert.deepEqual(data, frame.subarray(ETHERNET + 20));
});

Deno.test("fragmentIpv4() keeps every option in the first fragment and only copied ones after it", () => {
  // Router alert (148) and a loose source route (131) are copied; record route (7) is not.
  const frame = datagram([
    { type: 7, length: 7 },
    { type: 148, data: "0000" },
    { type: 131, data: "040a000009" },
  ]);
  const fragments = fragmentIpv4(frame, ETHERNET, MTU);
  const ips = fragments.map((f) => decodePacket(f, LINKTYPE_ETHERNET).layers[1] as Ipv4Layer);
  assert.deepEqual(ips[0]!.options.map((o) => o.type), [7, 148, 131, 0]);
  assert.equal(ips[0]!.headerLength, 40);
  for (const ip of ips.slice(1)) {
    assert.deepEqual(ip.options, [
      { type: 148, length: 4, data: "0000" },
      { type: 131, length: 7, data: "040a000009" },
      { type: 0, length: 1 },
    ]);
    assert.equal(ip.headerLength, 32);
    assert.equal(ip.checksumValid, true);
  }
  // Offsets count data bytes only, and every fragment but the last holds a multiple of 8.
  for (const [i, ip] of ips.entries()) {
    assert.ok(ip.totalLength <= MTU);
    if (i < ips.length - 1) assert.equal((ip.totalLength - ip.headerLength) % 8, 0);
    if (i > 0) {
      const previous = ips[i - 1]!;
      assert.equal(
        ip.fragmentOffset,
        previous.fragmentOffset + previous.totalLength - previous.headerLength,
      );
    }
  }
});

Deno.test("fragmentIpv4() leaves a datagram that fits alone, and continues the offsets of a fragment", () => {
  const small = buildPacket([
    { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
    { type: "udp", srcPort: 1, dstPort: 2 },
  ]);
  assert.deepEqual(fragmentIpv4(small, 0, MTU), [small]);
  const later = buildPacket([
    {
      type: "ipv4",
      src: "10.0.0.1",
      dst: "10.0.0.2",
      fragmentOffset: 800,
      moreFragments: true,
      protocol: 17,
    },
  ], { payload: new Uint8Array(200) });
  const pieces = fragmentIpv4(later, 0, 100);
  const ips = pieces.map((f) => decodePacket(f, 101).layers[0] as Ipv4Layer);
  assert.deepEqual(ips.map((ip) => ip.fragmentOffset), [800, 880, 960]);
  assert.deepEqual(ips.map((ip) => ip.moreFragments), [true, true, true]);
});

Deno.test("fragmentIpv4() refuses don't-fragment datagrams and MTUs too small for the header", () => {
  const refuse = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof BuildError && pattern.test(e.message));
  refuse(
    () => fragmentIpv4(datagram([], { dontFragment: true }), ETHERNET, MTU),
    /has dontFragment set/,
  );
  refuse(
    () => fragmentIpv4(datagram(), ETHERNET, 60),
    /MTU 60 is too small: IPv4 needs at least 68/,
  );
  refuse(() => fragmentIpv4(datagram(), 0, MTU), /not a whole IPv4 datagram/);
});

Deno.test("tshark reassembles the fragments and calls the UDP checksum good", {
  ignore: !HAVE_TSHARK,
}, async () => {
  const verdicts = await tsharkChecksumsOf(
    fragmentIpv4(datagram(), ETHERNET, MTU),
    LINKTYPE_ETHERNET,
  );
  assert.deepEqual(verdicts, [{ ip: ["good"] }, { ip: ["good"] }, { ip: ["good"], udp: ["good"] }]);
});
