/**
 * A print worker: decodes and prints the batches it is sent, and sends the text back encoded.
 * Started by {@linkcode PrintPool}; not for import.
 *
 * @module
 */

import { makePrinter, type Printer, type PrintOptions } from "../format/printer.ts";
import { ByteCollector, OutputWriter } from "./output.ts";
import { type PrintBatch, printBatch } from "./print_batch.ts";

/** A message to a print worker: the options once, then batches. */
export type PrintRequest = { options: PrintOptions } | { id: number; batch: PrintBatch };
/** A print worker's answer to a batch. */
export type PrintResponse = { id: number; output: Uint8Array } | { id: number; error: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<PrintRequest>) => void) | null;
  postMessage(message: PrintResponse, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const collector = new ByteCollector();
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
    const output = collector.take();
    scope.postMessage({ id: request.id, output }, [output.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({
      id: request.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
};
