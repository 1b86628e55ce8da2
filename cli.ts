#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-ffi
/**
 * snout's command line: parses flags and wires the library's readers, decoders, writers and
 * formatters to standard output. Everything reusable lives in the library (`mod.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoConfig from "./deno.json" with { type: "json" };
import { makePrinter, type PrintOptions } from "./format/printer.ts";
import { OutputClosedError, OutputWriter } from "./io/output.ts";
import { PcapWriter } from "./io/pcap_writer.ts";
import { BatchBuilder } from "./io/print_batch.ts";
import { PrintPool } from "./io/print_pool.ts";
import { decodeCursor } from "./io/read_capture.ts";
import { feedParser } from "./io/read_records.ts";
import type { RecordCursor } from "./parsers/capture_format.ts";
import { isSupportedLinkType, linkTypeName } from "./parsers/link_type.ts";

const HELP = `snout ${denoConfig.version}: a packet sniffer and packet toolkit for Deno

Usage:
  deno run --allow-read cli.ts -r FILE [options]      read a pcap or pcapng file (- for stdin)

Output (default: one summary line per packet, like tcpdump -n):
  -v, --verbose        every field of every layer, one layer per line
  -x, --hex            add a hex and ASCII dump of each packet from the network layer on;
                       -xx dumps the whole frame, link-layer header included
      --json           one JSON object per packet (NDJSON); see README.md for the schema
  -w, --write FILE     write the packets to FILE as pcap; nothing is printed unless
                       --json, -v or -x is given too

Selection:
  -r, --read FILE      read packets from FILE
  -c, --count N        stop after N packets

  -h, --help           show this help
      --version        show the version

Colour is used on a terminal only, and never when NO_COLOR is set.`;

/** Fraction digits of a microsecond clock; finer captures are written as nanosecond pcap. */
const MICROSECOND_DIGITS = 6;

/** A mistake in how snout was called: printed as one line, exit status 1. */
class UsageError extends Error {}

interface CliOptions {
  read?: string;
  write?: string;
  count?: number;
  json: boolean;
  verbose: boolean;
  hex: number;
  help: boolean;
  version: boolean;
}

function parseCount(text: string): number {
  const count = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`Invalid count "${text}": give a whole number above 0`);
  }
  return count;
}

function parseOptions(args: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        read: { type: "string", short: "r" },
        write: { type: "string", short: "w" },
        count: { type: "string", short: "c" },
        json: { type: "boolean" },
        verbose: { type: "boolean", short: "v", multiple: true },
        hex: { type: "boolean", short: "x", multiple: true },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${message.split("\n")[0]!.replace(/\.$/, "")} (see --help)`);
  }
  const { values } = parsed;
  const options: CliOptions = {
    json: values.json ?? false,
    verbose: (values.verbose?.length ?? 0) > 0,
    hex: values.hex?.length ?? 0,
    help: values.help ?? false,
    version: values.version ?? false,
  };
  if (values.read !== undefined) options.read = values.read;
  if (values.write !== undefined) options.write = values.write;
  if (values.count !== undefined) options.count = parseCount(values.count);
  if (options.json && (options.verbose || options.hex > 0)) {
    throw new UsageError("--json cannot be combined with -v or -x");
  }
  return options;
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

async function readOffline(options: CliOptions, path: string): Promise<number> {
  const printing = printOptions(options);
  const print = printing === undefined ? undefined : makePrinter(printing);
  const workers = printWorkers(path, printing !== undefined);
  const pool = workers > 0 ? new PrintPool(workers, printing!) : undefined;
  const batch = new BatchBuilder();
  const printed: Promise<Uint8Array>[] = [];
  const out = new OutputWriter(Deno.stdout);
  let writer: PcapWriter | undefined;
  let writerLinkType = 0;
  let warning: string | undefined;
  const count = options.count ?? Infinity;
  let number = 0;
  let cursor: RecordCursor | undefined;
  const frame = () => cursor!.bytes.subarray(cursor!.offset, cursor!.offset + cursor!.captured);
  try {
    reading: for await (
      const parser of feedParser(source(path), { onWarning: (m) => warning = m })
    ) {
      cursor = parser.cursor;
      while (parser.advance()) {
        if (number >= count) break reading;
        number++;
        if (options.write !== undefined) {
          if (writer === undefined) {
            writer = await PcapWriter.create(options.write, {
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
        if (print === undefined) continue;
        if (!isSupportedLinkType(cursor.linkType)) {
          throw new Error(
            `Cannot decode frame ${number}: link type ${cursor.linkType} is not supported`,
          );
        }
        if (pool === undefined) out.writeLine(print(decodeCursor(cursor, number), frame));
        else batch.add(cursor, number);
      }
      if (pool === undefined) continue;
      if (batch.count > 0) printed.push(pool.print(batch.take()));
      while (printed.length > MAX_IN_FLIGHT) out.writeBytes(await printed.shift()!);
    }
    if (pool !== undefined && batch.count > 0) printed.push(pool.print(batch.take()));
    for (const text of printed) out.writeBytes(await text);
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
    const options = parseOptions(args);
    if (options.help) {
      console.log(HELP);
      return 0;
    }
    if (options.version) {
      console.log(`snout ${denoConfig.version}`);
      return 0;
    }
    if (options.read === undefined) {
      throw new UsageError("Nothing to read: give -r FILE (see --help)");
    }
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
