/**
 * The text a packet turns into for each of the CLI's output modes, in one place so that the
 * CLI and its print workers agree.
 *
 * @module
 */

import { type DecodeOptions, linkHeaderLength } from "../parsers/decode.ts";
import type { PacketRecord } from "../parsers/types.ts";
import { formatHex } from "./hex.ts";
import { formatSummary } from "./summary.ts";
import { formatVerbose } from "./verbose.ts";

/** What to print for each packet. Plain data, so it can be sent to a worker. */
export interface PrintOptions {
  /** `summary` (default), `verbose` (`-v`) or `json` (`--json`). */
  mode: "summary" | "verbose" | "json";
  /** 0: no dump; 1: hex dump from the network layer (`-x`); 2: of the whole frame (`-xx`). */
  hex: number;
  /** ANSI colour (a terminal, and NO_COLOR unset). */
  color: boolean;
}

/**
 * Turns a decoded packet into its text (no final newline). `frame` returns the captured bytes;
 * it is called only for hex dumps.
 */
export type Printer = (pkt: PacketRecord, frame: () => Uint8Array) => string;

/**
 * How to decode packets for a printer: summaries (with or without `-x`) print no checksum, so
 * their packets need none verified; `-v` and `--json` print `checksumValid`.
 *
 * @example Summaries skip the checksums
 * ```ts
 * import { decodeOptions } from "./printer.ts";
 * console.assert(decodeOptions({ mode: "summary", hex: 0, color: false }).checksums === false);
 * console.assert(decodeOptions({ mode: "json", hex: 0, color: false }).checksums === true);
 * ```
 */
export function decodeOptions(options: PrintOptions): DecodeOptions {
  return { checksums: options.mode !== "summary" };
}

/**
 * The JSON line of a record made by snout's decoders. Unlike `formatJson`, it does not check
 * for non-ASCII text: the decoders make every string from numbers, so there is none.
 */
function decodedJson(pkt: PacketRecord): string {
  return JSON.stringify(pkt);
}

/**
 * The printer for a set of options.
 *
 * @example A summary printer
 * ```ts
 * import { makePrinter } from "./printer.ts";
 * import { decodePacket } from "../parsers/decode.ts";
 * const print = makePrinter({ mode: "summary", hex: 0, color: false });
 * const pkt = decodePacket(new Uint8Array(60), 1);
 * console.assert(print(pkt, () => new Uint8Array(60)).startsWith("0.000000 "));
 * ```
 */
export function makePrinter(options: PrintOptions): Printer {
  if (options.mode === "json") return decodedJson;
  const format = { color: options.color };
  const text = options.mode === "verbose"
    ? (pkt: PacketRecord) => formatVerbose(pkt, format)
    : (pkt: PacketRecord) => formatSummary(pkt, format);
  if (options.hex === 0) return text;
  const wholeFrame = options.hex > 1;
  return (pkt, frame) => {
    const data = frame();
    const skip = wholeFrame ? 0 : Math.min(linkHeaderLength(pkt.layers), data.length);
    const dump = formatHex(data.subarray(skip));
    return dump === "" ? text(pkt) : text(pkt) + "\n" + dump;
  };
}
