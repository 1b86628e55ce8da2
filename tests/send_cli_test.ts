/**
 * `cli.ts send` and `cli.ts replay` as a user runs them, for what needs no privileges: dry runs,
 * help, and every refusal (bad records, missing interface, missing --allow-ffi, unknown
 * interface, link types that cannot be sent, no root). Nothing here puts a packet on a wire: the
 * refusals come before any socket is opened, and the one that needs root to show (EPERM) runs as
 * nobody in a private network namespace.
 */

import assert from "node:assert/strict";
import { buildPacket } from "../parsers/build.ts";
import { formatHex } from "../format/hex.ts";
import {
  assertSnoutError,
  fixture,
  haveProgram,
  nobodyCanRunCli,
  ROOT,
  run,
  runCli,
} from "./helpers.ts";
import { namespace } from "./netns.ts";

const encoder = new TextEncoder();
const NO_PERMISSIONS: string[] = [];
const FFI = ["--allow-ffi", "--allow-read"];

const SYN = {
  layers: [
    { type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
    { type: "tcp", srcPort: 40000, dstPort: 80, options: [{ kind: 2, mss: 1460 }] },
  ],
};
const ARP = {
  layers: [
    { type: "ethernet", src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" },
    { type: "arp", senderMac: "02:00:00:00:00:01", senderIp: "10.0.0.1", targetIp: "10.0.0.2" },
  ],
};

function ndjson(...records: unknown[]): Uint8Array {
  return encoder.encode(records.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

function isRoot(): boolean {
  const id = new Deno.Command("id", { args: ["-u"], stdout: "piped", stderr: "null" });
  return new TextDecoder().decode(id.outputSync().stdout).trim() === "0";
}

const IS_ROOT = isRoot();
/** As root, each send runs in a network namespace of its own, so nothing can reach a real wire. */
const ISOLATE = IS_ROOT && haveProgram("unshare") && haveProgram("ip");

/** `cli.ts ARGS` with these permissions: in a fresh network namespace (lo up) as root. */
function runSend(
  permissions: string[],
  args: string[],
  options: { stdin?: Uint8Array } = {},
) {
  if (!ISOLATE) return runCli(permissions, args, options);
  return run("unshare", [
    "--net",
    "sh",
    "-c",
    'ip link set lo up && exec "$0" "$@"',
    Deno.execPath(),
    "run",
    "-q",
    ...permissions,
    `${ROOT}cli.ts`,
    ...args,
  ], options);
}

Deno.test("cli.ts send --help and replay --help print their usage and exit 0", async () => {
  const send = await runSend(NO_PERMISSIONS, ["send", "--help"]);
  assert.equal(send.code, 0);
  assert.match(send.stdout, /Usage: .*cli\.ts send \[FILE\]/);
  assert.match(send.stdout, /--dry-run/);
  const replay = await runSend(NO_PERMISSIONS, ["replay", "-h"]);
  assert.equal(replay.code, 0);
  assert.match(replay.stdout, /Usage: .*cli\.ts replay -r FILE -i IFACE/);
  const main = await runSend(NO_PERMISSIONS, ["--help"]);
  assert.match(main.stdout, /cli\.ts send \[FILE\]/);
});

Deno.test("cli.ts send --dry-run prints each packet's summary and every byte, with no privileges", async () => {
  const result = await runSend(NO_PERMISSIONS, ["send", "--dry-run"], { stdin: ndjson(SYN, ARP) });
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split("\n");
  assert.match(
    lines[0]!,
    /^\d+\.\d{6} IP 10\.0\.0\.1\.40000 > 10\.0\.0\.2\.80: Flags \[S\], seq 0, win 65535, options \[mss 1460\], length 0$/,
  );
  const synHex = formatHex(buildPacket(SYN.layers as never)).split("\n");
  assert.deepEqual(lines.slice(1, 1 + synHex.length), synHex);
  const arpAt = 1 + synHex.length;
  assert.match(lines[arpAt]!, /ARP, Request who-has 10\.0\.0\.2 tell 10\.0\.0\.1, length 28$/);
  assert.deepEqual(lines.slice(arpAt + 1), formatHex(buildPacket(ARP.layers as never)).split("\n"));
  assert.equal(result.stderr.trim(), "2 packets built, none sent (dry run)");
});

Deno.test("cli.ts send -n reads a file, and --count cycles through its records", async () => {
  const path = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    await Deno.writeFile(path, ndjson(SYN, ARP));
    const result = await runSend(["--allow-read"], ["send", path, "-n", "-c", "5"]);
    assert.equal(result.code, 0, result.stderr);
    const summaries = result.stdout.split("\n").filter((line) => /^\d+\.\d{6} /.test(line));
    assert.deepEqual(summaries.map((line) => line.includes("ARP")), [
      false,
      true,
      false,
      true,
      false,
    ]);
    assert.equal(result.stderr.trim(), "5 packets built, none sent (dry run)");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli.ts send -n --mtu prints the fragments of a large IPv4 datagram", async () => {
  const record = {
    layers: [{ type: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", id: 5 }, {
      type: "udp",
      srcPort: 1,
      dstPort: 2,
    }],
    payload: { text: "x".repeat(2000) },
  };
  const result = await runSend(NO_PERMISSIONS, ["send", "-n", "--mtu", "1000"], {
    stdin: ndjson(record),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.trim(), "3 packets built (from 1 record), none sent (dry run)");
});

Deno.test("cli.ts send refuses what it cannot build or read in one line naming the line", async () => {
  const cases: [Uint8Array, RegExp][] = [
    [encoder.encode("{not json}\n"), /^snout: Cannot read record on line 1: /],
    [
      ndjson(SYN, { layers: [{ type: "ipv4", dst: "10.0.0.2" }] }),
      /^snout: Cannot build packet from line 2: layer 1 \(ipv4\): needs src$/,
    ],
    [
      ndjson({ ...SYN, payload: "xyz" }),
      /^snout: Cannot build packet from line 1: payload "xyz" is not an even number of hex digits/,
    ],
    [
      ndjson({ ...SYN, truncated: true }),
      /^snout: Cannot build packet from line 1: the record is truncated/,
    ],
    [encoder.encode("\n\n"), /^snout: Cannot send: the input holds no records/],
  ];
  for (const [stdin, pattern] of cases) {
    const result = await runSend(NO_PERMISSIONS, ["send", "-n"], { stdin });
    assert.equal(result.code, 1, result.stderr);
    assertSnoutError(result.stderr, pattern);
  }
});

Deno.test("cli.ts send and replay refuse bad flags in one line", async () => {
  const cases: [string[], RegExp][] = [
    [["send", "--rate", "0"], /Invalid rate "0": give packets per second/],
    [["send", "--rate", "fast"], /Invalid rate "fast"/],
    [["send", "--mtu", "40"], /Invalid MTU "40": give a whole number from 68 to 65535/],
    [["send", "-c", "0"], /Invalid count "0"/],
    [["send", "a.ndjson", "b.ndjson"], /Cannot send from 2 files/],
    [["send", "--bogus"], /--bogus.*\(see cli\.ts send --help\)/],
    [["replay", "-i", "lo"], /^snout: Cannot replay without a capture: give -r FILE$/],
    [
      ["replay", "-r", fixture("arp_ping.pcap")],
      /^snout: Cannot replay without an interface: give -i IFACE/,
    ],
    [["replay", "extra"], /extra.*\(see cli\.ts replay --help\)/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runSend(NO_PERMISSIONS, args, { stdin: ndjson(SYN) });
    assert.equal(result.code, 1, args.join(" "));
    assertSnoutError(result.stderr, pattern);
  }
});

Deno.test("cli.ts send without --allow-ffi says to grant it, in one line", async () => {
  const result = await runSend(NO_PERMISSIONS, ["send"], { stdin: ndjson(SYN) });
  assert.equal(result.code, 1);
  assertSnoutError(result.stderr, /^snout: Sending needs FFI access to libc: run with --allow-ffi/);
  const replay = await runSend(["--allow-read"], [
    "replay",
    "-r",
    fixture("arp_ping.pcap"),
    "-i",
    "lo",
  ]);
  assert.equal(replay.code, 1);
  assertSnoutError(replay.stderr, /--allow-ffi/);
});

Deno.test("cli.ts send refuses an Ethernet record without -i, and an unknown interface, before sending", async () => {
  const noInterface = await runSend(FFI, ["send"], { stdin: ndjson(ARP) });
  assert.equal(noInterface.code, 1);
  assertSnoutError(
    noInterface.stderr,
    /^snout: Cannot send the Ethernet frame of line 1 without an interface: give -i IFACE, or start the record at ipv4 or ipv6/,
  );
  const unknown = await runSend(FFI, ["send", "-i", "snout-nope0"], { stdin: ndjson(ARP) });
  assert.equal(unknown.code, 1);
  assertSnoutError(unknown.stderr, /^snout: No such interface: snout-nope0 \(known: .*lo.*\)$/);
  const replay = await runSend(FFI, [
    "replay",
    "-r",
    fixture("arp_ping.pcap"),
    "-i",
    "snout-nope0",
  ]);
  assert.equal(replay.code, 1);
  assertSnoutError(replay.stderr, /^snout: No such interface: snout-nope0/);
});

Deno.test("cli.ts replay refuses a cooked capture: it has no Ethernet header to send", async () => {
  const result = await runSend(FFI, ["replay", "-r", fixture("any_sll2.pcap"), "-i", "lo"]);
  assert.equal(result.code, 1);
  assertSnoutError(
    result.stderr,
    /^snout: Cannot send a LINUX_SLL2 .* frame: send starts at an Ethernet header .* \(frame 1\)$/,
  );
});

const NOBODY_CAN_RUN = IS_ROOT && haveProgram("ip") && nobodyCanRunCli();
if (IS_ROOT && !NOBODY_CAN_RUN) {
  console.log(
    "send_cli_test.ts: user nobody cannot run this deno or read cli.ts: that test skipped",
  );
}

Deno.test({
  name: "cli.ts send without root fails with EPERM and says what to do, in one line",
  ignore: !NOBODY_CAN_RUN,
  async fn() {
    const ns = await namespace();
    const denoDir = await Deno.makeTempDir();
    try {
      await Deno.chmod(denoDir, 0o777);
      const stdin = await Deno.makeTempFile({ dir: denoDir, suffix: ".ndjson" });
      await Deno.writeFile(
        stdin,
        ndjson({
          ...SYN,
          layers: [{ ...SYN.layers[0], src: "127.0.0.1", dst: "127.0.0.1" }, SYN.layers[1]],
        }),
      );
      await Deno.chmod(stdin, 0o644);
      const result = await ns.exec("setpriv", [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        `DENO_DIR=${denoDir}`,
        `HOME=${denoDir}`,
        Deno.execPath(),
        "run",
        "-q",
        ...FFI,
        `${ROOT}cli.ts`,
        "send",
        stdin,
      ], { check: false });
      assert.equal(result.code, 1, result.stderr);
      assertSnoutError(
        result.stderr,
        /^snout: Cannot open raw socket: EPERM \(Operation not permitted\): sending needs root or CAP_NET_RAW; run it with sudo/,
      );
    } finally {
      await ns.destroy();
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});
