/**
 * AsciiBuffer: the decimal and text writers summaries are made of, checked against what
 * `String()` and string concatenation would have made.
 */

import assert from "node:assert/strict";
import { AsciiBuffer, LineCollector } from "../format/ascii.ts";
import { random, SEED } from "./seeded_random.ts";

function decimalText(value: number): string {
  const out = new AsciiBuffer();
  out.decimal(value);
  return out.toString();
}

Deno.test("AsciiBuffer.decimal() writes what String() writes, at every digit count and edge", () => {
  const values = [0, -0, 1, 9, 10, 99, 100, 65535, 0x3fffffff, 0x40000000, 99_999, 100_000];
  for (let power = 1; power <= 1e16; power *= 10) values.push(power - 1, power, power + 1);
  values.push(2 ** 31 - 1, 2 ** 31, 4_000_000_001, 4_000_100_000, 2 ** 32 - 1, 2 ** 32, 2 ** 53);
  values.push(-1, -4_000_000_000, 1.5, 1e21, 1e-7, NaN, Infinity, -Infinity);
  for (const value of values) assert.equal(decimalText(value), String(value), `${value}`);
});

Deno.test("AsciiBuffer.decimal() agrees with String() on random 32-bit values", () => {
  const draw = random(0xa5c11);
  for (let i = 0; i < 20_000; i++) {
    // Two draws, since one would stop short of 2^32.
    const value = draw.int(2 ** 16) * 2 ** 16 + draw.int(2 ** 16);
    assert.equal(decimalText(value), String(value), `seed ${SEED}`);
  }
});

Deno.test("AsciiBuffer grows to hold text longer than its buffer, keeping what came before", () => {
  const out = new AsciiBuffer(new Uint8Array(4));
  let expected = "";
  for (let i = 0; i < 300; i++) {
    out.text("piece ");
    out.decimal(4_000_000_000 + i);
    out.byte(0x3b);
    expected += "piece " + (4_000_000_000 + i) + ";";
  }
  assert.equal(out.toString(), expected);
  assert.ok(out.bytes.length >= expected.length);
});

Deno.test("AsciiBuffer writes a character outside ASCII as ?", () => {
  const out = new AsciiBuffer();
  out.text("a\u00e9b\u20acc\u{1f600}d\x7f");
  // The emoji is two UTF-16 code units, and each becomes one "?".
  assert.equal(out.toString(), "a?b?c??d\x7f");
});

Deno.test("AsciiBuffer takes text back when its length is set lower", () => {
  const out = new AsciiBuffer();
  out.text("1700000000.000001 ");
  out.length--;
  assert.equal(out.toString(), "1700000000.000001");
});

Deno.test("LineCollector keeps lines written as bytes and as strings in order", () => {
  const lines = new LineCollector();
  lines.writeLine("one");
  lines.beginLine().decimal(2);
  lines.endLine();
  lines.beginLine().text("three");
  lines.endLine();
  assert.deepEqual(lines.lines, ["one", "2", "three"]);
});

Deno.test("AsciiBuffer.utf8() writes UTF-8, growing the buffer across characters of every size", () => {
  const rng = random(7);
  const pieces = ["a", "~", "é", "€", "😀", "\x7f", "\0"];
  for (let round = 0; round < 200; round++) {
    let text = "";
    for (let i = rng.int(40); i > 0; i--) text += pieces[rng.int(pieces.length)];
    const out = new AsciiBuffer(new Uint8Array(1 + rng.int(8)));
    out.text("x");
    const added = out.utf8(text);
    const expected = new TextEncoder().encode(text);
    assert.equal(added, expected.length, `seed ${SEED}: ${JSON.stringify(text)}`);
    assert.deepEqual(out.bytes.subarray(1, out.length), expected);
    assert.equal(out.toString(), "x" + text);
  }
});
