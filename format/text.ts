/**
 * Small text helpers shared by snout's formatters: terminal-safe text, fixed-width hex and
 * optional colour.
 *
 * @module
 */

/** Options the text formatters ({@linkcode formatSummary}, {@linkcode formatVerbose}) take. */
export interface FormatOptions {
  /**
   * Wrap protocol names, addresses and markers in ANSI colour codes. Off unless `true`: the
   * caller decides (a terminal, and `NO_COLOR` unset).
   */
  color?: boolean;
}

/** The lowest byte value shown as itself. */
const PRINTABLE_FIRST = 0x20;
/** The highest byte value shown as itself. */
const PRINTABLE_LAST = 0x7e;
/** What any other byte value is shown as. */
const UNPRINTABLE = ".";
/** Number of distinct byte values. */
const BYTE_VALUES = 256;
/** Radix of hexadecimal text. */
const HEX_RADIX = 16;

/** Two lower-case hex digits for every byte value (shared with the decoders). */
export { HEX_BYTE } from "../parsers/address.ts";

/** The character a byte value stands for in a dump: itself when printable ASCII, else `.`. */
export const SAFE_CHAR: readonly string[] = Array.from(
  { length: BYTE_VALUES },
  (_, i) => i >= PRINTABLE_FIRST && i <= PRINTABLE_LAST ? String.fromCharCode(i) : UNPRINTABLE,
);

/**
 * `text` with every character outside printable ASCII (0x20-0x7e) replaced by `.`, so that no
 * control sequence can reach a terminal. Returns `text` itself when it is already clean.
 *
 * @example Escape a control sequence
 * ```ts
 * import { safeText } from "./text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(safeText("ok\x1b[2Jbye\u009b"), "ok.[2Jbye.");
 * assert.equal(safeText("10.0.0.1"), "10.0.0.1");
 * ```
 */
export function safeText(text: string): string {
  const length = text.length;
  let i = 0;
  for (; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < PRINTABLE_FIRST || code > PRINTABLE_LAST) break;
  }
  if (i === length) return text;
  let out = text.slice(0, i);
  for (; i < length; i++) {
    const code = text.charCodeAt(i);
    out += code < PRINTABLE_FIRST || code > PRINTABLE_LAST ? UNPRINTABLE : text[i];
  }
  return out;
}

/**
 * `value` as `0x` and at least `digits` lower-case hex digits.
 *
 * @example An EtherType and a checksum
 * ```ts
 * import { hexNumber } from "./text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hexNumber(0x800, 4), "0x0800");
 * assert.equal(hexNumber(0xac3, 4), "0x0ac3");
 * ```
 */
export function hexNumber(value: number, digits: number): string {
  return "0x" + value.toString(HEX_RADIX).padStart(digits, "0");
}

/** The styles snout's formatters use, by role. */
export type Style = "protocol" | "address" | "flags" | "layer" | "problem";

/**
 * Each style's ANSI SGR codes, to switch it on and off: what `node:util`'s `styleText` writes for
 * green, cyan, yellow, bold and red. Written out here because importing a `node:` module costs a
 * run 10-17 ms of start-up (see io/flags.ts).
 */
const STYLE_CODES: Readonly<Record<Style, readonly [on: string, off: string]>> = {
  protocol: ["\x1b[32m", "\x1b[39m"],
  address: ["\x1b[36m", "\x1b[39m"],
  flags: ["\x1b[33m", "\x1b[39m"],
  layer: ["\x1b[1m", "\x1b[22m"],
  problem: ["\x1b[31m", "\x1b[39m"],
};

/**
 * `text` wrapped in the ANSI codes for a role's style, whatever the output stream is (the
 * caller has already decided that colour is wanted). The formatters paint only printable text
 * (names, addresses, and what `safeText` has escaped), so no code inside it needs handling.
 *
 * @example Colour an address
 * ```ts
 * import { paint } from "./text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(paint("address", "10.0.0.1"), "\x1b[36m10.0.0.1\x1b[39m");
 * ```
 */
export function paint(style: Style, text: string): string {
  const [on, off] = STYLE_CODES[style];
  return on + text + off;
}
