/**
 * The offline command line, run as a user would run it: a subprocess of this test's own Deno.
 */

import assert from "node:assert/strict";
import { pcapFileHeader, pcapRecordHeader } from "../parsers/pcap_write.ts";
import { readRecords } from "../io/read_records.ts";
import { fixture, haveProgram, ROOT, run, runCli } from "./helpers.ts";
import { concat } from "./fixtures.ts";

const READ = ["--allow-read"];
const READ_WRITE = ["--allow-read", "--allow-write"];
const TCP = fixture("tcp_session.pcap");

/** One line on stderr, naming no source file or stack frame. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^snout: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/);
}

async function tempFile(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  await Deno.writeFile(path, bytes);
  return path;
}

Deno.test("cli.ts --help prints usage and exits 0", async () => {
  const result = await runCli(READ, ["--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /Usage:/);
  assert.match(result.stdout, /--json/);
});

Deno.test("cli.ts --version prints the version in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const result = await runCli(READ, ["--version"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), `snout ${config.version}`);
});

Deno.test("cli.ts reports an unknown flag in one line and exits 1", async () => {
  const result = await runCli(READ, ["-r", TCP, "--bogus"]);
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /--bogus/);
});

Deno.test("cli.ts rejects a count that is not a positive whole number", async () => {
  for (const count of ["0", "-3", "ten", "1.5"]) {
    const result = await runCli(READ, ["-r", TCP, "-c", count]);
    assert.equal(result.code, 1, count);
    assertOneLineError(result.stderr, /-c\b|count/i);
  }
});

Deno.test("cli.ts refuses --json together with -v", async () => {
  const result = await runCli(READ, ["-r", TCP, "--json", "-v"]);
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /--json/);
});

Deno.test("cli.ts reports a missing file in one line and exits 1", async () => {
  const result = await runCli(READ, ["-r", "/nonexistent/x.pcap"]);
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /Cannot open capture file.*x\.pcap/);
});

Deno.test("cli.ts reports a file that is not a capture in one line and exits 1", async () => {
  const result = await runCli(READ, ["-r", `${ROOT}README.md`]);
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /Not a capture file/);
});

Deno.test("cli.ts reports an unsupported link type in one line and exits 1", async () => {
  const path = await tempFile(
    concat(pcapFileHeader(147, 65535, false), pcapRecordHeader(1, 0, 4, 4), new Uint8Array(4)),
  );
  try {
    const result = await runCli(READ, ["-r", path]);
    assert.equal(result.code, 1);
    assertOneLineError(result.stderr, /link type 147 is not supported/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli.ts without --allow-read says which permission to add", async () => {
  const result = await runCli([], ["-r", TCP]);
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /--allow-read/);
});

Deno.test("cli.ts prints one summary line per packet and stops at -c", async () => {
  const all = await runCli(READ, ["-r", TCP]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout.trimEnd().split("\n").length, 10);
  const two = await runCli(READ, ["-r", TCP, "--count", "2"]);
  assert.equal(two.stdout.trimEnd().split("\n").length, 2);
  assert.match(two.stdout, /^\d+\.\d{6} IP 10\.99\.0\.1\.\d+ > 10\.99\.0\.2\.8080: Flags \[S\]/);
});

Deno.test("cli.ts --json prints one parseable record per packet, numbered in file order", async () => {
  const result = await runCli(READ, ["-r", TCP, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const records = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(records.map((r) => r.frame.number), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const record of records) {
    assert.deepEqual(Object.keys(record), ["frame", "layers", "truncated"]);
    assert.deepEqual(record.layers.map((l: { type: string }) => l.type), [
      "ethernet",
      "ipv4",
      "tcp",
    ]);
  }
});

Deno.test("cli.ts -r - reads the capture from standard input", async () => {
  const bytes = await Deno.readFile(TCP);
  const result = await runCli(READ, ["-r", "-", "--json"], { stdin: bytes });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trimEnd().split("\n").length, 10);
});

Deno.test("cli.ts -x dumps from the network layer and -xx from the link layer", async () => {
  const x = await runCli(READ, ["-r", TCP, "-c", "1", "-x"]);
  assert.ok(x.stdout.split("\n")[1]!.startsWith("0000  45 "), x.stdout);
  const xx = await runCli(READ, ["-r", TCP, "-c", "1", "-xx"]);
  assert.ok(
    xx.stdout.split("\n")[1]!.startsWith("0000  02 00 00 00 99 02 02 00 00 00 99 01 08 00 45 "),
    xx.stdout,
  );
});

Deno.test("cli.ts -w writes every packet and prints nothing", async () => {
  const out = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const result = await runCli(READ_WRITE, ["-r", TCP, "-w", out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    const original = await Array.fromAsync(readRecords(TCP));
    const copy = await Array.fromAsync(readRecords(out));
    assert.equal(copy.length, original.length);
    for (let i = 0; i < copy.length; i++) {
      assert.deepEqual(copy[i]!.data, original[i]!.data);
      assert.equal(copy[i]!.seconds, original[i]!.seconds);
      assert.equal(copy[i]!.nanos, original[i]!.nanos);
    }
    if (haveProgram("tcpdump")) {
      const tcpdump = await run("tcpdump", ["-n", "-r", out]);
      assert.equal(tcpdump.stdout.trimEnd().split("\n").length, original.length, tcpdump.stderr);
    }
  } finally {
    await Deno.remove(out);
  }
});

Deno.test("cli.ts -w with --json writes the file and prints the records", async () => {
  const out = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const result = await runCli(READ_WRITE, ["-r", TCP, "-w", out, "--json", "-c", "4"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trimEnd().split("\n").length, 4);
    assert.equal((await Array.fromAsync(readRecords(out))).length, 4);
  } finally {
    await Deno.remove(out);
  }
});

Deno.test("cli.ts prints every whole record of a cut-off file, then warns and exits 1", async () => {
  const bytes = await Deno.readFile(TCP);
  const path = await tempFile(bytes.subarray(0, bytes.length - 10));
  try {
    const result = await runCli(READ, ["-r", path, "--json"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout.trimEnd().split("\n").length, 9);
    assertOneLineError(result.stderr, /cut off/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli.ts exits quietly when its reader goes away", async () => {
  // 5,000 packets print far more than a pipe holds, so the writes after head exits fail.
  const records = await Array.fromAsync(readRecords(TCP));
  const parts: Uint8Array[] = [pcapFileHeader(1, 262144, false)];
  for (let copy = 0; copy < 500; copy++) {
    for (const record of records) {
      parts.push(
        pcapRecordHeader(record.seconds, record.nanos / 1000, record.data.length, record.length),
        record.data,
      );
    }
  }
  const path = await tempFile(concat(...parts));
  try {
    const whole = await runCli(READ, ["-r", path]);
    assert.equal(whole.stdout.trimEnd().split("\n").length, 5000);
    const piped = await run("bash", [
      "-c",
      `"${Deno.execPath()}" run -q --allow-read "${ROOT}cli.ts" -r "${path}" | head -n 1; ` +
      'exit "${PIPESTATUS[0]}"',
    ]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout.trimEnd().split("\n").length, 1);
    assert.equal(piped.stderr, "");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli.ts prints a large file with print workers exactly as on one thread", async () => {
  // Files of 8 MiB and more are printed by workers; standard input always on the main thread.
  const whole = await Deno.readFile(fixture("refused.pcap"));
  const header = whole.subarray(0, 24);
  const body = whole.subarray(24);
  const copies = Math.ceil((9 * 1024 * 1024) / body.length);
  const parts: Uint8Array[] = [header];
  for (let i = 0; i < copies; i++) parts.push(body);
  const bytes = concat(...parts);
  const path = await tempFile(bytes);
  try {
    for (const mode of [[], ["--json"], ["-v", "-x"]]) {
      const parallel = await runCli(READ, ["-r", path, ...mode]);
      const single = await runCli(READ, ["-r", "-", ...mode], { stdin: bytes });
      assert.equal(parallel.code, 0, parallel.stderr);
      assert.equal(single.code, 0, single.stderr);
      assert.ok(parallel.stdout === single.stdout, `outputs differ with ${mode.join(" ")}`);
      assert.ok(parallel.stdout.length > 1_000_000);
    }
    const counted = await runCli(READ, ["-r", path, "--json", "-c", "12345"]);
    const lines = counted.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 12345);
    assert.equal(JSON.parse(lines.at(-1)!).frame.number, 12345);
  } finally {
    await Deno.remove(path);
  }
});
