/**
 * Reading a layer's fields from a record to build it from: every value checked for its type and
 * range, absent ones defaulted or reported, and unknown names refused, so that a typo in a
 * hand-written record is an error rather than a silently different packet.
 *
 * @module
 */

import { parseHex, parseIpv4, parseIpv6, parseLinkAddress, parseMac } from "./address_parse.ts";

/**
 * A record that cannot be built into a packet. The message reads
 * "Cannot build packet: layer 2 (ipv4): ttl must be a whole number from 0 to 255, not 300".
 *
 * @example Tell a record's mistake from other failures
 * ```ts
 * import { BuildError } from "./build_fields.ts";
 * import assert from "node:assert/strict";
 * const error = new BuildError("layer 1 (udp): needs dstPort");
 * assert.equal(error.message, "Cannot build packet: layer 1 (udp): needs dstPort");
 * ```
 */
export class BuildError extends Error {
  override name = "BuildError";
  /** The message without its "Cannot build packet: " prefix. */
  readonly detail: string;

  /** @param detail What is wrong and where, e.g. `layer 2 (ipv4): ttl must be ...`. */
  constructor(detail: string) {
    super(`Cannot build packet: ${detail}`);
    this.detail = detail;
  }
}

/**
 * Largest value of an unsigned field of `bits` bits (up to 32).
 *
 * @example A 13-bit field
 * ```ts
 * import { maxOf } from "./build_fields.ts";
 * import assert from "node:assert/strict";
 * assert.equal(maxOf(13), 8191);
 * ```
 */
export function maxOf(bits: number): number {
  return 2 ** bits - 1;
}

/** A JSON value as a record quotes it in an error message. */
function quote(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text;
}

/**
 * Whether a value is a plain object (a JSON object), not an array or null.
 *
 * @example Objects and not
 * ```ts
 * import { isObject } from "./build_fields.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isObject({ type: "udp" }) && !isObject([]) && !isObject(null));
 * ```
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The fields of one layer (or one option of a layer) of a record. Each getter marks its field as
 * read; {@linkcode LayerFields.finish} then refuses any field no getter asked for.
 *
 * @example Read a TTL with its default, and refuse a misspelt field
 * ```ts
 * import { BuildError, LayerFields } from "./build_fields.ts";
 * import assert from "node:assert/strict";
 * const fields = new LayerFields({ type: "ipv4", ttl: 5, dts: "10.0.0.1" }, "layer 1 (ipv4)");
 * assert.equal(fields.uint("ttl", 8, 64), 5);
 * try {
 *   fields.finish();
 * } catch (error) {
 *   assert.ok(error instanceof BuildError && error.message.includes('"dts"'));
 * }
 * ```
 */
export class LayerFields {
  /** The record's fields. */
  readonly record: Readonly<Record<string, unknown>>;
  /** Where these fields are, for messages: `layer 2 (ipv4)`. */
  readonly where: string;
  readonly #read = new Set<string>(["type"]);

  /**
   * @param record The layer's fields.
   * @param where Where they are, as messages should name it.
   */
  constructor(record: Readonly<Record<string, unknown>>, where: string) {
    this.record = record;
    this.where = where;
  }

  /** Throws a {@linkcode BuildError} about these fields. */
  fail(message: string): never {
    throw new BuildError(`${this.where}: ${message}`);
  }

  /** Whether the record gives `name` (a field set to `undefined` counts as absent). */
  has(name: string): boolean {
    this.#read.add(name);
    return this.record[name] !== undefined;
  }

  /** Marks fields that a decoder derives and a builder recomputes (`checksumValid`, ...) as read. */
  ignore(...names: string[]): void {
    for (const name of names) this.#read.add(name);
  }

  /** The raw value of `name`, marked as read. */
  raw(name: string): unknown {
    this.#read.add(name);
    return this.record[name];
  }

  /**
   * An unsigned integer field of `bits` bits: `fallback` when absent, or an error naming the field
   * when there is no fallback.
   */
  uint(name: string, bits: number, fallback?: number): number {
    const value = this.optionalUint(name, bits);
    if (value !== undefined) return value;
    if (fallback === undefined) this.missing(name);
    return fallback;
  }

  /** Reports a required field as missing, pointing at a field of the same name in another case. */
  missing(name: string): never {
    const near = Object.keys(this.record).find((key) =>
      key !== name && key.toLowerCase() === name.toLowerCase()
    );
    this.fail(
      near === undefined
        ? `needs ${name}`
        : `needs ${name} (the record has ${near}: names are case-sensitive)`,
    );
  }

  /** An unsigned integer field of `bits` bits, or `undefined` when absent. */
  optionalUint(name: string, bits: number): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    return this.checkUint(name, value, maxOf(bits));
  }

  /** A whole number from 0 to `max`, or an error naming the field. */
  checkUint(name: string, value: unknown, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
      this.fail(`${name} must be a whole number from 0 to ${max}, not ${quote(value)}`);
    }
    return value;
  }

  /**
   * A chain field (EtherType, IP protocol, Next Header) of `bits` bits: the record's value, or
   * else `next`, the number that announces the layer that follows; an error when neither is.
   */
  chain(name: string, bits: number, next: number | undefined): number {
    const given = this.optionalUint(name, bits);
    if (given !== undefined) return given;
    if (next === undefined) this.fail(`needs ${name}: no layer follows it to take it from`);
    return next;
  }

  /** A boolean field, `fallback` when absent. */
  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") this.fail(`${name} must be true or false, not ${quote(value)}`);
    return value;
  }

  /** A string field; an error when absent without a fallback. */
  text(name: string, fallback?: string): string {
    const value = this.raw(name);
    if (value === undefined) {
      if (fallback === undefined) this.missing(name);
      return fallback;
    }
    if (typeof value !== "string") this.fail(`${name} must be a string, not ${quote(value)}`);
    return value;
  }

  /** Bytes from a hex string field (`"0a0b"`); `fallback` (or an error) when absent. */
  hex(name: string, fallback?: Uint8Array): Uint8Array {
    if (!this.has(name) && fallback !== undefined) return fallback;
    return this.#parsed(name, parseHex, "an even number of hex digits");
  }

  /** A MAC address field (`aa:bb:cc:dd:ee:ff`). */
  mac(name: string, fallback?: string): Uint8Array {
    return this.#parsed(name, parseMac, "a MAC address like 02:00:00:00:00:01", fallback);
  }

  /** A link-layer address of any length (colon-separated hex bytes). */
  linkAddress(name: string, fallback?: string): Uint8Array {
    return this.#parsed(name, parseLinkAddress, "colon-separated hex bytes", fallback);
  }

  /** An IPv4 address field (dotted quad). */
  ipv4(name: string): Uint8Array {
    return this.#parsed(name, parseIpv4, "an IPv4 address like 10.0.0.1");
  }

  /** An IPv6 address field. */
  ipv6(name: string): Uint8Array {
    return this.#parsed(name, parseIpv6, "an IPv6 address like fd00::1");
  }

  /** A list of objects (options, extension headers), `[]` when absent. */
  objects(name: string): Record<string, unknown>[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every(isObject)) {
      this.fail(`${name} must be a list of objects, not ${quote(value)}`);
    }
    return value;
  }

  /** Refuses every field that no getter read: a misspelt or foreign field. */
  finish(): void {
    for (const name of Object.keys(this.record)) {
      if (!this.#read.has(name) && this.record[name] !== undefined) {
        this.fail(`has no field ${quote(name)}`);
      }
    }
  }

  #parsed(
    name: string,
    parse: (text: string) => Uint8Array | undefined,
    form: string,
    fallback?: string,
  ): Uint8Array {
    const text = this.text(name, fallback);
    const bytes = parse(text);
    if (bytes === undefined) this.fail(`${name} must be ${form}, not ${quote(text)}`);
    return bytes;
  }
}
