/**
 * A print worker: decodes and prints the batches it is sent, and sends the text back encoded.
 * Started by {@linkcode PrintPool}; not for import.
 *
 * @module
 */

import { makePrinter, type Printer, type PrintOptions } from "../format/printer.ts";
import { OutputWriter } from "./output.ts";
import { type PrintBatch, printBatch } from "./print_batch.ts";

/** A message to a print worker: the options once, then batches. */
export type PrintRequest = { options: PrintOptions } | { id: number; batch: PrintBatch };
/** A print worker's answer to a batch. */
export type PrintResponse = { id: number; output: Uint8Array } | { id: number; error: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<PrintRequest>) => void) | null;
  postMessage(message: PrintResponse, transfer?: Transferable[]): void;
}

/** Collects the encoded output of one batch in a growing buffer. */
class Collector {
  bytes = new Uint8Array(1 << 22);
  used = 0;
  writeSync(chunk: Uint8Array): number {
    if (this.used + chunk.length > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.used + chunk.length));
      bigger.set(this.bytes.subarray(0, this.used));
      this.bytes = bigger;
    }
    this.bytes.set(chunk, this.used);
    this.used += chunk.length;
    return chunk.length;
  }
}

const scope = globalThis as unknown as WorkerScope;
const collector = new Collector();
// A small buffer: text is encoded while it is young, which spares the garbage collector.
const out = new OutputWriter(collector, { bufferSize: 256 * 1024 });
const writeLine = (line: string) => out.writeLine(line);
let printer: Printer | undefined;

scope.onmessage = (event) => {
  const request = event.data;
  if ("options" in request) {
    printer = makePrinter(request.options);
    return;
  }
  try {
    collector.used = 0;
    printBatch(request.batch, printer!, writeLine);
    out.flush();
    const output = collector.bytes.slice(0, collector.used);
    scope.postMessage({ id: request.id, output }, [output.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({
      id: request.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
};
