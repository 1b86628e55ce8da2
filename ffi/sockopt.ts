/**
 * setsockopt with an int value, the shape most socket options take.
 *
 * @module
 */

import { ErrnoError, lastErrno } from "./errno.ts";
import { libc } from "./libc.ts";

/**
 * Sets the int option `name` at `level` on socket `fd`.
 *
 * @throws {ErrnoError} "Cannot set LABEL: EINVAL (...)" when the kernel refuses.
 *
 * @example Ask for nanosecond timestamps (needs --allow-ffi and a socket)
 * ```ts ignore
 * import { setSocketInt } from "./sockopt.ts";
 * setSocketInt(fd, 1, 35, 1, "SO_TIMESTAMPNS");
 * ```
 */
export function setSocketInt(
  fd: number,
  level: number,
  name: number,
  value: number,
  label: string,
): void {
  const buffer = new Uint8Array(4);
  new DataView(buffer.buffer).setInt32(0, value, true);
  if (libc().setsockopt(fd, level, name, buffer, buffer.length) < 0) {
    throw new ErrnoError(`Cannot set ${label}`, "setsockopt", lastErrno());
  }
}
