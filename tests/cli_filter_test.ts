/**
 * Filters on the offline command line, run as a user runs it: the expression as the rest of the
 * command line or from -F, -d, -c and -w with a filter, frame numbers, print workers, and the
 * one-line errors of bad expressions.
 */

import assert from "node:assert/strict";
import { readRecords } from "../io/read_records.ts";
import { concat } from "./fixtures.ts";
import { fixture, haveProgram, run, runCli } from "./helpers.ts";

const READ = ["--allow-read"];
const READ_WRITE = ["--allow-read", "--allow-write"];
const REFUSED = fixture("refused.pcap");
const SESSION = fixture("tcp_session.pcap");

type JsonRecord = { frame: { number: number }; layers: { type: string }[] };

function records(stdout: string): JsonRecord[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

function hasLayer(record: JsonRecord, type: string): boolean {
  return record.layers.some((layer) => layer.type === type);
}

function assertOneLineError(result: { code: number; stderr: string }, message: string): void {
  assert.equal(result.code, 1);
  assert.equal(result.stderr, `snout: ${message}\n`);
}

Deno.test("cli.ts -r FILE EXPRESSION prints only the packets the filter accepts", async () => {
  const all = records((await runCli(READ, ["-r", REFUSED, "--json"])).stdout);
  const udp = await runCli(READ, ["-r", REFUSED, "--json", "udp"]);
  assert.equal(udp.code, 0, udp.stderr);
  const kept = records(udp.stdout);
  // Frame numbers stay places in the file: the same numbers the unfiltered output gives them.
  const expected = all.filter((r) => r.layers[2]?.type === "udp").map((r) => r.frame.number);
  assert.ok(expected.length > 0 && expected.length < all.length);
  assert.deepEqual(kept.map((r) => r.frame.number), expected);
  const summary = await runCli(READ, ["-r", REFUSED, "icmp", "or", "icmp6"]);
  const icmpFrames = all.filter((r) => hasLayer(r, "icmp") || hasLayer(r, "icmpv6"));
  assert.equal(summary.stdout.trimEnd().split("\n").length, icmpFrames.length);
});

Deno.test("cli.ts keeps what tcpdump keeps with the same expression", {
  ignore: !haveProgram("tcpdump"),
}, async () => {
  for (const expression of ["tcp[tcpflags] & tcp-syn != 0", "ip6 and udp", "not port 9"]) {
    const ours = await runCli(READ, ["-r", REFUSED, expression]);
    const theirs = await run("tcpdump", ["-n", "-r", REFUSED, expression]);
    assert.equal(ours.code, 0, ours.stderr);
    const count = (text: string) => text.split("\n").filter((line) => line !== "").length;
    assert.equal(count(ours.stdout), count(theirs.stdout), expression);
  }
});

Deno.test("cli.ts -c N counts the packets the filter accepts, as tcpdump -c", async () => {
  const result = await runCli(READ, [
    "-r",
    SESSION,
    "--json",
    "-c",
    "2",
    "tcp",
    "src",
    "port",
    "8080",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(records(result.stdout).map((r) => r.frame.number), [2, 5]);
});

Deno.test("cli.ts -w with an expression writes only the packets the filter accepts", async () => {
  const out = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const result = await runCli(READ_WRITE, ["-r", SESSION, "-w", out, "tcp dst port 8080"]);
    assert.equal(result.code, 0, result.stderr);
    const original = await Array.fromAsync(readRecords(SESSION));
    const written = await Array.fromAsync(readRecords(out));
    // Ethernet, then IPv4 without options: the TCP destination port is at 36.
    const toServer = original.filter((r) => ((r.data[36]! << 8) | r.data[37]!) === 8080);
    assert.ok(toServer.length > 0 && toServer.length < original.length);
    assert.deepEqual(written.map((r) => r.data), toServer.map((r) => r.data));
  } finally {
    await Deno.remove(out);
  }
});

Deno.test("cli.ts -F FILE reads the expression from a file, # starting a comment", async () => {
  const file = await Deno.makeTempFile({ suffix: ".bpf" });
  try {
    await Deno.writeTextFile(file, "# only what comes back\ntcp src port 8080 # from the server\n");
    const fromFile = await runCli(READ, ["-r", SESSION, "--json", "-F", file]);
    const inline = await runCli(READ, ["-r", SESSION, "--json", "tcp src port 8080"]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fromFile.stdout, inline.stdout);
    assert.equal(records(fromFile.stdout).length, 5);
    await Deno.writeTextFile(file, "tcp src port\n");
    assertOneLineError(
      await runCli(READ, ["-r", SESSION, "-F", file]),
      'Cannot compile filter: expected a port number after "port" at column 13',
    );
    await Deno.writeTextFile(file, "tcp and\n  port\n");
    assertOneLineError(
      await runCli(READ, ["-r", SESSION, "-F", file]),
      'Cannot compile filter: expected a port number after "port" at line 2 column 7',
    );
    assertOneLineError(
      await runCli(READ, ["-r", SESSION, "-F", file, "udp"]),
      `-F ${file} and an expression on the command line ("udp") cannot be combined`,
    );
  } finally {
    await Deno.remove(file);
  }
  const missing = await runCli(READ, ["-r", SESSION, "-F", "/nonexistent/filter"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^snout: Cannot read filter file: .*: \/nonexistent\/filter\n$/);
});

Deno.test("cli.ts -d, -dd and -ddd print the program for the file's link type and exit", async () => {
  const d = await runCli(READ, ["-r", SESSION, "-d", "ip"]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(
    d.stdout,
    "(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n" +
      "(002) ret      #262144\n(003) ret      #0\n",
  );
  const dd = await runCli(READ, ["-r", SESSION, "-dd", "ip"]);
  assert.match(dd.stdout, /^\{ 0x28, 0, 0, 0x0000000c \},\n/);
  const ddd = await runCli(READ, ["-r", fixture("any_sll2.pcap"), "-ddd", "ip"]);
  assert.equal(ddd.stdout, "4\n40 0 0 0\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n");
  const none = await runCli(READ, ["-r", SESSION, "-d"]);
  assert.equal(none.stdout, "(000) ret      #262144\n");
});

Deno.test(
  "cli.ts -d prints what tcpdump -d prints",
  { ignore: !haveProgram("tcpdump") },
  async () => {
    for (const expression of ["tcp port 8080", "host 10.99.0.1", "icmp[icmptype] = icmp-echo"]) {
      const ours = await runCli(READ, ["-r", SESSION, "-d", expression]);
      const theirs = await run("tcpdump", ["-r", SESSION, "-d", expression]);
      assert.equal(ours.stdout, theirs.stdout, expression);
    }
  },
);

Deno.test("cli.ts reports a bad expression in one line, with its column, and exits 1", async () => {
  const cases: [string[], string][] = [
    [["tcp", "or", "port"], 'expected a port number after "port" at column 12'],
    [["tcp[13", "&", "2", "=", "2"], 'expected "]" at column 12'],
    [["host", "1.2.3.4", "and"], "unexpected end of expression at column 17"],
    [["vlan", "5000"], "VLAN id 5000 is above the largest, 4095 at column 1"],
    [
      ["host foo"],
      'unknown host "foo": snout does not look up host names, give an address at column 6',
    ],
  ];
  for (const [words, message] of cases) {
    assertOneLineError(
      await runCli(READ, ["-r", SESSION, ...words]),
      `Cannot compile filter: ${message}`,
    );
  }
  // A syntax error is found before the file is opened.
  assertOneLineError(
    await runCli(READ, ["-r", "/nonexistent.pcap", "port"]),
    'Cannot compile filter: expected a port number after "port" at column 5',
  );
  // Valid, but not for the file's link type, as tcpdump says.
  assertOneLineError(
    await runCli(READ, ["-r", fixture("any_sll2.pcap"), "ether host 02:00:00:00:99:01"]),
    "Cannot compile filter: MAC addresses can be matched on Ethernet only, not Linux cooked v2 at column 12",
  );
});

Deno.test("cli.ts -- lets an expression start with a minus sign", async () => {
  const result = await runCli(READ, ["-r", SESSION, "--json", "--", "-tcp[13] & 0xff = 0xfe"]);
  assert.equal(result.code, 0, result.stderr);
  // -2 is 0xfffffffe: the SYN.
  assert.deepEqual(records(result.stdout).map((r) => r.frame.number), [1]);
});

Deno.test("cli.ts filters a large file with print workers exactly as on one thread", async () => {
  // Files of 8 MiB and more are printed by workers; standard input always on the main thread.
  const whole = await Deno.readFile(REFUSED);
  const body = whole.subarray(24);
  const copies = Math.ceil((9 * 1024 * 1024) / body.length);
  const bytes = concat(whole.subarray(0, 24), ...new Array<Uint8Array>(copies).fill(body));
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, bytes);
    for (const mode of [["--json"], ["-v", "-x"]]) {
      const args = [...mode, "tcp", "or", "icmp6"];
      const parallel = await runCli(READ, ["-r", path, ...args]);
      const single = await runCli(READ, ["-r", "-", ...args], { stdin: bytes });
      assert.equal(parallel.code, 0, parallel.stderr);
      assert.ok(parallel.stdout === single.stdout, `outputs differ with ${mode.join(" ")}`);
      assert.ok(parallel.stdout.length > 1_000_000);
    }
    const numbers = records((await runCli(READ, ["-r", path, "--json", "icmp6"])).stdout)
      .map((r) => r.frame.number);
    // One ICMPv6 error in each copy of the 8 packets: frames 8, 16, 24, ...
    assert.equal(numbers.length, copies);
    assert.ok(numbers.every((n, i) => n === 8 * (i + 1)));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli.ts refuses an expression for the link type even when the file has no packets", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, (await Deno.readFile(fixture("any_sll2.pcap"))).subarray(0, 24));
    const result = await runCli(READ, ["-r", path, "vlan"]);
    assertOneLineError(
      result,
      'Cannot compile filter: "vlan" needs Ethernet frames, not Linux cooked v2 at column 1',
    );
    const fine = await runCli(READ, ["-r", path, "ip"]);
    assert.equal(fine.code, 0, fine.stderr);
    assert.equal(fine.stdout, "");
  } finally {
    await Deno.remove(path);
  }
});
