/**
 * The `-w` fast path: pcap records laid out in place in the receive ring and written with one
 * writev per batch, so a packet costs a few stores in JS and no copy in user space.
 *
 * @module
 */

import { pcapFileHeader } from "../parsers/pcap_write.ts";
import { IOVEC } from "./constants.ts";
import { EINTR, ErrnoError, lastErrno } from "./errno.ts";
import { libc } from "./libc.ts";
import { getAddress, setAddress } from "./pointer.ts";

/** Most iovecs one writev takes (IOV_MAX on Linux). */
export const IOV_MAX = 1024;
/**
 * Most records a batch holds: one writev's worth, so that a whole write needs no walk over the
 * iovecs to find where the next writev starts.
 */
const RECORDS_PER_BATCH = IOV_MAX;
/** Permissions of a file `creat` makes, before the umask: as tcpdump's. */
const FILE_MODE = 0o644;
const STDOUT_FD = 1;

/**
 * Up to {@linkcode IOV_MAX} pcap records, each a struct iovec pointing at a record header and the
 * frame after it, in the ring, written with one writev. Valid until the next read from the ring.
 *
 * @example An empty batch
 * ```ts
 * import { PcapRecordBatch } from "./pcap_records.ts";
 * import assert from "node:assert/strict";
 * const records = new PcapRecordBatch();
 * assert.ok(records.count === 0 && records.capacity === 1024);
 * ```
 */
export class PcapRecordBatch {
  /** Records in the batch. */
  count = 0;
  /** Their bytes together. */
  bytes = 0;
  /** The most records a batch holds. */
  readonly capacity = RECORDS_PER_BATCH;
  /** The struct iovec array: the kernel reads it during writev. */
  readonly iov: Uint8Array = new Uint8Array(RECORDS_PER_BATCH * IOVEC.size);
  /** A view over `iov`. */
  readonly view: DataView = new DataView(this.iov.buffer);
  /** `iov` as 32-bit words (little-endian, as the machine is). */
  readonly words: Uint32Array = new Uint32Array(this.iov.buffer);
}

/**
 * A pcap file written with libc calls: `creat` (or standard output for `-`), the file header,
 * then batches of records in place with writev. `close()` is safe twice.
 */
export class PcapFdWriter {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  #closed = false;

  private constructor(fd: number, ownsFd: boolean) {
    this.#fd = fd;
    this.#ownsFd = ownsFd;
  }

  /**
   * Creates (or truncates) `path`, or takes standard output for `-`, and writes a nanosecond
   * pcap file header.
   *
   * @throws {ErrnoError} "Cannot open pcap output file: EACCES (...)" and the like.
   *
   * @example Write an empty capture (needs --allow-ffi)
   * ```ts ignore
   * import { PcapFdWriter } from "./pcap_records.ts";
   * const writer = PcapFdWriter.create("/tmp/empty.pcap", 1, 262144);
   * writer.close();
   * ```
   */
  static create(path: string, linkType: number, snapLength: number): PcapFdWriter {
    const c = libc();
    let fd = STDOUT_FD;
    if (path !== "-") {
      fd = c.creat(new TextEncoder().encode(path + "\0"), FILE_MODE);
      if (fd < 0) {
        throw new ErrnoError(`Cannot open pcap output file ${path}`, "creat", lastErrno());
      }
    }
    const writer = new PcapFdWriter(fd, path !== "-");
    try {
      writer.#writeAll(pcapFileHeader(linkType, snapLength, true));
    } catch (error) {
      writer.close();
      throw error;
    }
    return writer;
  }

  /** Writes every record of `records`: one writev, and more only after a short write. */
  write(records: PcapRecordBatch): void {
    const c = libc();
    const view = records.view;
    let first = 0;
    let left = records.bytes;
    while (left > 0) {
      const written = c.writev(
        this.#fd,
        records.iov.subarray(first * IOVEC.size),
        Math.min(records.count - first, IOV_MAX),
      );
      if (written < 0) {
        const errno = lastErrno();
        if (errno === EINTR) continue;
        throw new ErrnoError("Cannot write pcap output", "writev", errno);
      }
      left -= written;
      if (left === 0) break;
      // A short write: step past the whole iovecs written, and into the one cut short.
      let done = written;
      while (left > 0 && done > 0) {
        const at = first * IOVEC.size;
        const length = view.getUint32(at + IOVEC.len, true);
        if (done < length) {
          setAddress(view, at + IOVEC.base, getAddress(view, at + IOVEC.base) + done);
          view.setUint32(at + IOVEC.len, length - done, true);
          break;
        }
        done -= length;
        first++;
      }
    }
  }

  #writeAll(bytes: Uint8Array): void {
    const c = libc();
    let done = 0;
    while (done < bytes.length) {
      const written = c.write(this.#fd, bytes.subarray(done), bytes.length - done);
      if (written < 0) {
        const errno = lastErrno();
        if (errno === EINTR) continue;
        throw new ErrnoError("Cannot write pcap output", "write", errno);
      }
      done += written;
    }
  }

  /** Closes the file (not standard output); a second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsFd && libc().close(this.#fd) < 0) {
      throw new ErrnoError("Cannot close pcap output file", "close", lastErrno());
    }
  }
}
