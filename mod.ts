/**
 * snout: a packet sniffer and packet toolkit for Deno.
 *
 * This module re-exports the library: decoders that turn frames into typed records, the pcap and
 * pcapng reader, the pcap writer, the formatters the CLI prints with, capture filters (tcpdump's
 * language compiled to classic BPF, run in the kernel or over files), live capture, and the
 * builders and raw sockets that craft and send packets. Importing
 * it opens no native library: libc is opened on the first live capture, so reading a capture file
 * needs only `--allow-read`.
 *
 * @example Decode every packet of a capture file
 * ```ts ignore
 * import { readCapture } from "./mod.ts";
 * for await (const pkt of readCapture("capture.pcap")) {
 *   console.log(pkt.frame.number, pkt.layers.map((layer) => layer.type).join(" / "));
 * }
 * ```
 *
 * @module
 */

export * from "./parsers/types.ts";
export {
  decodeAt,
  decodeFrame,
  type DecodeOptions,
  decodePacket,
  type FrameDecode,
  linkHeaderLength,
} from "./parsers/decode.ts";
export { decodeError, isDecodeError } from "./parsers/decode_error.ts";
export * from "./parsers/link_type.ts";
export { decodeEthernet, decodeVlan, isVlanTpid } from "./parsers/ethernet.ts";
export { decodeArp } from "./parsers/arp.ts";
export { decodeIpv4, decodeIpv4Options } from "./parsers/ipv4.ts";
export { decodeIpv6, type Ipv6Walk, newIpv6Walk } from "./parsers/ipv6.ts";
export { decodeTcp, decodeTcpOptions, TCP_FLAGS } from "./parsers/tcp.ts";
export { decodeUdp } from "./parsers/udp.ts";
export { decodeIcmp, decodeIcmpv6, ICMP_TYPES, ICMPV6_TYPES } from "./parsers/icmp.ts";
export { decodeSll, decodeSll2 } from "./parsers/sll.ts";
export { decodeLoopback } from "./parsers/loopback.ts";
export {
  checksumVerifies,
  foldChecksum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  onesComplementSum,
} from "./parsers/checksum.ts";
export { ipv4Text, ipv6Text, macText } from "./parsers/address.ts";
export {
  type CaptureFormat,
  CaptureFormatError,
  CaptureParser,
  type CaptureRecord,
  formatTime,
  type RecordCursor,
} from "./parsers/capture_format.ts";
export { pcapFileHeader, pcapRecordHeader } from "./parsers/pcap_write.ts";
export {
  decodeRecord,
  readCapture,
  readCaptureBatches,
  type ReadCaptureOptions,
} from "./io/read_capture.ts";
export { readRecordBatches, readRecords, type ReadRecordsOptions } from "./io/read_records.ts";
export {
  type PcapPacket,
  type PcapSink,
  PcapWriter,
  type PcapWriterOptions,
  type PcapWriterTarget,
} from "./io/pcap_writer.ts";
export * from "./filter/bpf.ts";
export { compileFilter, type CompileOptions, DEFAULT_ACCEPT_LENGTH } from "./filter/compile.ts";
export { canFilterLinkType, type GeneratorOptions } from "./filter/codegen.ts";
export { FilterError } from "./filter/filter_error.ts";
export { runFilter, runFilterAt } from "./filter/interpret.ts";
export { verifyProgram } from "./filter/verify.ts";
export { type DumpStyle, formatInstruction, formatProgram } from "./filter/dump.ts";
export { RecordFilter } from "./filter/record_filter.ts";
export { KERNEL_ACCEPT_LENGTH, kernelProgram } from "./filter/kernel_program.ts";
export { formatSummary, writeSummary } from "./format/summary.ts";
export { AsciiBuffer, LineCollector, type LineOutput } from "./format/ascii.ts";
export { formatVerbose } from "./format/verbose.ts";
export { formatHex } from "./format/hex.ts";
export { formatJson, writeJsonLines } from "./format/json.ts";
export type { FormatOptions } from "./format/text.ts";
export { makePrinter, type Printer, PrintGroup, type PrintOptions } from "./format/printer.ts";
export {
  capture,
  type CaptureOptions,
  type CaptureStats,
  LiveCapture,
  type RawPacket,
} from "./ffi/capture.ts";
export { FrameCapture, type FrameCaptureOptions } from "./ffi/frame_capture.ts";
export {
  CaptureSetupError,
  type L3Protocol,
  PacketSocket,
  type PacketSocketOptions,
  type SocketStats,
} from "./ffi/packet_socket.ts";
export { FrameBatch } from "./ffi/frame_batch.ts";
export {
  DEFAULT_RING_BYTES,
  PacketRing,
  type RingGeometry,
  ringGeometry,
  type RingOptions,
} from "./ffi/packet_ring.ts";
export { IOV_MAX, PcapFdWriter, PcapRecordBatch } from "./ffi/pcap_records.ts";
export { CapturePool, type CapturePoolOptions } from "./io/capture_pool.ts";
export { interfaceIndex, listInterfaces, type NetworkInterface } from "./ffi/interfaces.ts";
export { attachSocketFilter, detachSocketFilter } from "./ffi/socket_filter.ts";
export { ErrnoError } from "./ffi/errno.ts";
export { LibcUnavailableError } from "./ffi/libc.ts";
export { dropPrivileges, resolveUser, type UserIds } from "./ffi/privileges.ts";
// Crafting and sending: records to bytes (the inverse of the decoders), and raw sockets to send.
export {
  type BuildOptions,
  buildPacket,
  encodePacket,
  type LayerSpec,
  linkTypeOf,
  type PacketSpec,
  payloadBytes,
  type PayloadSpec,
} from "./parsers/build.ts";
export { BuildError } from "./parsers/build_fields.ts";
export { fragmentIpv4, IPV4_MIN_MTU } from "./parsers/fragment.ts";
export {
  parseHex,
  parseIpv4,
  parseIpv6,
  parseLinkAddress,
  parseMac,
} from "./parsers/address_parse.ts";
export {
  PacketSender,
  send,
  type SendOptions,
  SendSetupError,
  type SendStats,
} from "./ffi/send_socket.ts";
export { type NdjsonLine, readNdjson } from "./io/read_ndjson.ts";
export {
  buildRecord,
  type BuiltRecord,
  type PacketEmitter,
  sendRecords,
  type SendRecordsOptions,
  type SendRecordsResult,
} from "./io/send_records.ts";
export { replayCapture, type ReplayOptions, type ReplayResult } from "./io/replay.ts";
export { Pacer } from "./io/pacer.ts";
