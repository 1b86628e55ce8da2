#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-ffi
/**
 * snout's command line: parses flags and wires the library's readers, decoders, writers and
 * formatters to standard output. Everything reusable lives in the library (`mod.ts`).
 *
 * @module
 */

import denoConfig from "./deno.json" with { type: "json" };
// Imported here: what every command needs, and the pcap writers, so that no module is loaded after
// a live capture has dropped privileges. Each command loads the rest of its modules when it runs
// (`await import`), so that `-w` does not wait for the printers, nor `-r` for the capture code:
// start-up is most of a short run's time.
import { MAX_SNAP_LENGTH } from "./ffi/constants.ts";
import { PcapFdWriter } from "./ffi/pcap_records.ts";
import { FlagError, type FlagSpec, parseFlags } from "./io/flags.ts";
import { OutputClosedError, OutputWriter } from "./io/output.ts";
import { PcapWriter } from "./io/pcap_writer.ts";
import { isSupportedLinkType, LINKTYPE_ETHERNET, linkTypeName } from "./parsers/link_type.ts";
import type { CaptureOptions, CaptureStats } from "./ffi/capture.ts";
import type { FrameCaptureOptions } from "./ffi/frame_capture.ts";
import type { RingGeometry } from "./ffi/packet_ring.ts";
import type { L3Protocol } from "./ffi/packet_socket.ts";
import { dropPrivileges, effectiveUserId, resolveUser, type UserIds } from "./ffi/privileges.ts";
import type { DumpStyle } from "./filter/dump.ts";
import type { RecordFilter } from "./filter/record_filter.ts";
import type { PrintGroup, PrintOptions } from "./format/printer.ts";
import type { DecodeOptions } from "./parsers/decode.ts";
import type { PrintPool } from "./io/print_pool.ts";
import type { PacketEmitter } from "./io/send_records.ts";
import type { CaptureParser, RecordCursor } from "./parsers/capture_format.ts";

const HELP = `snout ${denoConfig.version}: a packet sniffer and packet toolkit for Deno

Usage:
  deno run --allow-read cli.ts -r FILE [options] [EXPRESSION]
                                  read a pcap or pcapng file (- for stdin)
  sudo deno run --allow-ffi --allow-read --allow-write --allow-env cli.ts [-i IFACE] [options]
      [EXPRESSION]                capture live (root or CAP_NET_RAW)

EXPRESSION is a filter in tcpdump's language (pcap-filter(7)), the rest of the command line:
  cli.ts -i lo tcp port 80 and not host 10.0.0.1
Only the packets it accepts are printed, written and counted. Live, it runs in the kernel.
Put -- before an expression that starts with "-".

Output (default: one summary line per packet, like tcpdump -n):
  -v, --verbose        every field of every layer, one layer per line
  -x, --hex            add a hex and ASCII dump of each packet from the network layer on;
                       -xx dumps the whole frame, link-layer header included
      --json           one JSON object per packet (NDJSON); see README.md for the schema
  -w, --write FILE     write the packets to FILE as pcap; nothing is printed unless
                       --json, -v or -x is given too

Selection:
  -r, --read FILE      read packets from FILE
  -c, --count N        stop after N packets (of those the filter accepts)
  -F FILE              read the filter expression from FILE (# starts a comment)
  -d                   print the filter compiled to classic BPF, as tcpdump -d, and exit;
                       -dd prints it as a C array, -ddd as decimal numbers

Live capture:
  -i, --interface IF   capture on IF (default: every interface, as Linux cooked SLL2 frames)
  -D, --list-interfaces  list the interfaces (index, name, up/down, loopback) and exit
      --l3 PROTO       sniff IPv4 packets of tcp, udp or icmp from the IP header up, through a
                       raw AF_INET socket (as the textbook sniffers do)
  -p, --no-promiscuous  do not put the interface in promiscuous mode
  -s, --snapshot-length LEN  keep at most LEN bytes of each packet (default 262144)
  -B, --buffer-size KIB  size of the receive ring (or, without one, of the socket's receive
                       buffer), in KiB; default 32768
      --workers N      capture with N sockets in a PACKET_FANOUT group, one per worker thread,
                       shared by flow; output stays in frame-number order
      --no-ring        read packets with recvmsg instead of a TPACKET_V3 receive ring
  -Z, --user USER      after opening the socket, drop to USER (default: the user who ran sudo;
                       -Z root keeps root)

  -h, --help           show this help
      --version        show the version

Colour is used on a terminal only, and never when NO_COLOR is set.

Crafting and sending (see cli.ts send --help, cli.ts replay --help):
  cli.ts send [FILE] [-i IFACE] ...    build packets from NDJSON records and send them
  cli.ts replay -r FILE -i IFACE ...   resend a capture's frames on an interface`;

/** Fraction digits of a microsecond clock; finer captures are written as nanosecond pcap. */
const MICROSECOND_DIGITS = 6;

/** A mistake in how snout was called: printed as one line, exit status 1. */
class UsageError extends Error {}

interface CliOptions {
  read?: string;
  interface?: string;
  listInterfaces: boolean;
  l3?: L3Protocol;
  promiscuous: boolean;
  snapLength?: number;
  bufferKiB?: number;
  user?: string;
  write?: string;
  count?: number;
  /** The filter expression, from the command line or -F. */
  filter?: string;
  /** -d, -dd, -ddd: how many times -d was given. */
  dump: number;
  json: boolean;
  verbose: boolean;
  hex: number;
  workers: number;
  ring: boolean;
  help: boolean;
  version: boolean;
}

function parsePositive(text: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(`Invalid ${what} "${text}": give a whole number from 1 to ${max}`);
  }
  return value;
}

const L3_PROTOCOLS: readonly L3Protocol[] = ["tcp", "udp", "icmp"];
/** Most --workers. */
const MAX_WORKERS = 64;
/** Largest -B, in KiB: 1 GiB. */
const MAX_BUFFER_KIB = 1024 * 1024;

function parseOptions(args: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseFlags(args, {
      read: { type: "string", short: "r" },
      write: { type: "string", short: "w" },
      count: { type: "string", short: "c" },
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v", multiple: true },
      hex: { type: "boolean", short: "x", multiple: true },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
      interface: { type: "string", short: "i" },
      "list-interfaces": { type: "boolean", short: "D" },
      l3: { type: "string" },
      "no-promiscuous": { type: "boolean", short: "p" },
      "snapshot-length": { type: "string", short: "s" },
      "buffer-size": { type: "string", short: "B" },
      user: { type: "string", short: "Z" },
      workers: { type: "string" },
      "no-ring": { type: "boolean" },
      "filter-file": { type: "string", short: "F" },
      dump: { type: "boolean", short: "d", multiple: true },
    }, true);
  } catch (error) {
    if (error instanceof FlagError) throw new UsageError(`${error.message} (see --help)`);
    throw error;
  }
  const { values, positionals } = parsed;
  const options: CliOptions = {
    dump: values.dump?.length ?? 0,
    json: values.json ?? false,
    verbose: (values.verbose?.length ?? 0) > 0,
    hex: values.hex?.length ?? 0,
    help: values.help ?? false,
    version: values.version ?? false,
    listInterfaces: values["list-interfaces"] ?? false,
    promiscuous: !(values["no-promiscuous"] ?? false),
    workers: 1,
    ring: !(values["no-ring"] ?? false),
  };
  if (values.interface !== undefined) options.interface = values.interface;
  if (values.user !== undefined) options.user = values.user;
  if (values.l3 !== undefined) {
    if (!L3_PROTOCOLS.includes(values.l3 as L3Protocol)) {
      throw new UsageError(`Invalid --l3 protocol "${values.l3}": give tcp, udp or icmp`);
    }
    options.l3 = values.l3 as L3Protocol;
  }
  if (values["snapshot-length"] !== undefined) {
    options.snapLength = parsePositive(
      values["snapshot-length"],
      "snapshot length",
      MAX_SNAP_LENGTH,
    );
  }
  if (values["buffer-size"] !== undefined) {
    options.bufferKiB = parsePositive(values["buffer-size"], "buffer size", MAX_BUFFER_KIB);
  }
  if (values.read !== undefined) {
    const live = [
      ["-i", values.interface],
      ["--l3", values.l3],
      ["-s", values["snapshot-length"]],
      ["-B", values["buffer-size"]],
      ["-Z", values.user],
      ["--workers", values.workers],
      ["--no-ring", values["no-ring"]],
    ].find(([, value]) => value !== undefined);
    if (live !== undefined) throw new UsageError(`${live[0]} is for live capture, not with -r`);
  }
  if (values.workers !== undefined) {
    options.workers = parsePositive(values.workers, "worker count", MAX_WORKERS);
    if (options.l3 !== undefined && options.workers > 1) {
      throw new UsageError("--workers shares packets among packet sockets: not with --l3");
    }
  }
  if (values.read !== undefined) options.read = values.read;
  if (values.write !== undefined) options.write = values.write;
  if (values.count !== undefined) options.count = parsePositive(values.count, "count");
  const filter = filterExpression(values["filter-file"], positionals);
  if (filter !== undefined) options.filter = filter;
  if (options.json && (options.verbose || options.hex > 0)) {
    throw new UsageError("--json cannot be combined with -v or -x");
  }
  return options;
}

/** What -F reads: # starts a comment, as in tcpdump; blanked out so that columns stay. */
function readFilterFile(path: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    const reason = error instanceof Error ? error.message.replace(/: [a-z]+ '.*'$/s, "") : "";
    throw new UsageError(`Cannot read filter file: ${reason}: ${path}`);
  }
  return text.replace(/#[^\n]*/g, (comment) => " ".repeat(comment.length));
}

/** The filter: -F's file or the rest of the command line, joined as tcpdump joins it. */
function filterExpression(file: string | undefined, words: string[]): string | undefined {
  if (file !== undefined && words.length > 0) {
    throw new UsageError(
      `-F ${file} and an expression on the command line ("${words.join(" ")}") cannot be combined`,
    );
  }
  const expression = file !== undefined ? readFilterFile(file) : words.join(" ");
  return expression.trim() === "" ? undefined : expression;
}

function envGranted(name: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
}

function useColor(): boolean {
  if (!Deno.stdout.isTerminal()) return false;
  return envGranted("NO_COLOR") && !Deno.env.get("NO_COLOR");
}

/** The print options the flags ask for, or undefined when nothing is to be printed. */
function printOptions(options: CliOptions): PrintOptions | undefined {
  const printing = options.json || options.verbose || options.hex > 0 ||
    options.write === undefined;
  if (!printing) return undefined;
  return {
    mode: options.json ? "json" : options.verbose ? "verbose" : "summary",
    hex: options.hex,
    color: useColor(),
  };
}

/** Print workers pay off from this file size on; smaller files print on the main thread. */
const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;
/** Batches printed ahead of the output, at most. */
const MAX_IN_FLIGHT = 4;

/** How many print workers to use for a file: none for small files, stdin, or one core. */
function printWorkers(path: string, printing: boolean): number {
  const cores = navigator.hardwareConcurrency ?? 1;
  if (!printing || path === "-" || cores < 2) return 0;
  try {
    return Deno.statSync(path).size >= PARALLEL_MIN_BYTES ? Math.min(cores, 4) : 0;
  } catch {
    return 0; // the reader reports the problem
  }
}

function source(path: string): string | ReadableStream<Uint8Array> {
  return path === "-" ? Deno.stdin.readable : path;
}

/** Writes a print worker's text, then hands its buffer back. */
function writePrinted(out: OutputWriter, pool: PrintPool, text: Uint8Array): void {
  out.writeBytes(text);
  pool.recycle(text);
}

/** The filter of -r and -d, its compiler loaded only when there is one. */
async function recordFilter(
  expression: ConstructorParameters<typeof RecordFilter>[0],
): Promise<RecordFilter> {
  const { RecordFilter } = await import("./filter/record_filter.ts");
  return new RecordFilter(expression);
}

async function readOffline(options: CliOptions, path: string): Promise<number> {
  const [
    { decodeOptions, makePrinter, PrintGroup },
    { BatchBuilder },
    { PrintPool },
    { feedParser },
  ] = await Promise.all([
    import("./format/printer.ts"),
    import("./io/print_batch.ts"),
    import("./io/print_pool.ts"),
    import("./io/read_records.ts"),
  ]);
  const printing = printOptions(options);
  // On this thread, lines are written from the bytes where the printer can, as live.
  const print = printing === undefined ? undefined : new PrintGroup(makePrinter(printing));
  const decoding = printing === undefined ? undefined : decodeOptions(printing);
  const workers = printWorkers(path, printing !== undefined);
  const pool = workers > 0 ? new PrintPool(workers, printing!) : undefined;
  const batch = new BatchBuilder();
  const printed: Promise<Uint8Array>[] = [];
  const out = new OutputWriter(Deno.stdout);
  let writer: PcapWriter | undefined;
  let writerLinkType = 0;
  let warning: string | undefined;
  let last: CaptureParser | undefined;
  const count = options.count ?? Infinity;
  const filter = options.filter === undefined ? undefined : await recordFilter(options.filter);
  let number = 0;
  let kept = 0;
  let cursor: RecordCursor | undefined;
  const frame = () => cursor!.bytes.subarray(cursor!.offset, cursor!.offset + cursor!.captured);
  try {
    reading: for await (
      const parser of feedParser(source(path), { onWarning: (m) => warning = m })
    ) {
      cursor = parser.cursor;
      last = parser;
      while (parser.advance()) {
        number++;
        // A filtered-out record keeps its number: frame numbers are places in the file.
        if (filter !== undefined && !filter.matches(cursor, parser.littleEndian)) continue;
        kept++;
        if (options.write !== undefined) {
          if (writer === undefined) {
            writer = await PcapWriter.create(pcapTarget(options.write), {
              linkType: cursor.linkType,
              nanosecond: cursor.digits > MICROSECOND_DIGITS,
            });
            writerLinkType = cursor.linkType;
          }
          if (cursor.linkType !== writerLinkType) {
            throw new Error(
              `Cannot write frame ${number} to ${options.write}: its link type ` +
                `${linkTypeName(cursor.linkType)} differs from the file's`,
            );
          }
          const flushing = writer.write({
            seconds: cursor.seconds,
            nanos: cursor.nanos,
            length: cursor.length,
            data: frame(),
          });
          if (flushing !== undefined) await flushing;
        }
        if (print !== undefined) {
          if (!isSupportedLinkType(cursor.linkType)) {
            throw new Error(
              `Cannot decode frame ${number}: link type ${cursor.linkType} is not supported`,
            );
          }
          if (pool === undefined) {
            print.addCursor(cursor, number, decoding, frame, out);
          } else if (!batch.add(cursor, number)) {
            printed.push(pool.print(batch));
            batch.add(cursor, number);
          }
        }
        if (kept >= count) break reading;
      }
      // What the group gathered points into this chunk's bytes: printed before the next.
      print?.end(out);
      if (pool === undefined) continue;
      if (batch.count > 0) printed.push(pool.print(batch));
      while (printed.length > MAX_IN_FLIGHT) writePrinted(out, pool, await printed.shift()!);
    }
    print?.end(out); // after -c's break
    if (pool !== undefined && batch.count > 0) printed.push(pool.print(batch));
    for (const text of printed) writePrinted(out, pool!, await text);
    // A file without records still has a link type the filter must compile for, as in tcpdump.
    if (filter !== undefined && kept === 0 && last?.linkType !== undefined) {
      filter.programFor(last.linkType, last.littleEndian);
    }
  } catch (error) {
    if (!(error instanceof OutputClosedError)) throw error;
  } finally {
    pool?.close();
    if (!out.closed) flushQuietly(out);
    await writer?.close();
  }
  if (out.closed) return 0; // the reader went away, as with | head: not an error
  if (warning !== undefined) {
    console.error(`snout: ${warning}`);
    return 1;
  }
  return 0;
}

/** -d, -dd and -ddd. */
const DUMP_STYLES: readonly DumpStyle[] = ["assembly", "c", "decimal"];

async function printProgram(
  filter: RecordFilter,
  linkType: number,
  littleEndian: boolean,
  dump: number,
): Promise<void> {
  const { formatProgram } = await import("./filter/dump.ts");
  const style = DUMP_STYLES[Math.min(dump, DUMP_STYLES.length) - 1]!;
  console.log(formatProgram(filter.programFor(linkType, littleEndian), style));
}

/** `-d` with `-r`: the filter compiled for the file's link type, as `tcpdump -d -r FILE`. */
async function dumpOffline(options: CliOptions, path: string): Promise<number> {
  const { feedParser } = await import("./io/read_records.ts");
  const filter = await recordFilter(options.filter ?? "");
  for await (const parser of feedParser(source(path))) {
    if (parser.linkType === undefined) parser.advance();
    if (parser.linkType !== undefined) {
      await printProgram(filter, parser.linkType, parser.littleEndian, options.dump);
      return 0;
    }
  }
  throw new Error(`Cannot compile filter: ${path} holds no link type (an empty capture file?)`);
}

/** `-D`: the interfaces, as tcpdump lists them. */
async function printInterfaces(): Promise<number> {
  const { listInterfaces } = await import("./ffi/interfaces.ts");
  for (const i of listInterfaces()) {
    const flags = [i.up ? "Up" : "Down", ...(i.running ? ["Running"] : [])];
    if (i.loopback) flags.push("Loopback");
    console.log(`${i.index}.${i.name} [${flags.join(", ")}]`);
  }
  return 0;
}

/** The user to become once the socket is open: -Z, else the one who ran sudo, else nobody. */
function userToBecome(options: CliOptions): UserIds | undefined {
  if (effectiveUserId() !== 0) return undefined;
  if (options.user !== undefined) {
    return options.user === "root" ? undefined : resolveUser(options.user);
  }
  if (!envGranted("SUDO_UID") || !envGranted("SUDO_GID")) return undefined;
  const uid = Deno.env.get("SUDO_UID");
  const gid = Deno.env.get("SUDO_GID");
  if (uid === undefined || gid === undefined || !/^[0-9]+$/.test(uid + gid)) return undefined;
  return Number(uid) === 0 ? undefined : { uid: Number(uid), gid: Number(gid) };
}

/** Calls `stop` on Ctrl-C and SIGTERM; returns what removes the handlers. */
function stopOnSignals(stop: () => void): () => void {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  return () => {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  };
}

/** The socket options the flags ask for. */
function socketOptions(options: CliOptions): CaptureOptions {
  return {
    ...(options.interface === undefined ? {} : { interface: options.interface }),
    ...(options.l3 === undefined ? {} : { l3: options.l3 }),
    ...(options.snapLength === undefined ? {} : { snapLength: options.snapLength }),
    ...(options.bufferKiB === undefined ? {} : { bufferSize: options.bufferKiB * 1024 }),
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    promiscuous: options.promiscuous,
    ring: options.ring,
  };
}

/**
 * The options of a capture in this process: as {@linkcode socketOptions}, with the filter's
 * compiler loaded only when there is an expression (the decoders are never loaded here: the
 * printers decode what they print).
 */
async function frameOptions(options: CliOptions): Promise<FrameCaptureOptions> {
  const { filter: expression, ...rest } = socketOptions(options);
  if (typeof expression !== "string") return rest;
  const { compileFilter } = await import("./filter/compile.ts");
  return { ...rest, filter: (linkType: number) => compileFilter(expression, linkType) };
}

/** The lines on stderr as capture starts: tcpdump's "listening on", and with -v how it reads. */
function announce(
  options: CliOptions,
  socket: { linkType: number; snapLength: number; ring?: RingGeometry; ringError?: string },
): void {
  const where = options.interface ?? "all interfaces";
  console.error(
    `listening on ${where}, link-type ${linkTypeName(socket.linkType)}, snapshot length ` +
      `${socket.snapLength} bytes`,
  );
  if (!options.verbose) return;
  const workers = options.workers > 1 ? `, ${options.workers} sockets in a fanout group` : "";
  if (socket.ring !== undefined) {
    const { blockSize, blockCount } = socket.ring;
    console.error(
      `reading a TPACKET_V3 ring of ${blockCount} blocks of ${blockSize / 1024} KiB${workers}`,
    );
  } else if (socket.ringError !== undefined) {
    console.error(`no receive ring (${socket.ringError}): reading with recvmsg${workers}`);
  } else {
    console.error(`reading with recvmsg${workers}`);
  }
}

/** Where -w writes: standard output for `-`, as tcpdump's `-w -`, else the file. */
function pcapTarget(path: string): string | typeof Deno.stdout {
  return path === "-" ? Deno.stdout : path;
}

/** Opens the -w file once privileges are dropped. */
function createWriter(
  options: CliOptions,
  socket: { linkType: number; snapLength: number },
): Promise<PcapWriter> | undefined {
  if (options.write === undefined) return undefined;
  return PcapWriter.create(pcapTarget(options.write), {
    linkType: socket.linkType,
    snapLength: socket.snapLength,
    nanosecond: true,
  });
}

/** tcpdump's closing counters, on stderr. */
function printStats(stats: CaptureStats): void {
  console.error(`${stats.captured} packets captured`);
  console.error(`${stats.received} packets received by filter`);
  console.error(`${stats.dropped} packets dropped by kernel`);
}

async function captureLive(options: CliOptions): Promise<number> {
  const { FrameCapture } = await import("./ffi/frame_capture.ts");
  if (options.dump > 0) {
    const live = FrameCapture.open(await frameOptions(options));
    try {
      await printProgram(await recordFilter(live.filter ?? ""), live.linkType, true, options.dump);
    } finally {
      live.close();
    }
    return 0;
  }
  if (options.workers > 1) return await captureWithWorkers(options);
  const printing = printOptions(options);
  let print: PrintGroup | undefined;
  let decoding: DecodeOptions | undefined;
  if (printing !== undefined) {
    const { decodeOptions, makePrinter, PrintGroup } = await import("./format/printer.ts");
    print = new PrintGroup(makePrinter(printing));
    decoding = decodeOptions(printing);
  }
  const live = FrameCapture.open({
    ...await frameOptions(options),
    ...(options.count === undefined ? {} : { count: options.count }),
  });
  const removeHandlers = stopOnSignals(() => live.close());
  const out = new OutputWriter(Deno.stdout);
  let writer: PcapWriter | undefined;
  try {
    const user = userToBecome(options);
    if (user !== undefined) dropPrivileges(user);
    if (print === undefined && options.write !== undefined && live.ring !== undefined) {
      // Only writing, from a ring: records are laid out in the ring and written in place.
      const records = PcapFdWriter.create(options.write, live.linkType, live.snapLength);
      try {
        announce(options, live);
        await live.writePcapRecords(records);
      } finally {
        records.close();
      }
      return 0;
    }
    writer = await createWriter(options, live);
    announce(options, live);
    let number = 0;
    for await (const batch of live.frames()) {
      // A printer calls `frame` before it returns, if at all: one function serves the batch.
      let current = 0;
      const frame = () => batch.data(current);
      for (let i = 0; i < batch.count; i++) {
        if (writer !== undefined) {
          const flushing = writer.writeFrom(
            batch.bytes,
            batch.offsets[i]!,
            batch.captured[i]!,
            batch.lengths[i]!,
            batch.seconds[i]!,
            batch.nanos[i]!,
          );
          if (flushing !== undefined) await flushing;
        }
        number++;
        current = i;
        print?.addCursor(live.frameCursor(batch, i), number, decoding, frame, out);
      }
      print?.end(out);
      out.flush(); // live output shows at once, a wake-up's worth at a time
    }
  } catch (error) {
    if (!(error instanceof OutputClosedError)) throw error;
  } finally {
    removeHandlers();
    live.close();
    if (!out.closed) flushQuietly(out);
    await writer?.close();
    printStats(live.stats());
  }
  return 0;
}

/** `--workers N`: N sockets in a fanout group, each read, decoded and printed by a worker. */
async function captureWithWorkers(options: CliOptions): Promise<number> {
  const { CapturePool } = await import("./io/capture_pool.ts");
  const printing = printOptions(options);
  const pool = await CapturePool.open({
    workers: options.workers,
    capture: socketOptions(options),
    ...(options.count === undefined ? {} : { count: options.count }),
    ...(printing === undefined ? {} : { print: printing }),
    write: options.write !== undefined,
  });
  const removeHandlers = stopOnSignals(() => pool.stop());
  const out = new OutputWriter(Deno.stdout);
  let writer: PcapWriter | undefined;
  let stats: CaptureStats = { captured: 0, received: 0, dropped: 0 };
  try {
    const user = userToBecome(options);
    if (user !== undefined) dropPrivileges(user);
    writer = await createWriter(options, pool.opened);
    announce(options, pool.opened);
    stats = await pool.run(async (batch) => {
      if (batch.records !== undefined) await writer?.writeRecords(batch.records);
      if (batch.text !== undefined && !out.closed) {
        try {
          out.writeBytes(batch.text);
          out.flush();
        } catch (error) {
          if (!(error instanceof OutputClosedError)) throw error;
          pool.stop(); // the reader went away: end as tcpdump does
        }
      }
    });
  } finally {
    removeHandlers();
    pool.close();
    if (!out.closed) flushQuietly(out);
    await writer?.close();
    printStats(stats);
  }
  return 0;
}

const SEND_HELP = `Usage: sudo deno run --allow-ffi --allow-read cli.ts send [FILE] [options]

Builds one packet from each NDJSON record of FILE (standard input when FILE is - or absent) and
sends it. A record is a line of --json output, or any part of one: {"layers": [...], "payload":
...}; fields left out get defaults, lengths and checksums are computed (see README.md).
Records that start at ethernet are sent as they are on -i IFACE (AF_PACKET); records that start
at ipv4 or ipv6 go to their dst through a raw socket (IP_HDRINCL), out of -i IFACE if given.

  -i, --interface IF   the interface to send on (required for Ethernet records)
  -c, --count N        send N records: the first N, or the records again and again until N
      --rate PPS       records per second (e.g. 10, or 0.5); default: as fast as they build
      --mtu BYTES      split IPv4 datagrams longer than BYTES into fragments
  -n, --dry-run        print each packet (summary and hex of every byte) and send nothing;
                       needs neither root nor --allow-ffi
  -h, --help           show this help`;

const REPLAY_HELP =
  `Usage: sudo deno run --allow-ffi --allow-read cli.ts replay -r FILE -i IFACE [options]

Resends the frames of a pcap or pcapng file (- for standard input) on an interface, as captured,
at the capture's own pace unless --rate says otherwise. Ethernet captures are sent on IFACE as
they are; raw IP captures (LINKTYPE_RAW) go to their destinations out of IFACE.

  -r, --read FILE      the capture to replay (required)
  -i, --interface IF   the interface to send on (required)
  -c, --count N        send the first N frames
      --rate PPS       frames per second instead of the capture's timing
  -h, --help           show this help`;

/** Largest --rate: ten million packets a second, beyond what one socket sends. */
const MAX_RATE = 10_000_000;
/** Largest --mtu: an IPv4 datagram's largest total length. */
const MAX_MTU = 65535;

interface SendCliOptions {
  file: string;
  interface?: string;
  count?: number;
  rate?: number;
  mtu?: number;
  dryRun: boolean;
  help: boolean;
}

interface ReplayCliOptions {
  read?: string;
  interface?: string;
  count?: number;
  rate?: number;
  help: boolean;
}

function parseRate(text: string): number {
  const value = Number(text);
  if (!/^[0-9]*\.?[0-9]+$/.test(text) || !(value > 0) || value > MAX_RATE) {
    throw new UsageError(
      `Invalid rate "${text}": give packets per second, a number above 0 and up to ${MAX_RATE}`,
    );
  }
  return value;
}

/** parseFlags for a subcommand; its errors become usage errors naming its help. */
function parseSubcommand<const T extends Readonly<Record<string, FlagSpec>>>(
  name: string,
  args: string[],
  options: T,
  allowPositionals: boolean,
) {
  try {
    return parseFlags(args, options, allowPositionals);
  } catch (error) {
    if (error instanceof FlagError) {
      throw new UsageError(`${error.message} (see cli.ts ${name} --help)`);
    }
    throw error;
  }
}

async function parseSendOptions(args: string[]): Promise<SendCliOptions> {
  const { values, positionals } = parseSubcommand("send", args, {
    interface: { type: "string", short: "i" },
    count: { type: "string", short: "c" },
    rate: { type: "string" },
    mtu: { type: "string" },
    "dry-run": { type: "boolean", short: "n" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (positionals.length > 1) {
    throw new UsageError(
      `Cannot send from ${positionals.length} files: give one file of records (- for stdin)`,
    );
  }
  const options: SendCliOptions = {
    file: positionals[0] ?? "-",
    dryRun: values["dry-run"] === true,
    help: values.help === true,
  };
  if (typeof values.interface === "string") options.interface = values.interface;
  if (typeof values.count === "string") options.count = parsePositive(values.count, "count");
  if (typeof values.rate === "string") options.rate = parseRate(values.rate);
  if (typeof values.mtu === "string") {
    const mtu = Number(values.mtu);
    const { IPV4_MIN_MTU } = await import("./parsers/fragment.ts");
    if (!/^[0-9]+$/.test(values.mtu) || mtu < IPV4_MIN_MTU || mtu > MAX_MTU) {
      throw new UsageError(
        `Invalid MTU "${values.mtu}": give a whole number from ${IPV4_MIN_MTU} to ${MAX_MTU}`,
      );
    }
    options.mtu = mtu;
  }
  return options;
}

function parseReplayOptions(args: string[]): ReplayCliOptions {
  const { values } = parseSubcommand("replay", args, {
    read: { type: "string", short: "r" },
    interface: { type: "string", short: "i" },
    count: { type: "string", short: "c" },
    rate: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, false);
  const options: ReplayCliOptions = { help: values.help === true };
  if (typeof values.read === "string") options.read = values.read;
  if (typeof values.interface === "string") options.interface = values.interface;
  if (typeof values.count === "string") options.count = parsePositive(values.count, "count");
  if (typeof values.rate === "string") options.rate = parseRate(values.rate);
  if (options.help) return options;
  if (options.read === undefined) {
    throw new UsageError("Cannot replay without a capture: give -r FILE");
  }
  if (options.interface === undefined) {
    throw new UsageError(
      "Cannot replay without an interface: give -i IFACE, the one to send the frames on",
    );
  }
  return options;
}

/** Aborts the returned signal on Ctrl-C and SIGTERM; `remove` takes the handlers away. */
function abortOnSignals(): { signal: AbortSignal; remove: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  return {
    signal: controller.signal,
    remove: () => {
      for (const signal of signals) Deno.removeSignalListener(signal, stop);
    },
  };
}

/** `send`: records in, packets out (or printed, for a dry run). */
async function sendCommand(options: SendCliOptions): Promise<number> {
  if (options.help) {
    console.log(SEND_HELP);
    return 0;
  }
  const [
    { PacketSender },
    { makePrinter },
    { decodePacket },
    { ErrnoError },
    { readNdjson },
    { atLine, sendRecords },
  ] = await Promise.all([
    import("./ffi/send_socket.ts"),
    import("./format/printer.ts"),
    import("./parsers/decode.ts"),
    import("./ffi/errno.ts"),
    import("./io/read_ndjson.ts"),
    import("./io/send_records.ts"),
  ]);
  const out = new OutputWriter(Deno.stdout);
  const sender = options.dryRun
    ? undefined
    : PacketSender.open(options.interface === undefined ? {} : { interface: options.interface });
  const print = makePrinter({ mode: "summary", hex: 2, color: useColor() });
  let number = 0;
  const emit: PacketEmitter = (packet, linkType, line) => {
    number++;
    if (sender === undefined) {
      const time = (Date.now() / 1000).toFixed(MICROSECOND_DIGITS);
      print(decodePacket(packet, linkType, { number, time }), () => packet, out);
      return;
    }
    if (linkType === LINKTYPE_ETHERNET && options.interface === undefined) {
      throw new UsageError(
        `Cannot send the Ethernet frame of line ${line} without an interface: give -i IFACE, ` +
          "or start the record at ipv4 or ipv6 to send it to its destination",
      );
    }
    try {
      sender.send(packet, linkType);
    } catch (error) {
      // The kernel refused this packet: say which record it was.
      throw error instanceof ErrnoError && error.syscall === "sendto" ? atLine(error, line) : error;
    }
  };
  const { signal, remove } = abortOnSignals();
  try {
    const records = readNdjson(options.file === "-" ? Deno.stdin.readable : options.file);
    const result = await sendRecords(records, {
      signal,
      ...(options.count === undefined ? {} : { count: options.count }),
      ...(options.rate === undefined ? {} : { rate: options.rate }),
      ...(options.mtu === undefined ? {} : { mtu: options.mtu }),
    }, emit);
    const recordNote = result.records === result.packets
      ? ""
      : ` (from ${result.records} record${result.records === 1 ? "" : "s"})`;
    console.error(
      sender === undefined
        ? `${result.packets} packets built${recordNote}, none sent (dry run)`
        : `${result.packets} packets sent${recordNote}, ${result.bytes} bytes`,
    );
  } catch (error) {
    if (!(error instanceof OutputClosedError)) throw error;
  } finally {
    remove();
    sender?.close();
    if (!out.closed) flushQuietly(out);
  }
  return 0;
}

/** `replay`: a capture's frames out on an interface. */
async function replayCommand(options: ReplayCliOptions): Promise<number> {
  if (options.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  const [{ PacketSender }, { replayCapture }] = await Promise.all([
    import("./ffi/send_socket.ts"),
    import("./io/replay.ts"),
  ]);
  const sender = PacketSender.open({ interface: options.interface! });
  const { signal, remove } = abortOnSignals();
  let warning: string | undefined;
  try {
    const result = await replayCapture(
      options.read === "-" ? Deno.stdin.readable : options.read!,
      {
        signal,
        onWarning: (message) => warning = message,
        ...(options.count === undefined ? {} : { count: options.count }),
        ...(options.rate === undefined ? {} : { rate: options.rate }),
      },
      (frame, linkType) => sender.send(frame, linkType),
    );
    console.error(`${result.packets} packets sent, ${result.bytes} bytes`);
    if (result.cut > 0) {
      console.error(
        `${result.cut} of them cut short by the capture's snapshot length, sent as captured`,
      );
    }
  } finally {
    remove();
    sender.close();
  }
  if (warning !== undefined) {
    console.error(`snout: ${warning}`);
    return 1;
  }
  return 0;
}

/** Flushes, treating a reader that went away as the end of output. */
function flushQuietly(out: OutputWriter): void {
  try {
    out.flush();
  } catch (error) {
    if (!(error instanceof OutputClosedError)) throw error;
  }
}

/**
 * Runs snout with command-line arguments and returns the exit status.
 *
 * @example Print the version
 * ```ts ignore
 * import { main } from "./cli.ts";
 * await main(["--version"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    if (args[0] === "send") return await sendCommand(await parseSendOptions(args.slice(1)));
    if (args[0] === "replay") return await replayCommand(parseReplayOptions(args.slice(1)));
    const options = parseOptions(args);
    if (options.help) {
      console.log(HELP);
      return 0;
    }
    if (options.version) {
      console.log(`snout ${denoConfig.version}`);
      return 0;
    }
    if (options.filter !== undefined) {
      // A syntax error is reported before anything is read or opened.
      const { parseFilter } = await import("./filter/parser.ts");
      parseFilter(options.filter);
    }
    if (options.listInterfaces) return await printInterfaces();
    if (options.read === undefined) return await captureLive(options);
    if (options.dump > 0) return await dumpOffline(options, options.read);
    return await readOffline(options, options.read);
  } catch (error) {
    console.error(`snout: ${describe(error)}`);
    return 1;
  }
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return `${firstLine(error.message)}: run with the permission it names ` +
      "(e.g. deno run --allow-read cli.ts -r FILE)";
  }
  if (error instanceof Error) return firstLine(error.message);
  return String(error);
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
