/**
 * The text a packet turns into for each of the CLI's output modes, in one place so that the
 * CLI and its print workers agree.
 *
 * @module
 */

import type { RecordCursor } from "../parsers/capture_format.ts";
import { decodeCursor, type DecodeOptions, linkHeaderLength } from "../parsers/decode.ts";
import type { PacketRecord } from "../parsers/types.ts";
import type { LineOutput } from "./ascii.ts";
import { formatHex } from "./hex.ts";
import { writeJsonLines } from "./json.ts";
import { writeJsonFrame } from "./json_frame.ts";
import { writeSummary } from "./summary.ts";
import { writeSummaryFrame } from "./summary_frame.ts";
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
 * Writes a decoded packet's text to `out`: one line, or more with a hex dump. `frame` returns
 * the captured bytes; it is called only for hex dumps, and only before the printer returns. A
 * printer that can write many packets faster than one at a time (JSON) also has `many`, which
 * writes the same text; a {@linkcode PrintGroup} uses it. A printer that can write some packets
 * straight from their bytes (JSON, and summaries without colour or hex dump) has `direct`.
 */
export type Printer = ((pkt: PacketRecord, frame: () => Uint8Array, out: LineOutput) => void) & {
  /** Writes the text of every packet of `pkts`, in order, as the printer itself would. */
  readonly many?: (pkts: readonly PacketRecord[], out: LineOutput) => void;
  /**
   * Writes the text of the record under `cursor`, as frame `number`, from its bytes, the same
   * text the printer writes for its decoded record, and returns true; or writes nothing and
   * returns false, leaving the record to be decoded.
   */
  readonly direct?: (
    cursor: RecordCursor,
    number: number,
    options: DecodeOptions | undefined,
    out: LineOutput,
  ) => boolean;
};

/** Packets a {@linkcode PrintGroup} gathers before it prints them: about 50 KB of JSON. */
const GROUP_SIZE = 64;

/**
 * How to decode packets for a printer: summaries (with or without `-x`) print no checksum, so
 * their packets need none verified; `-v` and `--json` print `checksumValid`.
 *
 * @example Summaries skip the checksums
 * ```ts
 * import { decodeOptions } from "./printer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeOptions({ mode: "summary", hex: 0, color: false }).checksums, false);
 * assert.equal(decodeOptions({ mode: "json", hex: 0, color: false }).checksums, true);
 * ```
 */
export function decodeOptions(options: PrintOptions): DecodeOptions {
  return { checksums: options.mode !== "summary" };
}

/**
 * The printer for a set of options. Summaries are written into the output as bytes; JSON and
 * `-v` text are made as strings.
 *
 * @example A summary printer
 * ```ts
 * import { makePrinter } from "./printer.ts";
 * import { LineCollector } from "./ascii.ts";
 * import { decodePacket } from "../parsers/decode.ts";
 * import assert from "node:assert/strict";
 * const print = makePrinter({ mode: "summary", hex: 1, color: false });
 * const frame = new Uint8Array(60);
 * const out = new LineCollector();
 * print(decodePacket(frame, 1), () => frame, out);
 * assert.ok(out.lines[0]!.startsWith("0.000000 "));
 * assert.ok(out.lines[1]!.startsWith("0000  00 00 00 00"));
 * ```
 */
export function makePrinter(options: PrintOptions): Printer {
  // A record made by snout's decoders holds no text outside ASCII (they make every string from
  // numbers), so JSON.stringify needs none of formatJson's checks.
  if (options.mode === "json") {
    return Object.assign(
      (pkt: PacketRecord, _frame: () => Uint8Array, out: LineOutput) =>
        out.writeLine(JSON.stringify(pkt)),
      {
        many: (pkts: readonly PacketRecord[], out: LineOutput) => {
          if (pkts.length === 0) return;
          writeJsonLines(pkts, out.beginLine());
          out.endLine();
        },
        direct: (
          cursor: RecordCursor,
          number: number,
          options: DecodeOptions | undefined,
          out: LineOutput,
        ) => {
          // Text written from the bytes has every checksum verified, as the decoders do by
          // default.
          if (options?.checksums === false) return false;
          if (!writeJsonFrame(cursor, number, out.beginLine())) return false;
          out.endLine();
          return true;
        },
      },
    );
  }
  const format = { color: options.color };
  const write: (pkt: PacketRecord, out: LineOutput) => void = options.mode === "verbose"
    ? (pkt, out) => out.writeLine(formatVerbose(pkt, format))
    : (pkt, out) => {
      writeSummary(pkt, out.beginLine(), format);
      out.endLine();
    };
  if (options.hex === 0) {
    const print = (pkt: PacketRecord, _frame: () => Uint8Array, out: LineOutput) => write(pkt, out);
    if (options.mode === "verbose" || options.color) return print;
    return Object.assign(print, {
      direct: (
        cursor: RecordCursor,
        _number: number,
        _options: DecodeOptions | undefined,
        out: LineOutput,
      ) => {
        if (!writeSummaryFrame(cursor, out.beginLine())) return false;
        out.endLine();
        return true;
      },
    });
  }
  const wholeFrame = options.hex > 1;
  return (pkt, frame, out) => {
    write(pkt, out);
    const data = frame();
    const skip = wholeFrame ? 0 : Math.min(linkHeaderLength(pkt.layers), data.length);
    const dump = formatHex(data.subarray(skip));
    if (dump !== "") out.writeLine(dump);
  };
}

/**
 * Prints packets one at a time through a printer, or, where the printer has `many`, gathers
 * them and prints them a group at a time. Call {@linkcode PrintGroup.end} before the output is
 * flushed: until then the last packets may still be gathered.
 *
 * @example JSON lines come out at the end
 * ```ts
 * import { makePrinter, PrintGroup } from "./printer.ts";
 * import { LineCollector } from "./ascii.ts";
 * import { decodePacket } from "../parsers/decode.ts";
 * import assert from "node:assert/strict";
 * const group = new PrintGroup(makePrinter({ mode: "json", hex: 0, color: false }));
 * const out = new LineCollector();
 * const frame = new Uint8Array(60);
 * group.add(decodePacket(frame, 1), () => frame, out);
 * assert.equal(out.lines.length, 0);
 * group.end(out);
 * assert.equal(out.lines.length, 1);
 * ```
 */
export class PrintGroup {
  readonly #print: Printer;
  #gathered: PacketRecord[] = [];

  /** Makes a group for `print`. */
  constructor(print: Printer) {
    this.#print = print;
  }

  /** Prints `pkt` to `out`, or gathers it, printing the group once it is full. */
  add(pkt: PacketRecord, frame: () => Uint8Array, out: LineOutput): void {
    if (this.#print.many === undefined) {
      this.#print(pkt, frame, out);
      return;
    }
    this.#gathered.push(pkt);
    if (this.#gathered.length >= GROUP_SIZE) this.end(out);
  }

  /**
   * Prints the record under `cursor` as frame `number`: from its bytes where the printer can
   * (see {@linkcode Printer}), otherwise decoded with `options` and added as by
   * {@linkcode PrintGroup.add}. The packets gathered before it are printed first.
   *
   * @example A TCP segment's line, written from its bytes
   * ```ts
   * import { makePrinter, PrintGroup } from "./printer.ts";
   * import { LineCollector } from "./ascii.ts";
   * import type { RecordCursor } from "../parsers/capture_format.ts";
   * import { decodeCursor } from "../parsers/decode.ts";
   * import assert from "node:assert/strict";
   * const bytes = new Uint8Array(54);
   * bytes.set([0x08, 0x00, 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
   *   0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff], 12);
   * const cursor: RecordCursor = { bytes, view: new DataView(bytes.buffer), offset: 0,
   *   captured: 54, length: 54, seconds: 0, nanos: 0, digits: 6, linkType: 1, interface: -1 };
   * const group = new PrintGroup(makePrinter({ mode: "json", hex: 0, color: false }));
   * const out = new LineCollector();
   * group.addCursor(cursor, 1, undefined, () => bytes, out);
   * group.end(out);
   * assert.deepEqual(out.lines, [JSON.stringify(decodeCursor(cursor, 1))]);
   * ```
   */
  addCursor(
    cursor: RecordCursor,
    number: number,
    options: DecodeOptions | undefined,
    frame: () => Uint8Array,
    out: LineOutput,
  ): void {
    const direct = this.#print.direct;
    if (direct !== undefined) {
      if (this.#gathered.length > 0) this.end(out);
      if (direct(cursor, number, options, out)) return;
    }
    this.add(decodeCursor(cursor, number, options), frame, out);
  }

  /** Prints the packets gathered so far to `out`. */
  end(out: LineOutput): void {
    const gathered = this.#gathered;
    if (gathered.length === 0) return;
    // A new array first: if writing fails, these packets are not printed a second time.
    this.#gathered = [];
    this.#print.many!(gathered, out);
  }
}
