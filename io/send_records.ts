/**
 * The loop behind `cli.ts send`: NDJSON records in, built packets out to an emitter (a sender,
 * or a printer for a dry run), counted, paced and, where asked, split into IPv4 fragments.
 *
 * @module
 */

import { encodePacket, linkTypeOf, type PacketSpec } from "../parsers/build.ts";
import { BuildError, isObject } from "../parsers/build_fields.ts";
import { linkHeaderLength } from "../parsers/decode.ts";
import { fragmentIpv4 } from "../parsers/fragment.ts";
import type { Layer } from "../parsers/types.ts";
import type { NdjsonLine } from "./read_ndjson.ts";
import { Pacer } from "./pacer.ts";

/** Layers in front of the network layer. */
const LINK_LAYERS: ReadonlySet<string> = new Set(["ethernet", "vlan", "sll", "sll2", "loopback"]);

/** How to send a stream of records. */
export interface SendRecordsOptions {
  /**
   * Records to send. With fewer records than this, sending starts over from the first (so one
   * record and `count: 5` sends it five times); with more, the rest are not read. Default: each
   * record once.
   */
  count?: number;
  /** Records per second; default: as fast as they are built. */
  rate?: number;
  /** Split IPv4 datagrams with a total length above this into fragments. */
  mtu?: number;
  /** Stops sending (between records) when aborted. */
  signal?: AbortSignal;
}

/** One record, built: its packets (one, or its fragments) and the link type they start at. */
export interface BuiltRecord {
  /** The line of the input it came from. */
  line: number;
  /** The packets to send, in order. */
  packets: Uint8Array[];
  /** The link type of the packets. */
  linkType: number;
}

/** Receives each packet to send, with the line of its record (or a replayed frame's number). */
export type PacketEmitter = (packet: Uint8Array, linkType: number, line: number) => void;

/** What a send loop did. */
export interface SendRecordsResult {
  /** Records sent (a record sent as fragments counts once). */
  records: number;
  /** Packets handed to the emitter. */
  packets: number;
  /** Their bytes. */
  bytes: number;
}

/**
 * An error's message with ` from line N` after its leading "Cannot ..." phrase, or prefixed with
 * the line when it has none.
 *
 * @example A build error
 * ```ts
 * import { atLine } from "./send_records.ts";
 * import assert from "node:assert/strict";
 * const error = atLine(new Error("Cannot build packet: layer 1 (ipv4): needs dst"), 3);
 * assert.equal(error.message, "Cannot build packet from line 3: layer 1 (ipv4): needs dst");
 * ```
 */
export function atLine(error: unknown, line: number): Error {
  const message = error instanceof Error ? error.message : String(error);
  const colon = message.indexOf(": ");
  const text = message.startsWith("Cannot ") && colon > 0
    ? `${message.slice(0, colon)} from line ${line}${message.slice(colon)}`
    : `Line ${line}: ${message}`;
  return new Error(text, { cause: error });
}

/**
 * Builds one NDJSON record into the packets to send, fragmenting IPv4 datagrams above `mtu`.
 *
 * @throws {Error} "Cannot build packet from line N: ..." for a record that cannot be built.
 *
 * @example A UDP datagram split for a 1500-byte MTU
 * ```ts
 * import { buildRecord } from "./send_records.ts";
 * import assert from "node:assert/strict";
 * const built = buildRecord({
 *   line: 1,
 *   value: {
 *     layers: [{ type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { type: "udp", srcPort: 1, dstPort: 2 }],
 *     payload: "00".repeat(2000),
 *   },
 * }, 1500);
 * assert.ok(built.packets.length === 2 && built.linkType === 101);
 * ```
 */
export function buildRecord(record: NdjsonLine, mtu?: number): BuiltRecord {
  try {
    const value = record.value;
    const bytes = encodePacket(value as PacketSpec);
    const spec = value as PacketSpec;
    const frame = isObject(spec.frame) ? spec.frame : undefined;
    const linkType = linkTypeOf(spec.layers, frame?.linkType);
    const layers = spec.layers as readonly Layer[];
    const network = layers.find((layer) => !LINK_LAYERS.has(layer.type));
    const packets = mtu !== undefined && network?.type === "ipv4"
      ? fragmentIpv4(bytes, linkHeaderLength(layers), mtu)
      : [bytes];
    return { line: record.line, packets, linkType };
  } catch (error) {
    if (error instanceof BuildError) {
      throw new Error(`Cannot build packet from line ${record.line}: ${error.detail}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted ?? false;
}

/**
 * Builds each record of `records` and hands its packets to `emit`, as `options` say: a count
 * (cycling through the records when there are fewer), a rate in records per second, an MTU to
 * fragment IPv4 datagrams for. Stops early, without an error, when the signal aborts.
 *
 * @throws {Error} For a record that cannot be built (its line in the message), when there are
 *   no records, or whatever `emit` throws.
 *
 * @example Print the length of each packet instead of sending it
 * ```ts
 * import { sendRecords } from "./send_records.ts";
 * import assert from "node:assert/strict";
 * const record = { layers: [{ type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", protocol: 59 }] };
 * const lengths: number[] = [];
 * await sendRecords([{ line: 1, value: record }], { count: 3 }, (p) => lengths.push(p.length));
 * assert.equal(lengths.join(), "20,20,20");
 * ```
 */
export async function sendRecords(
  records: AsyncIterable<NdjsonLine> | Iterable<NdjsonLine>,
  options: SendRecordsOptions,
  emit: PacketEmitter,
): Promise<SendRecordsResult> {
  const result: SendRecordsResult = { records: 0, packets: 0, bytes: 0 };
  const count = options.count ?? Infinity;
  const kept: BuiltRecord[] = [];
  const pacer = new Pacer();
  const signal = options.signal;
  const sendOne = async (built: BuiltRecord): Promise<boolean> => {
    if (options.rate !== undefined) {
      try {
        await pacer.until(Pacer.rateDue(result.records, options.rate), signal);
      } catch (error) {
        if (aborted(signal)) return false;
        throw error;
      }
    }
    if (aborted(signal)) return false;
    for (const packet of built.packets) {
      emit(packet, built.linkType, built.line);
      result.packets++;
      result.bytes += packet.length;
    }
    result.records++;
    return true;
  };
  for await (const record of records) {
    if (result.records >= count || aborted(signal)) return result;
    const built = buildRecord(record, options.mtu);
    if (options.count !== undefined) kept.push(built);
    if (!await sendOne(built)) return result;
  }
  if (result.records === 0 && !aborted(signal)) {
    throw new Error("Cannot send: the input holds no records (one JSON object a line)");
  }
  for (let i = 0; result.records < count && kept.length > 0; i++) {
    if (!await sendOne(kept[i % kept.length]!)) break;
  }
  return result;
}
