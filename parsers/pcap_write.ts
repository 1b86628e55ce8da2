/**
 * Encoding of classic pcap file and record headers, little-endian, as libpcap writes them on
 * x86. Pure: no I/O.
 *
 * @module
 */

/** Magic of a microsecond pcap file. */
const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
/** Magic of a nanosecond pcap file. */
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;
/**
 * struct pcap_file_header { u32 magic; u16 version_major; u16 version_minor; i32 thiszone;
 * u32 sigfigs; u32 snaplen; u32 linktype; } (24 bytes).
 */
const MAGIC_OFFSET = 0;
const VERSION_MAJOR_OFFSET = 4;
const VERSION_MINOR_OFFSET = 6;
const THISZONE_OFFSET = 8;
const SIGFIGS_OFFSET = 12;
const SNAPLEN_OFFSET = 16;
const LINKTYPE_OFFSET = 20;
/** struct pcap_sf_pkthdr { u32 ts_sec; u32 ts_frac; u32 caplen; u32 len; } (16 bytes). */
const SECONDS_OFFSET = 0;
const FRACTION_OFFSET = 4;
const CAPLEN_OFFSET = 8;
const LEN_OFFSET = 12;
const LITTLE_ENDIAN = true;

/** Size of a classic pcap file header in bytes. */
export const PCAP_FILE_HEADER_LENGTH = 24;
/** Size of a classic pcap record header in bytes. */
export const PCAP_RECORD_HEADER_LENGTH = 16;

/**
 * Encodes a little-endian pcap file header (version 2.4, thiszone and sigfigs 0).
 *
 * @param linkType LINKTYPE_ value (the whole 32-bit 'network' field).
 * @param snapLength Largest captured length a record may have.
 * @param nanosecond True for the nanosecond magic a1b23c4d, false for microsecond a1b2c3d4.
 * @returns The 24 header bytes.
 *
 * @example An Ethernet header
 * ```ts
 * import { pcapFileHeader } from "./pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const header = pcapFileHeader(1, 262144, false);
 * assert.deepEqual(header.subarray(0, 4), new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1]));
 * assert.equal(header.length, 24);
 * ```
 */
export function pcapFileHeader(
  linkType: number,
  snapLength: number,
  nanosecond: boolean,
): Uint8Array {
  const header = new Uint8Array(PCAP_FILE_HEADER_LENGTH);
  writePcapFileHeader(new DataView(header.buffer), 0, linkType, snapLength, nanosecond);
  return header;
}

/**
 * Writes a little-endian pcap file header into `view` at `offset` (24 bytes must be there).
 *
 * @param view Where to write.
 * @param offset Byte offset in `view`.
 * @param linkType LINKTYPE_ value (the whole 32-bit 'network' field).
 * @param snapLength Largest captured length a record may have.
 * @param nanosecond True for the nanosecond magic.
 *
 * @example Writing into a larger buffer
 * ```ts
 * import { writePcapFileHeader } from "./pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const buffer = new Uint8Array(64);
 * writePcapFileHeader(new DataView(buffer.buffer), 0, 101, 65535, true);
 * assert.equal(buffer[20], 101);
 * ```
 */
export function writePcapFileHeader(
  view: DataView,
  offset: number,
  linkType: number,
  snapLength: number,
  nanosecond: boolean,
): void {
  view.setUint32(
    offset + MAGIC_OFFSET,
    nanosecond ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO,
    LITTLE_ENDIAN,
  );
  view.setUint16(offset + VERSION_MAJOR_OFFSET, PCAP_VERSION_MAJOR, LITTLE_ENDIAN);
  view.setUint16(offset + VERSION_MINOR_OFFSET, PCAP_VERSION_MINOR, LITTLE_ENDIAN);
  view.setInt32(offset + THISZONE_OFFSET, 0, LITTLE_ENDIAN);
  view.setUint32(offset + SIGFIGS_OFFSET, 0, LITTLE_ENDIAN);
  view.setUint32(offset + SNAPLEN_OFFSET, snapLength, LITTLE_ENDIAN);
  view.setUint32(offset + LINKTYPE_OFFSET, linkType, LITTLE_ENDIAN);
}

/**
 * Encodes a little-endian pcap record header.
 *
 * @param seconds Whole seconds since the epoch.
 * @param fraction Microseconds, or nanoseconds in a nanosecond file.
 * @param captured Bytes of packet data that follow the header.
 * @param length Original length of the packet on the wire.
 * @returns The 16 header bytes.
 *
 * @example A 60-byte frame captured whole
 * ```ts
 * import { pcapRecordHeader } from "./pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const header = pcapRecordHeader(1700000000, 123456, 60, 60);
 * assert.equal(new DataView(header.buffer).getUint32(8, true), 60);
 * ```
 */
export function pcapRecordHeader(
  seconds: number,
  fraction: number,
  captured: number,
  length: number,
): Uint8Array {
  const header = new Uint8Array(PCAP_RECORD_HEADER_LENGTH);
  writePcapRecordHeader(new DataView(header.buffer), 0, seconds, fraction, captured, length);
  return header;
}

/**
 * Writes a little-endian pcap record header into `view` at `offset` (16 bytes must be there):
 * the allocation-free variant of {@linkcode pcapRecordHeader}.
 *
 * @param view Where to write.
 * @param offset Byte offset in `view`.
 * @param seconds Whole seconds since the epoch.
 * @param fraction Microseconds, or nanoseconds in a nanosecond file.
 * @param captured Bytes of packet data that follow the header.
 * @param length Original length of the packet on the wire.
 *
 * @example Writing a header ahead of its packet
 * ```ts
 * import { writePcapRecordHeader } from "./pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const buffer = new Uint8Array(16 + 4);
 * writePcapRecordHeader(new DataView(buffer.buffer), 0, 1, 2, 4, 4);
 * buffer.set([1, 2, 3, 4], 16);
 * assert.equal(buffer[4], 2);
 * ```
 */
export function writePcapRecordHeader(
  view: DataView,
  offset: number,
  seconds: number,
  fraction: number,
  captured: number,
  length: number,
): void {
  view.setUint32(offset + SECONDS_OFFSET, seconds, LITTLE_ENDIAN);
  view.setUint32(offset + FRACTION_OFFSET, fraction, LITTLE_ENDIAN);
  view.setUint32(offset + CAPLEN_OFFSET, captured, LITTLE_ENDIAN);
  view.setUint32(offset + LEN_OFFSET, length, LITTLE_ENDIAN);
}
