/**
 * A capture worker: opens its own packet socket and receive ring in a PACKET_FANOUT group,
 * decodes and prints what its ring holds, and sends the text (and pcap records) back with the
 * frame numbers it took from a counter the workers share. Started by {@linkcode CapturePool};
 * not for import.
 *
 * @module
 */

import { capture, type LiveCapture } from "../ffi/capture.ts";
import { decodeOptions, makePrinter, PrintGroup } from "../format/printer.ts";
import { PCAP_RECORD_HEADER_LENGTH, writePcapRecordHeader } from "../parsers/pcap_write.ts";
import { ByteCollector, LineBytes } from "./output.ts";
import {
  CaptureCounters,
  type CaptureWorkerRequest,
  type CaptureWorkerResponse,
  type CaptureWorkerSetup,
  type OpenedCapture,
  type WorkerBatch,
} from "./capture_messages.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<CaptureWorkerRequest>) => void) | null;
  postMessage(message: CaptureWorkerResponse, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let live: LiveCapture | undefined;
let setup: CaptureWorkerSetup | undefined;
/** Buffers the main thread handed back: a batch goes into these before new memory is asked for. */
const spareText: Uint8Array[] = [];
const spareRecords: Uint8Array[] = [];

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/** Reads, prints and sends back until the counters say stop or the numbers run out. */
async function run(live: LiveCapture, setup: CaptureWorkerSetup): Promise<void> {
  const counters = new CaptureCounters(setup.counters);
  const print = setup.print === undefined ? undefined : new PrintGroup(makePrinter(setup.print));
  const decoding = setup.print === undefined ? undefined : decodeOptions(setup.print);
  // Text and records go straight into the buffers that are sent back.
  const out = new LineBytes();
  const records = new ByteCollector();
  const header = new Uint8Array(PCAP_RECORD_HEADER_LENGTH);
  const headerView = new DataView(header.buffer);
  for await (const batch of live.frames()) {
    if (counters.stopped) live.close();
    const { first, taken } = counters.take(batch.count, setup.count);
    if (taken === 0) {
      live.close();
      continue;
    }
    // A printer calls `frame` before it returns, if at all: one function serves the batch.
    let current = 0;
    const frame = () => batch.data(current);
    for (let i = 0; i < taken; i++) {
      current = i;
      print?.addCursor(live.frameCursor(batch, i), first + i, decoding, frame, out);
      if (setup.write) {
        const captured = batch.captured[i]!;
        const start = batch.offsets[i]!;
        writePcapRecordHeader(
          headerView,
          0,
          batch.seconds[i]!,
          batch.nanos[i]!,
          captured,
          batch.lengths[i]!,
        );
        records.writeSync(header);
        records.writeSync(batch.bytes.subarray(start, start + captured));
      }
    }
    print?.end(out);
    const message: WorkerBatch = { first, count: taken };
    const transfer: ArrayBuffer[] = [];
    if (print !== undefined) {
      message.text = out.giveAway();
      transfer.push(message.text.buffer as ArrayBuffer);
    }
    if (setup.write) {
      message.records = records.giveAway();
      transfer.push(message.records.buffer as ArrayBuffer);
    }
    scope.postMessage({ batch: message }, transfer);
    if (taken < batch.count) live.close();
    // Buffers come back as messages, which a busy capture loop takes in only now and then: with
    // none at hand, let them in before asking for new memory.
    if (
      (print !== undefined && spareText.length === 0) ||
      (setup.write && spareRecords.length === 0)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (print !== undefined) out.reuse(spareText.pop());
    if (setup.write) records.reuse(spareRecords.pop());
  }
}

scope.onmessage = async (event) => {
  const request = event.data;
  try {
    if ("spare" in request) {
      const { text, records } = request.spare;
      if (text !== undefined) spareText.push(new Uint8Array(text));
      if (records !== undefined) spareRecords.push(new Uint8Array(records));
      return;
    }
    if ("stop" in request) {
      live?.close(); // an idle worker: a busy one sees the counters' stop flag
      return;
    }
    if ("setup" in request) {
      setup = request.setup;
      live = capture(setup.capture);
      const opened: OpenedCapture = { linkType: live.linkType, snapLength: live.snapLength };
      if (live.ring !== undefined) opened.ring = live.ring;
      if (live.ringError !== undefined) opened.ringError = live.ringError;
      scope.postMessage({ opened });
      return;
    }
    await run(live!, setup!);
    scope.postMessage({ done: live!.stats() });
  } catch (error) {
    live?.close();
    scope.postMessage({ error: describe(error) });
  }
};
