/**
 * Reading NDJSON (one JSON value per line), as `--json` writes it and `cli.ts send` reads it,
 * from a file or a byte stream, one line at a time so that a pipe is read as it comes.
 *
 * @module
 */

/** One JSON value and the line it was on. */
export interface NdjsonLine {
  /** 1-based line number. */
  line: number;
  /** The parsed value. */
  value: unknown;
}

/** Longest line read, in characters: far beyond any record, short of exhausting memory. */
export const MAX_LINE_LENGTH = 16 * 1024 * 1024;

async function openStream(
  source: string | ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  if (typeof source !== "string") return source;
  try {
    return (await Deno.open(source, { read: true })).readable;
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/: [a-z]+ '.*'$/s, "") : error;
    throw new Error(`Cannot open records file: ${reason}: ${source}`, { cause: error });
  }
}

/**
 * The JSON values of `source`, a file path or a byte stream, one per non-blank line. Lines may
 * end in `\n` or `\r\n`.
 *
 * @throws {Error} "Cannot read record on line 3: ..." for a line that is not JSON, or longer
 *   than {@linkcode MAX_LINE_LENGTH}; "Cannot open records file: ..." for a file that cannot be
 *   opened.
 *
 * @example Two records from a stream
 * ```ts
 * import { readNdjson } from "./read_ndjson.ts";
 * import assert from "node:assert/strict";
 * const text = '{"layers":[]}\n\n{"layers":[{"type":"ipv4"}]}\n';
 * const stream = ReadableStream.from([new TextEncoder().encode(text)]);
 * const lines = await Array.fromAsync(readNdjson(stream));
 * assert.ok(lines.length === 2 && lines[1]?.line === 3);
 * ```
 */
export async function* readNdjson(
  source: string | ReadableStream<Uint8Array>,
): AsyncGenerator<NdjsonLine> {
  const stream = (await openStream(source)).pipeThrough(new TextDecoderStream());
  let pending = "";
  let line = 0;
  const parse = (text: string): NdjsonLine | undefined => {
    line++;
    const trimmed = text.trim();
    if (trimmed === "") return undefined;
    try {
      return { line, value: JSON.parse(trimmed) };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new Error(`Cannot read record on line ${line}: ${reason}`);
    }
  };
  for await (const chunk of stream) {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const parsed = parse(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      if (parsed !== undefined) yield parsed;
      newline = pending.indexOf("\n");
    }
    if (pending.length > MAX_LINE_LENGTH) {
      throw new Error(
        `Cannot read record on line ${line + 1}: it is longer than ${MAX_LINE_LENGTH} characters`,
      );
    }
  }
  const last = parse(pending);
  if (last !== undefined) yield last;
}
