/**
 * An incremental, synchronous reader for the two capture container formats: classic pcap
 * (microsecond, nanosecond and the "modified" Kuznetzov variant, either byte order) and pcapng
 * (sections, interfaces, enhanced, simple and obsolete packet blocks, either byte order).
 *
 * It turns bytes into raw {@linkcode CaptureRecord}s; decoding the packet bytes is another
 * module's job. The parser is pure: it runs in any JavaScript runtime.
 *
 * @module
 */

/** One captured packet as the capture file stores it. */
export interface CaptureRecord {
  /** LINKTYPE_ value: the pcap header's, or the pcapng interface's. */
  linkType: number;
  /** Whole seconds since the epoch. */
  seconds: number;
  /** Fraction of the second in nanoseconds, 0 to 999999999. */
  nanos: number;
  /**
   * Decimal digits of the clock's resolution: 6 for microsecond pcap, 9 for nanosecond pcap;
   * for pcapng from the interface's if_tsresol (default 6, at most 9).
   */
  digits: number;
  /** Original length of the packet on the wire. */
  length: number;
  /**
   * The captured bytes (`data.length` is the captured length). Usually a view into the chunk
   * given to {@linkcode CaptureParser.push}, not a copy.
   */
  data: Uint8Array;
  /** pcapng interface id (absent for classic pcap). */
  interface?: number;
}

/**
 * The record {@linkcode CaptureParser.advance} last reached, described in place: its bytes are
 * `bytes[offset, offset + captured)` (and the same range of `view`). One cursor is reused for
 * every record, so nothing is allocated per record; it is valid until the next call.
 */
export interface RecordCursor {
  /** The buffer holding the record (a chunk given to `push`, or a joined copy). */
  bytes: Uint8Array;
  /** A DataView over the whole of `bytes`. */
  view: DataView;
  /** Offset of the record's first captured byte in `bytes` and `view`. */
  offset: number;
  /** Bytes captured. */
  captured: number;
  /** Original length on the wire. */
  length: number;
  /** Whole seconds since the epoch. */
  seconds: number;
  /** Nanoseconds into the second. */
  nanos: number;
  /** Decimal digits of the clock's resolution. */
  digits: number;
  /** LINKTYPE_ value. */
  linkType: number;
  /** pcapng interface id, or -1 for classic pcap. */
  interface: number;
}

/** The container formats {@linkcode CaptureParser} understands. */
export type CaptureFormat = "pcap" | "pcapng";

/**
 * Thrown when the input is not a capture file, or when a capture file is corrupt beyond the
 * point where reading can sensibly go on.
 *
 * @example Telling a foreign file from other failures
 * ```ts
 * import { CaptureFormatError, CaptureParser } from "./capture_format.ts";
 * import assert from "node:assert/strict";
 *
 * const parser = new CaptureParser();
 * parser.push(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
 * assert.throws(() => parser.next(), CaptureFormatError);
 * ```
 */
export class CaptureFormatError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong, e.g. "Not a capture file: unknown magic number 0x89504e47".
   * @param options Standard error options, e.g. a `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CaptureFormatError";
  }
}

// Classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html).
/** Magic of a microsecond pcap file, as read in the file's own byte order. */
const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
/** Magic of a nanosecond pcap file. */
const PCAP_MAGIC_NANO = 0xa1b23c4d;
/** Magic of Alexey Kuznetzov's "modified" pcap, whose record headers carry 8 more bytes. */
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
/** The only major version of the classic format. */
const PCAP_VERSION_MAJOR = 2;
/**
 * struct pcap_file_header { u32 magic; u16 version_major; u16 version_minor; i32 thiszone;
 * u32 sigfigs; u32 snaplen; u32 linktype; } (24 bytes).
 */
const PCAP_FILE_HEADER_LENGTH = 24;
const PCAP_VERSION_MAJOR_OFFSET = 4;
const PCAP_VERSION_MINOR_OFFSET = 6;
const PCAP_SNAPLEN_OFFSET = 16;
const PCAP_LINKTYPE_OFFSET = 20;
/** The 'network' field's upper 4 bits are reserved, the next 12 may carry FCS information. */
const PCAP_LINKTYPE_FIELD_MASK = 0x0fffffff;
/** The LINKTYPE_ value is the low 16 bits of the 'network' field. */
const LINKTYPE_MASK = 0xffff;
/** struct pcap_sf_pkthdr { u32 ts_sec; u32 ts_frac; u32 caplen; u32 len; } (16 bytes). */
const PCAP_RECORD_HEADER_LENGTH = 16;
/** The modified format appends { u32 ifindex; u16 protocol; u8 pkt_type; u8 pad; }. */
const PCAP_MODIFIED_RECORD_HEADER_LENGTH = 24;
const PCAP_RECORD_SECONDS_OFFSET = 0;
const PCAP_RECORD_FRACTION_OFFSET = 4;
const PCAP_RECORD_CAPLEN_OFFSET = 8;
const PCAP_RECORD_LEN_OFFSET = 12;
/** A record may exceed the snaplen by this much before it counts as corrupt (as in libpcap). */
const PCAP_TOLERATED_CAPLEN = 262144;
/** No record or block this large is believed, whatever the header says. */
const MAX_RECORD_LENGTH = 256 * 1024 * 1024;

// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html).
/** Block type of a Section Header Block; also the file's magic (a byte palindrome). */
const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
const PCAPNG_IDB_TYPE = 0x00000001;
/** The Obsolete Packet Block of early pcapng writers. */
const PCAPNG_OPB_TYPE = 0x00000002;
const PCAPNG_SPB_TYPE = 0x00000003;
const PCAPNG_EPB_TYPE = 0x00000006;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
const PCAPNG_VERSION_MAJOR = 1;
/** Every block: { u32 type; u32 total_length; body...; u32 total_length; }. */
const PCAPNG_BLOCK_HEADER_LENGTH = 8;
const PCAPNG_BLOCK_TRAILER_LENGTH = 4;
const PCAPNG_MIN_BLOCK_LENGTH = PCAPNG_BLOCK_HEADER_LENGTH + PCAPNG_BLOCK_TRAILER_LENGTH;
const PCAPNG_BLOCK_LENGTH_OFFSET = 4;
const PCAPNG_BLOCK_ALIGNMENT = 4;
/** SHB body: { u32 byte_order_magic; u16 major; u16 minor; i64 section_length; options }. */
const PCAPNG_SHB_MAGIC_OFFSET = 8;
const PCAPNG_SHB_MAJOR_OFFSET = 12;
const PCAPNG_SHB_MINOR_OFFSET = 14;
const PCAPNG_SHB_MIN_LENGTH = 28;
/** IDB body: { u16 linktype; u16 reserved; u32 snaplen; options }. */
const PCAPNG_IDB_LINKTYPE_OFFSET = 8;
const PCAPNG_IDB_SNAPLEN_OFFSET = 12;
const PCAPNG_IDB_OPTIONS_OFFSET = 16;
const PCAPNG_IDB_MIN_LENGTH = 20;
/** EPB body: { u32 interface_id; u32 ts_high; u32 ts_low; u32 caplen; u32 len; data; options }. */
const PCAPNG_EPB_INTERFACE_OFFSET = 8;
const PCAPNG_EPB_TS_HIGH_OFFSET = 12;
const PCAPNG_EPB_TS_LOW_OFFSET = 16;
const PCAPNG_EPB_CAPLEN_OFFSET = 20;
const PCAPNG_EPB_LEN_OFFSET = 24;
const PCAPNG_EPB_DATA_OFFSET = 28;
/** OPB body: { u16 interface_id; u16 drops_count; u32 ts_high; u32 ts_low; u32 caplen; u32 len; data; options }. */
const PCAPNG_OPB_INTERFACE_OFFSET = 8;
/** SPB body: { u32 len; data }. */
const PCAPNG_SPB_LEN_OFFSET = 8;
const PCAPNG_SPB_DATA_OFFSET = 12;
/** Options: { u16 code; u16 length; value padded to 4 bytes }. */
const PCAPNG_OPTION_HEADER_LENGTH = 4;
const PCAPNG_OPT_ENDOFOPT = 0;
const PCAPNG_OPT_IF_TSRESOL = 9;
const PCAPNG_OPT_IF_TSOFFSET = 14;
const PCAPNG_IF_TSRESOL_LENGTH = 1;
const PCAPNG_IF_TSOFFSET_LENGTH = 8;
/** if_tsresol: high bit set means a negative power of 2, else of 10. */
const TSRESOL_POWER_OF_TWO = 0x80;
const TSRESOL_EXPONENT_MASK = 0x7f;
const DEFAULT_TSRESOL_DIGITS = 6;

const MAGIC_LENGTH = 4;
const MICRO_DIGITS = 6;
const NANO_DIGITS = 9;
const NANOS_PER_SECOND = 1_000_000_000;
const NANOS_PER_MICRO = 1000;
const MICROS_PER_SECOND = 1_000_000;
const TWO_POW_16 = 0x10000;
const TWO_POW_32 = 0x100000000;
/** Largest divisor for which the 16-bit split division below stays within exact doubles. */
const MAX_SPLIT_DIVISOR = 2 ** 36;
const LOW_16_MASK = 0xffff;
const HEX_RADIX = 16;
const MAGIC_HEX_DIGITS = 8;

/** Powers of ten 10^0 .. 10^9, for scaling fractions of a second. */
const POW10: readonly number[] = [1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

function pow10(exponent: number): number {
  return POW10[exponent] ?? 10 ** exponent;
}

/** How one pcapng interface stamps its packets. */
interface PcapngInterface {
  linkType: number;
  snapLength: number;
  digits: number;
  /** Timestamp units per second when that is 10^0 .. 10^9 (the fast path), else 0. */
  unitsPerSecond: number;
  /** Nanoseconds per unit when unitsPerSecond is set. */
  nanosPerUnit: number;
  /** The raw if_tsresol value, for the exact slow path. */
  tsresol: number;
  /** if_tsoffset: seconds added to every timestamp. */
  offsetSeconds: number;
}

/** Parser states: waiting for the magic number. */
const STATE_MAGIC = 0;
/** Waiting for the rest of the classic pcap file header. */
const STATE_PCAP_HEADER = 1;
/** Reading classic pcap records. */
const STATE_PCAP = 2;
/** Reading pcapng blocks. */
const STATE_PCAPNG = 3;

function hex32(value: number): string {
  return "0x" + (value >>> 0).toString(HEX_RADIX).padStart(MAGIC_HEX_DIGITS, "0");
}

function swap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) |
    (value >>> 24)) >>> 0;
}

function isPcapMagic(magic: number): boolean {
  return magic === PCAP_MAGIC_MICRO || magic === PCAP_MAGIC_NANO ||
    magic === PCAP_MAGIC_MODIFIED;
}

function blockName(type: number): string {
  switch (type) {
    case PCAPNG_SHB_TYPE:
      return "section header block";
    case PCAPNG_IDB_TYPE:
      return "interface description block";
    case PCAPNG_EPB_TYPE:
      return "enhanced packet block";
    case PCAPNG_SPB_TYPE:
      return "simple packet block";
    case PCAPNG_OPB_TYPE:
      return "obsolete packet block";
    default:
      return `block of type ${hex32(type)}`;
  }
}

/**
 * Decimal digits needed to show a timestamp of the given if_tsresol without losing ticks,
 * capped at 9 (nanoseconds).
 */
function tsresolDigits(tsresol: number): number {
  const exponent = tsresol & TSRESOL_EXPONENT_MASK;
  const digits = (tsresol & TSRESOL_POWER_OF_TWO) !== 0
    ? Math.ceil(exponent * Math.log10(2))
    : exponent;
  return Math.min(digits, NANO_DIGITS);
}

/**
 * Parses classic pcap and pcapng incrementally: {@linkcode CaptureParser.push} bytes as they
 * arrive, take records with {@linkcode CaptureParser.next} until it returns null, and call
 * {@linkcode CaptureParser.finish} at the end of the input.
 *
 * Records normally point into the pushed chunks (no copy); only a record that straddles two
 * chunks is copied. So a pushed chunk must not be overwritten while its records are in use.
 *
 * @example Reading records from bytes
 * ```ts
 * import { CaptureParser } from "./capture_format.ts";
 * import { pcapFileHeader, pcapRecordHeader } from "./pcap_write.ts";
 * import assert from "node:assert/strict";
 *
 * const parser = new CaptureParser();
 * parser.push(pcapFileHeader(1, 65535, false));
 * parser.push(pcapRecordHeader(1700000000, 250000, 2, 60));
 * parser.push(new Uint8Array([0xab, 0xcd]));
 * const record = parser.next();
 * assert.equal(parser.format, "pcap");
 * assert.equal(record?.seconds, 1700000000);
 * assert.equal(record?.nanos, 250000000);
 * assert.deepEqual(record?.data, new Uint8Array([0xab, 0xcd]));
 * assert.equal(parser.next(), null);
 * assert.equal(parser.finish(), null);
 * ```
 */
export class CaptureParser {
  /** The chunk being read, its view, and the read position within it. */
  #buf: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#buf.buffer);
  #pos = 0;
  /** File offset of #buf[0]. */
  #base = 0;
  /** Chunks pushed but not yet reached, and their total length. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** What the last unsatisfied read was waiting for, for finish()'s warning. */
  #wantedLength = 0;
  #wantedWhat = "";

  #state = STATE_MAGIC;
  #error: CaptureFormatError | undefined;
  #format: CaptureFormat | undefined;
  #le = true;
  #linkType: number | undefined;
  #snapLength: number | undefined;

  // Classic pcap.
  #pcapLinkType = 0;
  #pcapRecordHeaderLength = PCAP_RECORD_HEADER_LENGTH;
  #pcapNano = false;
  #pcapMaxCaptured = 0;

  // pcapng.
  #interfaces: PcapngInterface[] = [];
  /** Result of the last timestamp conversion (kept in fields to avoid an allocation). */
  #tsSeconds = 0;
  #tsNanos = 0;

  /** The reused description of the current record. */
  readonly cursor: RecordCursor = {
    bytes: this.#buf,
    view: this.#view,
    offset: 0,
    captured: 0,
    length: 0,
    seconds: 0,
    nanos: 0,
    digits: 0,
    linkType: 0,
    interface: -1,
  };

  /** The container format, known once the first 4 bytes are in (undefined for foreign input). */
  get format(): CaptureFormat | undefined {
    return this.#format;
  }

  /**
   * The classic pcap header's link type, or the first pcapng interface's (known once
   * {@linkcode CaptureParser.next} has passed that interface's description block).
   */
  get linkType(): number | undefined {
    return this.#linkType;
  }

  /**
   * The byte order of the file (classic pcap), or of the current section (pcapng): true when
   * little-endian. Until the magic is read, true.
   */
  get littleEndian(): boolean {
    return this.#le;
  }

  /** The classic pcap header's snap length, or the first pcapng interface's (0: no limit). */
  get snapLength(): number | undefined {
    return this.#snapLength;
  }

  /**
   * Feeds bytes. The parser keeps views into `chunk` rather than copies, so the caller must
   * not reuse the chunk's memory while records from it are in use.
   *
   * @param chunk The next bytes of the input.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#pos >= this.#buf.length && this.#pending.length === 0) {
      this.#base += this.#buf.length;
      this.#setBuffer(chunk);
    } else {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
    }
    if (this.#state === STATE_MAGIC) this.#readMagic();
  }

  /**
   * Returns the next complete record, or null when more bytes are needed.
   *
   * @throws {CaptureFormatError} When the input is not a capture file or is corrupt.
   */
  next(): CaptureRecord | null {
    if (!this.advance()) return null;
    const c = this.cursor;
    const record: CaptureRecord = {
      linkType: c.linkType,
      seconds: c.seconds,
      nanos: c.nanos,
      digits: c.digits,
      length: c.length,
      data: c.bytes.subarray(c.offset, c.offset + c.captured),
    };
    if (c.interface >= 0) record.interface = c.interface;
    return record;
  }

  /**
   * Moves {@linkcode CaptureParser.cursor} to the next complete record without allocating;
   * returns false when more bytes are needed. The fast path for readers that decode in place.
   *
   * @throws {CaptureFormatError} When the input is not a capture file or is corrupt.
   */
  advance(): boolean {
    if (this.#error !== undefined) throw this.#error;
    try {
      switch (this.#state) {
        case STATE_PCAP:
          return this.#nextPcap();
        case STATE_PCAPNG:
          return this.#nextPcapng();
        case STATE_PCAP_HEADER:
          if (!this.#readPcapHeader()) return false;
          return this.#nextPcap();
        default:
          return false;
      }
    } catch (error) {
      if (error instanceof CaptureFormatError) this.#error = error;
      throw error;
    }
  }

  /** Points the cursor at a record of the current buffer. */
  #point(
    start: number,
    captured: number,
    length: number,
    seconds: number,
    nanos: number,
    digits: number,
    linkType: number,
    iface: number,
  ): true {
    const c = this.cursor;
    c.bytes = this.#buf;
    c.view = this.#view;
    c.offset = start;
    c.captured = captured;
    c.length = length;
    c.seconds = seconds;
    c.nanos = nanos;
    c.digits = digits;
    c.linkType = linkType;
    c.interface = iface;
    return true;
  }

  /**
   * Ends the input. Call it once {@linkcode CaptureParser.next} has returned null.
   *
   * @returns null, or a warning such as "Capture file is cut off: 17 bytes of a 98-byte record
   * at offset 4242" when the input ends inside a record.
   * @throws {CaptureFormatError} When the input was empty or shorter than a file header.
   */
  finish(): string | null {
    if (this.#error !== undefined) throw this.#error;
    const left = this.#buf.length - this.#pos + this.#pendingBytes;
    const offset = this.#base + this.#pos;
    if (this.#state === STATE_MAGIC) {
      if (left === 0) throw new CaptureFormatError("Not a capture file: the file is empty");
      throw new CaptureFormatError(
        `Not a capture file: ${left} bytes, too short for a capture file header`,
      );
    }
    if (this.#state === STATE_PCAP_HEADER) {
      throw new CaptureFormatError(
        `Not a capture file: ${left} bytes, shorter than a pcap file header ` +
          `(${PCAP_FILE_HEADER_LENGTH} bytes)`,
      );
    }
    if (left === 0) return null;
    if (this.#state === STATE_PCAPNG && offset === 0 && left < PCAPNG_SHB_MIN_LENGTH) {
      throw new CaptureFormatError(
        `Not a capture file: ${left} bytes, shorter than a pcapng section header ` +
          `(${PCAPNG_SHB_MIN_LENGTH} bytes)`,
      );
    }
    if (this.#wantedLength <= left) {
      return `Capture file has ${left} unread bytes at offset ${offset}`;
    }
    return `Capture file is cut off: ${left} bytes of a ${this.#wantedLength}-byte ` +
      `${this.#wantedWhat} at offset ${offset}`;
  }

  #setBuffer(chunk: Uint8Array): void {
    this.#buf = chunk;
    this.#view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#pos = 0;
  }

  /**
   * Makes bytes [#pos, #pos + length) contiguous in #buf, copying them out of the pending
   * chunks when they straddle. Returns false (and notes what was wanted) when there are fewer.
   */
  #ensure(length: number, what: string): boolean {
    let have = this.#buf.length - this.#pos;
    if (have >= length) return true;
    if (have + this.#pendingBytes < length) {
      this.#wantedLength = length;
      this.#wantedWhat = what;
      return false;
    }
    while (have === 0) {
      // The current chunk is used up: move on to the next one, which may hold it all.
      this.#base += this.#buf.length;
      const chunk = this.#pending.shift() as Uint8Array;
      this.#pendingBytes -= chunk.length;
      this.#setBuffer(chunk);
      have = chunk.length;
      if (have >= length) return true;
    }
    const joined = new Uint8Array(length);
    joined.set(this.#buf.subarray(this.#pos));
    let filled = have;
    while (filled < length) {
      const chunk = this.#pending[0] as Uint8Array;
      const take = Math.min(chunk.length, length - filled);
      joined.set(take === chunk.length ? chunk : chunk.subarray(0, take), filled);
      filled += take;
      this.#pendingBytes -= take;
      if (take === chunk.length) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(take);
    }
    this.#base += this.#pos;
    this.#setBuffer(joined);
    return true;
  }

  #readMagic(): void {
    if (!this.#ensure(MAGIC_LENGTH, "file header")) return;
    const magic = this.#view.getUint32(this.#pos, false);
    if (isPcapMagic(magic)) {
      this.#le = false;
    } else if (isPcapMagic(swap32(magic))) {
      this.#le = true;
    } else if (magic !== PCAPNG_SHB_TYPE) {
      this.#error = new CaptureFormatError(
        `Not a capture file: unknown magic number ${hex32(magic)}`,
      );
      return;
    }
    if (magic === PCAPNG_SHB_TYPE) {
      this.#format = "pcapng";
      this.#state = STATE_PCAPNG;
      return;
    }
    this.#format = "pcap";
    this.#state = STATE_PCAP_HEADER;
    const native = this.#le ? swap32(magic) : magic;
    this.#pcapNano = native === PCAP_MAGIC_NANO;
    this.#pcapRecordHeaderLength = native === PCAP_MAGIC_MODIFIED
      ? PCAP_MODIFIED_RECORD_HEADER_LENGTH
      : PCAP_RECORD_HEADER_LENGTH;
  }

  #readPcapHeader(): boolean {
    if (!this.#ensure(PCAP_FILE_HEADER_LENGTH, "pcap file header")) return false;
    const view = this.#view;
    const pos = this.#pos;
    const le = this.#le;
    const major = view.getUint16(pos + PCAP_VERSION_MAJOR_OFFSET, le);
    const minor = view.getUint16(pos + PCAP_VERSION_MINOR_OFFSET, le);
    if (major !== PCAP_VERSION_MAJOR) {
      throw new CaptureFormatError(
        `Unsupported capture file: pcap version ${major}.${minor}, expected ${PCAP_VERSION_MAJOR}.x`,
      );
    }
    const snapLength = view.getUint32(pos + PCAP_SNAPLEN_OFFSET, le);
    const network = view.getUint32(pos + PCAP_LINKTYPE_OFFSET, le);
    this.#pcapLinkType = (network & PCAP_LINKTYPE_FIELD_MASK) & LINKTYPE_MASK;
    this.#pcapMaxCaptured = Math.min(
      Math.max(snapLength, PCAP_TOLERATED_CAPLEN),
      MAX_RECORD_LENGTH,
    );
    this.#linkType = this.#pcapLinkType;
    this.#snapLength = snapLength;
    this.#pos = pos + PCAP_FILE_HEADER_LENGTH;
    this.#state = STATE_PCAP;
    return true;
  }

  #nextPcap(): boolean {
    const headerLength = this.#pcapRecordHeaderLength;
    if (this.#buf.length - this.#pos < headerLength) {
      if (!this.#ensure(headerLength, "record header")) return false;
    }
    let view = this.#view;
    let pos = this.#pos;
    const le = this.#le;
    const captured = view.getUint32(pos + PCAP_RECORD_CAPLEN_OFFSET, le);
    if (captured > this.#pcapMaxCaptured) {
      throw new CaptureFormatError(
        `Corrupt capture file: record at offset ${this.#base + pos} has captured length ` +
          `${captured}, more than the limit ${this.#pcapMaxCaptured}`,
      );
    }
    const total = headerLength + captured;
    if (this.#buf.length - pos < total) {
      if (!this.#ensure(total, "record")) return false;
      view = this.#view;
      pos = this.#pos;
    }
    let seconds = view.getUint32(pos + PCAP_RECORD_SECONDS_OFFSET, le);
    const fraction = view.getUint32(pos + PCAP_RECORD_FRACTION_OFFSET, le);
    let nanos: number;
    let digits: number;
    if (this.#pcapNano) {
      nanos = fraction;
      digits = NANO_DIGITS;
      if (nanos >= NANOS_PER_SECOND) {
        seconds += Math.floor(nanos / NANOS_PER_SECOND);
        nanos %= NANOS_PER_SECOND;
      }
    } else {
      nanos = fraction * NANOS_PER_MICRO;
      digits = MICRO_DIGITS;
      if (fraction >= MICROS_PER_SECOND) {
        seconds += Math.floor(fraction / MICROS_PER_SECOND);
        nanos = (fraction % MICROS_PER_SECOND) * NANOS_PER_MICRO;
      }
    }
    const start = pos + headerLength;
    this.#pos = start + captured;
    return this.#point(
      start,
      captured,
      view.getUint32(pos + PCAP_RECORD_LEN_OFFSET, le),
      seconds,
      nanos,
      digits,
      this.#pcapLinkType,
      -1,
    );
  }

  #nextPcapng(): boolean {
    for (;;) {
      if (this.#buf.length - this.#pos < PCAPNG_BLOCK_HEADER_LENGTH) {
        if (!this.#ensure(PCAPNG_BLOCK_HEADER_LENGTH, "block header")) return false;
      }
      const type = this.#view.getUint32(this.#pos, this.#le);
      if (type === PCAPNG_SHB_TYPE) {
        // The byte order magic decides how to read even this block's length.
        if (!this.#ensure(PCAPNG_SHB_MAGIC_OFFSET + MAGIC_LENGTH, "section header block")) {
          return false;
        }
        const magic = this.#view.getUint32(this.#pos + PCAPNG_SHB_MAGIC_OFFSET, false);
        if (magic === PCAPNG_BYTE_ORDER_MAGIC) this.#le = false;
        else if (magic === PCAPNG_BYTE_ORDER_MAGIC_SWAPPED) this.#le = true;
        else {
          throw new CaptureFormatError(
            `${
              this.#base + this.#pos === 0 ? "Not a capture file" : "Corrupt capture file"
            }: section header block at offset ${this.#base + this.#pos} has unknown ` +
              `byte-order magic ${hex32(magic)}`,
          );
        }
      }
      const length = this.#view.getUint32(this.#pos + PCAPNG_BLOCK_LENGTH_OFFSET, this.#le);
      const minimum = type === PCAPNG_SHB_TYPE ? PCAPNG_SHB_MIN_LENGTH : PCAPNG_MIN_BLOCK_LENGTH;
      if (length % PCAPNG_BLOCK_ALIGNMENT !== 0 || length < minimum || length > MAX_RECORD_LENGTH) {
        throw new CaptureFormatError(
          `Corrupt capture file: ${blockName(type)} at offset ${this.#base + this.#pos} has ` +
            `total length ${length}, which is not a multiple of ${PCAPNG_BLOCK_ALIGNMENT} ` +
            `from ${minimum} to ${MAX_RECORD_LENGTH}`,
        );
      }
      if (this.#buf.length - this.#pos < length) {
        if (!this.#ensure(length, blockName(type))) return false;
      }
      const view = this.#view;
      const pos = this.#pos;
      const trailer = view.getUint32(pos + length - PCAPNG_BLOCK_TRAILER_LENGTH, this.#le);
      if (trailer !== length) {
        throw new CaptureFormatError(
          `Corrupt capture file: ${blockName(type)} at offset ${this.#base + pos} has total ` +
            `length ${length} at its start but ${trailer} at its end`,
        );
      }
      let found = false;
      switch (type) {
        case PCAPNG_EPB_TYPE:
          found = this.#packetBlock(type, length, false);
          break;
        case PCAPNG_SPB_TYPE:
          found = this.#simplePacketBlock(length);
          break;
        case PCAPNG_OPB_TYPE:
          found = this.#packetBlock(type, length, true);
          break;
        case PCAPNG_IDB_TYPE:
          this.#interfaceBlock(length);
          break;
        case PCAPNG_SHB_TYPE:
          this.#sectionBlock();
          break;
      }
      this.#pos = pos + length;
      if (found) return true;
    }
  }

  #sectionBlock(): void {
    const pos = this.#pos;
    const major = this.#view.getUint16(pos + PCAPNG_SHB_MAJOR_OFFSET, this.#le);
    const minor = this.#view.getUint16(pos + PCAPNG_SHB_MINOR_OFFSET, this.#le);
    if (major !== PCAPNG_VERSION_MAJOR) {
      throw new CaptureFormatError(
        `Unsupported capture file: pcapng version ${major}.${minor} in the section header ` +
          `block at offset ${this.#base + pos}, expected ${PCAPNG_VERSION_MAJOR}.x`,
      );
    }
    this.#interfaces = [];
  }

  #interfaceBlock(length: number): void {
    const view = this.#view;
    const pos = this.#pos;
    const le = this.#le;
    if (length < PCAPNG_IDB_MIN_LENGTH) {
      throw new CaptureFormatError(
        `Corrupt capture file: interface description block at offset ${this.#base + pos} ` +
          `is ${length} bytes, less than the minimum ${PCAPNG_IDB_MIN_LENGTH}`,
      );
    }
    const linkType = view.getUint16(pos + PCAPNG_IDB_LINKTYPE_OFFSET, le);
    const snapLength = view.getUint32(pos + PCAPNG_IDB_SNAPLEN_OFFSET, le);
    let tsresol = DEFAULT_TSRESOL_DIGITS;
    let offsetSeconds = 0;
    const end = pos + length - PCAPNG_BLOCK_TRAILER_LENGTH;
    let at = pos + PCAPNG_IDB_OPTIONS_OFFSET;
    while (at + PCAPNG_OPTION_HEADER_LENGTH <= end) {
      const code = view.getUint16(at, le);
      const optionLength = view.getUint16(at + 2, le);
      const value = at + PCAPNG_OPTION_HEADER_LENGTH;
      if (code === PCAPNG_OPT_ENDOFOPT || value + optionLength > end) break;
      if (code === PCAPNG_OPT_IF_TSRESOL && optionLength >= PCAPNG_IF_TSRESOL_LENGTH) {
        tsresol = view.getUint8(value);
      } else if (code === PCAPNG_OPT_IF_TSOFFSET && optionLength >= PCAPNG_IF_TSOFFSET_LENGTH) {
        offsetSeconds = Number(view.getBigInt64(value, le));
      }
      at = value + Math.ceil(optionLength / PCAPNG_BLOCK_ALIGNMENT) * PCAPNG_BLOCK_ALIGNMENT;
    }
    const powerOfTen = (tsresol & TSRESOL_POWER_OF_TWO) === 0 && tsresol <= NANO_DIGITS;
    this.#interfaces.push({
      linkType,
      snapLength,
      digits: tsresolDigits(tsresol),
      unitsPerSecond: powerOfTen ? pow10(tsresol) : 0,
      nanosPerUnit: powerOfTen ? pow10(NANO_DIGITS - tsresol) : 0,
      tsresol,
      offsetSeconds,
    });
    if (this.#linkType === undefined) {
      this.#linkType = linkType;
      this.#snapLength = snapLength;
    }
  }

  #interface(id: number, type: number): PcapngInterface {
    const found = this.#interfaces[id];
    if (found === undefined) {
      throw new CaptureFormatError(
        `Corrupt capture file: ${blockName(type)} at offset ${this.#base + this.#pos} refers ` +
          `to interface ${id}, but the section describes ${this.#interfaces.length}`,
      );
    }
    return found;
  }

  #packetBlock(type: number, length: number, obsolete: boolean): true {
    const view = this.#view;
    const pos = this.#pos;
    const le = this.#le;
    const room = length - PCAPNG_EPB_DATA_OFFSET - PCAPNG_BLOCK_TRAILER_LENGTH;
    if (room < 0) {
      throw new CaptureFormatError(
        `Corrupt capture file: ${blockName(type)} at offset ${this.#base + pos} is ${length} ` +
          `bytes, less than the minimum ${PCAPNG_EPB_DATA_OFFSET + PCAPNG_BLOCK_TRAILER_LENGTH}`,
      );
    }
    const id = obsolete
      ? view.getUint16(pos + PCAPNG_OPB_INTERFACE_OFFSET, le)
      : view.getUint32(pos + PCAPNG_EPB_INTERFACE_OFFSET, le);
    const iface = this.#interface(id, type);
    const captured = view.getUint32(pos + PCAPNG_EPB_CAPLEN_OFFSET, le);
    if (captured > room) {
      throw new CaptureFormatError(
        `Corrupt capture file: ${blockName(type)} at offset ${this.#base + pos} has captured ` +
          `length ${captured}, more than the ${room} bytes its block holds`,
      );
    }
    this.#timestamp(
      iface,
      view.getUint32(pos + PCAPNG_EPB_TS_HIGH_OFFSET, le),
      view.getUint32(pos + PCAPNG_EPB_TS_LOW_OFFSET, le),
    );
    return this.#point(
      pos + PCAPNG_EPB_DATA_OFFSET,
      captured,
      view.getUint32(pos + PCAPNG_EPB_LEN_OFFSET, le),
      this.#tsSeconds,
      this.#tsNanos,
      iface.digits,
      iface.linkType,
      id,
    );
  }

  #simplePacketBlock(length: number): true {
    const pos = this.#pos;
    const iface = this.#interface(0, PCAPNG_SPB_TYPE);
    const original = this.#view.getUint32(pos + PCAPNG_SPB_LEN_OFFSET, this.#le);
    let captured = Math.min(
      length - PCAPNG_SPB_DATA_OFFSET - PCAPNG_BLOCK_TRAILER_LENGTH,
      original,
    );
    if (iface.snapLength > 0 && iface.snapLength < captured) captured = iface.snapLength;
    return this.#point(
      pos + PCAPNG_SPB_DATA_OFFSET,
      captured,
      original,
      0,
      0,
      iface.digits,
      iface.linkType,
      0,
    );
  }

  /** Converts a 64-bit pcapng timestamp to #tsSeconds and #tsNanos, exactly. */
  #timestamp(iface: PcapngInterface, high: number, low: number): void {
    const units = iface.unitsPerSecond;
    if (units === 0 || units > MAX_SPLIT_DIVISOR) {
      this.#timestampExact(iface, high, low);
      return;
    }
    // (high * 2^32 + low) / units, one 16-bit digit at a time so every step is an exact double.
    const highQuotient = Math.floor(high / units);
    const middle = (high - highQuotient * units) * TWO_POW_16 + (low >>> 16);
    const middleQuotient = Math.floor(middle / units);
    const bottom = (middle - middleQuotient * units) * TWO_POW_16 + (low & LOW_16_MASK);
    const bottomQuotient = Math.floor(bottom / units);
    this.#tsSeconds = highQuotient * TWO_POW_32 + middleQuotient * TWO_POW_16 + bottomQuotient +
      iface.offsetSeconds;
    this.#tsNanos = (bottom - bottomQuotient * units) * iface.nanosPerUnit;
  }

  /** The BigInt path, for resolutions other than 10^0 .. 10^-9. */
  #timestampExact(iface: PcapngInterface, high: number, low: number): void {
    const ticks = (BigInt(high) << 32n) | BigInt(low);
    const exponent = BigInt(iface.tsresol & TSRESOL_EXPONENT_MASK);
    const units = (iface.tsresol & TSRESOL_POWER_OF_TWO) !== 0 ? 1n << exponent : 10n ** exponent;
    const fraction = ticks % units;
    this.#tsSeconds = Number(ticks / units) + iface.offsetSeconds;
    this.#tsNanos = Number((fraction * BigInt(NANOS_PER_SECOND)) / units);
  }
}

/**
 * Formats a capture timestamp as epoch seconds in decimal with `digits` fraction digits
 * (truncated, not rounded), the way `tcpdump -tt` and tshark's `frame.time_epoch` show it.
 *
 * @param seconds Whole seconds since the epoch.
 * @param nanos Nanoseconds into the second, 0 to 999999999.
 * @param digits Fraction digits, 0 to 9.
 * @returns Text such as "1700000000.123456".
 *
 * @example Microsecond and nanosecond times
 * ```ts
 * import { formatTime } from "./capture_format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatTime(1700000000, 123456789, 6), "1700000000.123456");
 * assert.equal(formatTime(1700000000, 5, 9), "1700000000.000000005");
 * assert.equal(formatTime(1700000000, 0, 0), "1700000000");
 * ```
 */
export function formatTime(seconds: number, nanos: number, digits: number): string {
  const places = digits < 0 ? 0 : digits > NANO_DIGITS ? NANO_DIGITS : digits;
  let whole = seconds;
  let fraction = nanos;
  let sign = "";
  if (whole < 0) {
    // -1.5 s is stored as seconds -2 and nanos 500000000.
    sign = "-";
    if (fraction > 0) {
      whole = -whole - 1;
      fraction = NANOS_PER_SECOND - fraction;
    } else {
      whole = -whole;
    }
  }
  if (places === 0) return sign + whole;
  const scaled = Math.floor(fraction / pow10(NANO_DIGITS - places));
  // Packets come many to a second: the characters of "seconds." are kept from the last call and
  // only the fraction's digits are written. fromCharCode gives one flat string, where a chain of
  // + would leave a rope that JSON.stringify and the output encoder walk again for every packet.
  const codes = timeCodes;
  if (whole !== timeSeconds || sign !== timeSign || places !== timePlaces) {
    const prefix = sign + whole + ".";
    codes.length = prefix.length + places;
    for (let i = 0; i < prefix.length; i++) codes[i] = prefix.charCodeAt(i);
    timeSeconds = whole;
    timeSign = sign;
    timePlaces = places;
  }
  let rest = scaled;
  for (let i = codes.length - 1, left = places; left > 0; i--, left--) {
    const next = Math.floor(rest / DECIMAL_BASE);
    codes[i] = DIGIT_ZERO + rest - next * DECIMAL_BASE;
    rest = next;
  }
  return String.fromCharCode.apply(null, codes);
}

/** formatTime's last sign and "seconds." as character codes, followed by the fraction's digits. */
const timeCodes: number[] = [];
let timeSeconds = -1;
let timeSign = "";
let timePlaces = -1;
const DECIMAL_BASE = 10;
const DIGIT_ZERO = 0x30;
