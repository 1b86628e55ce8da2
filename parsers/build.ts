/**
 * Packets from records: the inverse of `decode.ts`. A record of the shape `--json` prints (its
 * `layers`, outermost first, and a `payload` for what follows the last layer) becomes the bytes
 * of one frame, with every field the record leaves out given a default and the lengths and
 * checksums computed (transport checksums over the IPv4 or IPv6 pseudo header). A field the
 * record gives is written as given, a wrong checksum included, so that `encodePacket()` of a
 * decoded packet (with the bytes after its headers as its payload) gives that packet back.
 *
 * @module
 */

import { BuildError, isObject, LayerFields } from "./build_fields.ts";
import { parseHex } from "./address_parse.ts";
import { planArp } from "./encode_arp.ts";
import { planIcmp } from "./encode_icmp.ts";
import { planIpv4 } from "./encode_ipv4.ts";
import { planIpv6 } from "./encode_ipv6.ts";
import { planEthernet, planLoopback, planSll, planSll2, planVlan } from "./encode_link.ts";
import { planTcp } from "./encode_tcp.ts";
import { planUdp } from "./encode_udp.ts";
import { icmpQuotesPacket, icmpv6QuotesPacket } from "./icmp.ts";
import type { IpContext, LayerPlan } from "./layer_plan.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "./link_type.ts";
import type { Layer, LayerType } from "./types.ts";

/**
 * A layer to build: its record `type` and any of its fields, as `--json` prints them. Fields left
 * out take their defaults; see each `plan*` function in the `encode_*.ts` files.
 */
export interface LayerSpec {
  type: LayerType;
  [field: string]: unknown;
}

/**
 * What follows the last layer: bytes, a hex string (`"48690a"`), `{ "hex": "..." }`, or
 * `{ "text": "..." }` (written as UTF-8).
 */
export type PayloadSpec = Uint8Array | string | { hex: string } | { text: string };

/** Options of {@linkcode buildPacket}. */
export interface BuildOptions {
  /** The bytes after the last layer's header. */
  payload?: PayloadSpec;
  /**
   * The link type a leading loopback header is written for: LINKTYPE_LOOP (108) writes its
   * family big-endian, anything else little-endian (LINKTYPE_NULL, host order on x86 and arm).
   */
  linkType?: number;
}

/** A record to build, as `--json` prints it, with its payload. */
export interface PacketSpec {
  /** The layers, outermost first. */
  layers: readonly (Layer | LayerSpec)[];
  /** What follows the last layer. */
  payload?: PayloadSpec;
  /** Ignored, but for `linkType` when the first layer is a loopback header. */
  frame?: { linkType?: number };
  /** Must be false (or absent): a truncated record's lengths describe bytes it does not have. */
  truncated?: boolean;
  /** Must be absent: a record with a decode error does not describe a whole packet. */
  error?: unknown;
}

/** The layers that may start a packet. */
const FIRST_LAYERS: readonly LayerType[] = ["ethernet", "sll", "sll2", "loopback", "ipv4", "ipv6"];
const AFTER_LINK: readonly LayerType[] = ["vlan", "arp", "ipv4", "ipv6"];

/** What each layer can carry, as the decoder walks it. */
const FOLLOWERS: Readonly<Record<LayerType, readonly LayerType[]>> = {
  ethernet: AFTER_LINK,
  vlan: AFTER_LINK,
  sll: AFTER_LINK,
  sll2: AFTER_LINK,
  loopback: ["ipv4", "ipv6"],
  ipv4: ["tcp", "udp", "icmp", "ipv4", "ipv6"],
  ipv6: ["tcp", "udp", "icmpv6", "ipv4", "ipv6"],
  icmp: ["ipv4"],
  icmpv6: ["ipv6"],
  arp: [],
  tcp: [],
  udp: [],
};

const RECORD_FIELDS = new Set(["layers", "payload", "frame", "truncated", "error"]);
const encoder = new TextEncoder();

/**
 * The link type a packet built from these layers is decoded as: Ethernet, SLL, SLL2, NULL for
 * a loopback header (or `linkType` when it is LOOP), and RAW for packets that start at IP.
 *
 * @example Layers starting at IPv6
 * ```ts
 * import { linkTypeOf } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.equal(linkTypeOf([{ type: "ipv6" }]), 101);
 * assert.equal(linkTypeOf([{ type: "ethernet" }]), 1);
 * ```
 */
export function linkTypeOf(layers: readonly { type: string }[], linkType?: number): number {
  switch (layers[0]?.type) {
    case "ethernet":
      return LINKTYPE_ETHERNET;
    case "sll":
      return LINKTYPE_LINUX_SLL;
    case "sll2":
      return LINKTYPE_LINUX_SLL2;
    case "loopback":
      return linkType === LINKTYPE_LOOP ? LINKTYPE_LOOP : LINKTYPE_NULL;
    default:
      return LINKTYPE_RAW;
  }
}

/**
 * Payload bytes from a {@linkcode PayloadSpec}.
 *
 * @throws {BuildError} For anything else, or hex that is not an even number of hex digits.
 *
 * @example Text and hex
 * ```ts
 * import { payloadBytes } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.equal(payloadBytes({ text: "hi" }).join(), "104,105");
 * assert.equal(payloadBytes("6869").join(), "104,105");
 * ```
 */
export function payloadBytes(payload: unknown): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  const form = 'give hex digits ("48690a"), {"hex": "48690a"} or {"text": "Hi\\n"}';
  if (typeof payload === "string" || (isObject(payload) && typeof payload.hex === "string")) {
    const text = typeof payload === "string" ? payload : payload.hex as string;
    const bytes = parseHex(text);
    if (bytes === undefined || (isObject(payload) && Object.keys(payload).length !== 1)) {
      throw new BuildError(
        `payload ${JSON.stringify(payload)} is not an even number of hex digits: ${form}`,
      );
    }
    return bytes;
  }
  if (isObject(payload) && typeof payload.text === "string" && Object.keys(payload).length === 1) {
    return encoder.encode(payload.text);
  }
  throw new BuildError(`payload ${JSON.stringify(payload)} is not one I can read: ${form}`);
}

function where(index: number, type: unknown): string {
  return `layer ${index + 1} (${typeof type === "string" ? type : JSON.stringify(type)})`;
}

/** Checks the layers' types and their order; returns the types. */
function checkStack(layers: readonly unknown[]): LayerType[] {
  if (layers.length === 0) throw new BuildError("there are no layers to build");
  const types: LayerType[] = [];
  layers.forEach((layer, i) => {
    if (!isObject(layer)) {
      throw new BuildError(`layer ${i + 1} must be an object, not ${JSON.stringify(layer)}`);
    }
    const type = layer.type;
    if (typeof type !== "string" || !Object.hasOwn(FOLLOWERS, type)) {
      throw new BuildError(
        `${where(i, type)} is not a layer I can build; give one of ${
          Object.keys(FOLLOWERS).join(", ")
        }`,
      );
    }
    if (layer.partial !== undefined) {
      throw new BuildError(
        `${where(i, type)} is partial (cut short by the capture): give the whole header`,
      );
    }
    const layerType = type as LayerType;
    const previous = types[i - 1];
    if (previous === undefined) {
      if (!FIRST_LAYERS.includes(layerType)) {
        throw new BuildError(
          `${where(i, type)} cannot start a packet; start with ${FIRST_LAYERS.join(", ")}`,
        );
      }
    } else if (!FOLLOWERS[previous].includes(layerType)) {
      const followers = FOLLOWERS[previous];
      throw new BuildError(
        `${where(i, type)} cannot follow ${previous}` +
          (followers.length === 0
            ? `: nothing but the payload follows ${previous}`
            : `: after ${previous} come ${followers.join(", ")}`),
      );
    } else if (previous === "icmp" || previous === "icmpv6") {
      const messageType = (layers[i - 1] as Record<string, unknown>).messageType;
      const quotes = previous === "icmp" ? icmpQuotesPacket : icmpv6QuotesPacket;
      if (typeof messageType === "number" && !quotes(messageType)) {
        throw new BuildError(
          `${where(i, type)} cannot follow ${previous} type ${messageType}, which quotes no ` +
            "packet: put those bytes in the payload",
        );
      }
    }
    types.push(layerType);
  });
  return types;
}

function plan(
  type: LayerType,
  fields: LayerFields,
  next: LayerPlan | undefined,
  linkType: number | undefined,
): LayerPlan {
  switch (type) {
    case "ethernet":
      return planEthernet(fields, next);
    case "vlan":
      return planVlan(fields, next);
    case "sll":
      return planSll(fields, next);
    case "sll2":
      return planSll2(fields, next);
    case "loopback":
      return planLoopback(fields, next, linkType === LINKTYPE_LOOP);
    case "arp":
      return planArp(fields);
    case "ipv4":
      return planIpv4(fields, next);
    case "ipv6":
      return planIpv6(fields, next);
    case "tcp":
      return planTcp(fields);
    case "udp":
      return planUdp(fields);
    case "icmp":
      return planIcmp(fields, 4);
    case "icmpv6":
      return planIcmp(fields, 6);
  }
}

/**
 * Builds one frame from its layers, outermost first, and the payload after them.
 *
 * Defaults: lengths, header lengths and Next Header / protocol / EtherType fields follow from
 * what the packet holds; IPv4 id 1, TTL and hop limit 64, TCP flags SYN and window 65535; every
 * checksum is computed (IPv4 header; TCP, UDP and ICMPv6 with their pseudo header; ICMP).
 * Required: addresses (MAC, IP, ARP), ports, ICMP message types, and whatever `plan*` in
 * `encode_*.ts` names. A field given is written as given, even where it makes the packet wrong.
 *
 * @throws {BuildError} For a layer out of place, a field of the wrong type or range, a missing
 *   field without a default, or a field the layer does not have; the message names the layer.
 *
 * @example A TCP SYN to port 80
 * ```ts
 * import { buildPacket } from "./build.ts";
 * import assert from "node:assert/strict";
 * const bytes = buildPacket([
 *   { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
 *   { type: "tcp", srcPort: 40000, dstPort: 80, options: [{ kind: 2, mss: 1460 }] },
 * ]);
 * assert.ok(bytes.length === 44 && bytes[9] === 6 && bytes[33] === 0x02);
 * ```
 */
export function buildPacket(
  layers: readonly (Layer | LayerSpec)[],
  options: BuildOptions = {},
): Uint8Array {
  if (!Array.isArray(layers)) throw new BuildError("layers must be a list of layer objects");
  const types = checkStack(layers);
  const payload = options.payload === undefined ? new Uint8Array(0) : payloadBytes(options.payload);
  const plans: LayerPlan[] = new Array(types.length);
  for (let i = types.length - 1; i >= 0; i--) {
    const fields = new LayerFields(layers[i] as Record<string, unknown>, where(i, types[i]));
    plans[i] = plan(types[i]!, fields, plans[i + 1], options.linkType);
  }
  const offsets: number[] = [];
  let size = 0;
  for (const p of plans) {
    offsets.push(size);
    size += p.size;
  }
  const bytes = new Uint8Array(size + payload.length);
  bytes.set(payload, size);
  const view = new DataView(bytes.buffer);
  plans.forEach((p, i) => p.write(view, offsets[i]!));
  const ends: number[] = [];
  let end = bytes.length;
  plans.forEach((p, i) => {
    ends.push(end);
    end = p.fillLengths?.(view, offsets[i]!, end) ?? end;
  });
  const contexts = plans.map((p, i) => p.ipContext?.(view, offsets[i]!, ends[i]!));
  for (let i = plans.length - 1; i >= 0; i--) {
    let ip: IpContext | undefined;
    for (let j = i - 1; j >= 0 && ip === undefined; j--) ip = contexts[j];
    plans[i]!.fillChecksum?.(view, offsets[i]!, ends[i]!, ip);
  }
  return bytes;
}

/**
 * Builds the frame a record describes: a {@linkcode PacketSpec}, or a line of `--json` output
 * with a `payload` added. `frame` is ignored (but for a loopback header's link type); a record
 * marked `truncated`, or carrying a decode `error`, is refused, as is a partial layer.
 *
 * @throws {BuildError} As {@linkcode buildPacket}, and for a record of the wrong shape.
 *
 * @example Re-encode a decoded packet
 * ```ts
 * import { encodePacket } from "./build.ts";
 * import { decodePacket } from "./decode.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 59, 0x26, 0xac, 10, 0, 0, 1,
 *   10, 0, 0, 2]);
 * const again = encodePacket(decodePacket(bytes, 101));
 * assert.equal(again.join(), bytes.join());
 * ```
 */
export function encodePacket(record: PacketSpec | Record<string, unknown>): Uint8Array {
  if (!isObject(record)) throw new BuildError("a record must be a JSON object");
  for (const name of Object.keys(record)) {
    if (!RECORD_FIELDS.has(name) && record[name] !== undefined) {
      throw new BuildError(
        `the record has no field ${JSON.stringify(name)} (give layers, and payload)`,
      );
    }
  }
  if (record.truncated !== undefined && record.truncated !== false) {
    throw new BuildError(
      "the record is truncated: its lengths and checksums describe bytes the capture cut off",
    );
  }
  if (record.error !== undefined) {
    throw new BuildError(
      `the record carries a decode error (${JSON.stringify(record.error)}): it is not a whole ` +
        "packet",
    );
  }
  if (!Array.isArray(record.layers)) {
    throw new BuildError("the record needs layers: a list of layer objects");
  }
  const frame = record.frame;
  const linkType = isObject(frame) && typeof frame.linkType === "number"
    ? frame.linkType
    : undefined;
  return buildPacket(record.layers, {
    ...(record.payload === undefined ? {} : { payload: record.payload as PayloadSpec }),
    ...(linkType === undefined ? {} : { linkType }),
  });
}
