/**
 * A print worker: decodes and prints the batches it is sent, and sends the text back encoded.
 * Started by {@linkcode PrintPool}; not for import.
 *
 * @module
 */

import { decodeOptions, makePrinter, type Printer, type PrintOptions } from "../format/printer.ts";
import type { DecodeOptions } from "../parsers/decode.ts";
import { LineBytes } from "./output.ts";
import { type PrintBatch, printBatch } from "./print_batch.ts";

/**
 * A message to a print worker: the options once, then batches, and buffers of its earlier
 * answers handed back for reuse once written.
 */
export type PrintRequest =
  | { options: PrintOptions }
  | { id: number; batch: PrintBatch }
  | { spare: ArrayBuffer };
/**
 * A print worker's answer to a batch: its text, at the start of a buffer the worker gives away,
 * and the batch's own buffers given back for later batches.
 */
export type PrintResponse =
  | { id: number; output: Uint8Array; used: PrintBatch }
  | { id: number; error: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<PrintRequest>) => void) | null;
  postMessage(message: PrintResponse, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
// The text goes straight into the buffer that is sent back.
const out = new LineBytes();
let printer: Printer | undefined;
let decoding: DecodeOptions | undefined;
/** Buffers handed back: text goes into these before new memory is asked for. */
const spares: Uint8Array[] = [];

scope.onmessage = (event) => {
  const request = event.data;
  if ("options" in request) {
    printer = makePrinter(request.options);
    decoding = decodeOptions(request.options);
    return;
  }
  if ("spare" in request) {
    spares.push(new Uint8Array(request.spare));
    return;
  }
  try {
    out.reuse(spares.pop());
    printBatch(request.batch, printer!, out, decoding);
    const output = out.giveAway();
    const used = request.batch;
    scope.postMessage({ id: request.id, output, used }, [
      output.buffer as ArrayBuffer,
      used.bytes.buffer as ArrayBuffer,
      used.meta.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    scope.postMessage({
      id: request.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
};
