/**
 * What every layer encoder produces: a plan to write one header into a packet's buffer, in three
 * steps that `build.ts` runs over all layers. Headers are written first, outermost first; then
 * lengths the record leaves out are filled from the outermost layer in (each layer learns where
 * the bytes it spans end); then checksums the record leaves out, innermost first (an ICMP
 * checksum covers the packet it quotes, so that packet's checksums come first).
 *
 * @module
 */

import type { LayerFields } from "./build_fields.ts";
import { internetChecksum, onesComplementSum } from "./checksum.ts";
import type { LayerType } from "./types.ts";

/** Pseudo-header lengths above 16 bits add their high half too (IPv6 jumbograms). */
const SHORT_RANGE = 0x10000;

/** The ones' complement form of zero that a UDP sender writes for a computed zero checksum. */
const NEGATIVE_ZERO = 0xffff;

/** The enclosing IP header, as a transport checksum needs it. */
export interface IpContext {
  /** IP version: 4 or 6. */
  version: number;
  /** Unfolded sum of the pseudo header's addresses (IPv6: the final destination). */
  addressSum: number;
}

/** One layer, read from its record and ready to write. */
export interface LayerPlan {
  /** The layer's record type. */
  readonly type: LayerType;
  /** Bytes of header it writes before what it encloses. */
  readonly size: number;
  /** The EtherType that announces this layer after a link header or a VLAN tag. */
  readonly etherType?: number;
  /** The IP protocol number (Next Header) that announces this layer after an IP header. */
  readonly ipProtocol?: number;
  /** Writes the header at `offset`; lengths and checksums the record leaves out stay zero. */
  write(view: DataView, offset: number): void;
  /**
   * Fills the lengths the record leaves out, given that the bytes this layer spans end at `end`,
   * and returns where the bytes it encloses end (an IP header's own length can end them early).
   */
  fillLengths?(view: DataView, offset: number, end: number): number;
  /** Fills the checksum the record leaves out; `ip` is the nearest enclosing IP header. */
  fillChecksum?(view: DataView, offset: number, end: number, ip: IpContext | undefined): void;
  /** An IP header's pseudo-header context, once its lengths are filled. */
  ipContext?(view: DataView, offset: number, end: number): IpContext;
}

/**
 * `value` rounded up to a multiple of `unit`.
 *
 * @example Round to 8
 * ```ts
 * import { roundUp } from "./layer_plan.ts";
 * import assert from "node:assert/strict";
 * assert.ok(roundUp(13, 8) === 16 && roundUp(16, 8) === 16);
 * ```
 */
export function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

/**
 * Writes the checksum of an unfolded `sum` (taken with the checksum field zero) at `at`.
 * `zeroMeansNone` (UDP) writes a computed 0 as 0xffff, since 0 there means "no checksum".
 *
 * @example Checksum of a word
 * ```ts
 * import { writeChecksum } from "./layer_plan.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new ArrayBuffer(2));
 * writeChecksum(view, 0, 0xf204, false);
 * assert.equal(view.getUint16(0), 0x0dfb);
 * ```
 */
export function writeChecksum(
  view: DataView,
  at: number,
  sum: number,
  zeroMeansNone: boolean,
): void {
  const checksum = internetChecksum(sum);
  view.setUint16(at, zeroMeansNone && checksum === 0 ? NEGATIVE_ZERO : checksum);
}

/**
 * Writes `bytes` into `view` at `offset`.
 *
 * @example Copy two bytes
 * ```ts
 * import { writeBytes } from "./layer_plan.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new ArrayBuffer(4));
 * writeBytes(view, 1, new Uint8Array([7, 8]));
 * assert.equal(view.getUint8(2), 8);
 * ```
 */
export function writeBytes(view: DataView, offset: number, bytes: Uint8Array): void {
  new Uint8Array(view.buffer, view.byteOffset + offset, bytes.length).set(bytes);
}

/**
 * The byte arrays one after another, in one new array.
 *
 * @example Join two
 * ```ts
 * import { concatBytes } from "./layer_plan.ts";
 * import assert from "node:assert/strict";
 * assert.equal(concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)]).join(), "1,2,3");
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/**
 * A header's length in bytes: the record's field `name`, checked (a multiple of `unit` from
 * `min` to `max`, and room for the `content` bytes its fields take), or else `content` rounded up
 * to `unit` (at least `min`).
 *
 * @throws {BuildError} For a length given that is off, or content that no length can hold.
 *
 * @example A TCP header with 5 bytes of options
 * ```ts
 * import { LayerFields } from "./build_fields.ts";
 * import { headerLength } from "./layer_plan.ts";
 * import assert from "node:assert/strict";
 * const fields = new LayerFields({ type: "tcp" }, "layer 1");
 * assert.equal(headerLength(fields, "headerLength", 25, 4, 20, 60), 28);
 * ```
 */
export function headerLength(
  fields: LayerFields,
  name: string,
  content: number,
  unit: number,
  min: number,
  max: number,
): number {
  const given = fields.optionalUint(name, 16);
  if (given === undefined) {
    const length = Math.max(min, roundUp(content, unit));
    if (length > max) {
      fields.fail(`its fields take ${content} bytes, more than the ${max} the header can hold`);
    }
    return length;
  }
  if (given % unit !== 0 || given < min || given > max) {
    fields.fail(`${name} must be a multiple of ${unit} from ${min} to ${max}, not ${given}`);
  }
  if (given < content) fields.fail(`its fields take ${content} bytes, more than ${name} ${given}`);
  return given;
}

/**
 * The unfolded checksum sum of an upper-layer message at `[offset, end)` with its pseudo header:
 * the enclosing IP header's address sum, the protocol, and `length` (by default the message's).
 *
 * @example An empty UDP header's sum with all-zero addresses
 * ```ts
 * import { upperLayerSum } from "./layer_plan.ts";
 * import assert from "node:assert/strict";
 * const view = new DataView(new Uint8Array(8).buffer);
 * assert.equal(upperLayerSum(view, 0, 8, { version: 4, addressSum: 0 }, 17), 17 + 8);
 * ```
 */
export function upperLayerSum(
  view: DataView,
  offset: number,
  end: number,
  ip: IpContext,
  protocol: number,
  length: number = end - offset,
): number {
  return onesComplementSum(view, offset, end, ip.addressSum) + protocol +
    Math.floor(length / SHORT_RANGE) + length % SHORT_RANGE;
}
