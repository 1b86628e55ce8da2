/**
 * errno as errors: read through `__errno_location` right after a failing call, on the same
 * thread, and named as the kernel names it.
 *
 * @module
 */

import { libc } from "./libc.ts";

/** Linux errno values (x86-64 and arm64 agree on these) and their names. */
const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "EPERM"],
  [2, "ENOENT"],
  [3, "ESRCH"],
  [4, "EINTR"],
  [5, "EIO"],
  [6, "ENXIO"],
  [9, "EBADF"],
  [11, "EAGAIN"],
  [12, "ENOMEM"],
  [13, "EACCES"],
  [14, "EFAULT"],
  [16, "EBUSY"],
  [17, "EEXIST"],
  [19, "ENODEV"],
  [22, "EINVAL"],
  [23, "ENFILE"],
  [24, "EMFILE"],
  [28, "ENOSPC"],
  [32, "EPIPE"],
  [34, "ERANGE"],
  [38, "ENOSYS"],
  [50, "ENONET"],
  [61, "ENODATA"],
  [90, "EMSGSIZE"],
  [92, "ENOPROTOOPT"],
  [93, "EPROTONOSUPPORT"],
  [94, "ESOCKTNOSUPPORT"],
  [95, "EOPNOTSUPP"],
  [97, "EAFNOSUPPORT"],
  [98, "EADDRINUSE"],
  [99, "EADDRNOTAVAIL"],
  [100, "ENETDOWN"],
  [101, "ENETUNREACH"],
  [105, "ENOBUFS"],
  [107, "ENOTCONN"],
  [110, "ETIMEDOUT"],
  [113, "EHOSTUNREACH"],
]);

/** Operation not permitted. */
export const EPERM = 1;
/** No such file or directory; from SO_DETACH_FILTER: the socket has no filter. */
export const ENOENT = 2;
/** Interrupted system call. */
export const EINTR = 4;
/** Resource temporarily unavailable: nothing to read on a non-blocking socket. */
export const EAGAIN = 11;
/** Permission denied. */
export const EACCES = 13;
/** No such device. */
export const ENODEV = 19;
/** Invalid argument. */
export const EINVAL = 22;
/** Network is down. */
export const ENETDOWN = 100;
/** Message too long: a packet larger than the interface's MTU. */
export const EMSGSIZE = 90;

/**
 * The errno name for a value, or `E<number>` for values not in the table.
 *
 * @example Name EPERM
 * ```ts
 * import { errnoName } from "./errno.ts";
 * import assert from "node:assert/strict";
 * assert.equal(errnoName(1), "EPERM");
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** A system call that failed, with the errno it left. */
export class ErrnoError extends Error {
  override name = "ErrnoError";
  /** The errno value. */
  readonly errno: number;
  /** The errno name, e.g. `EPERM`. */
  readonly code: string;
  /** The system call that failed, e.g. `socket`. */
  readonly syscall: string;

  /**
   * @param action What was being done, as the start of the message: "Cannot open packet socket".
   * @param syscall The failing system call.
   * @param errno Its errno.
   */
  constructor(action: string, syscall: string, errno: number) {
    const code = errnoName(errno);
    super(`${action}: ${code} (${describeErrno(errno)})`);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

/**
 * The calling thread's errno. Read it at once after the failing call, before any other FFI call.
 *
 * @example Read errno after a failing call
 * ```ts ignore
 * import { lastErrno } from "./errno.ts";
 * console.log(lastErrno());
 * ```
 */
export function lastErrno(): number {
  const location = libc().__errno_location();
  return location === null ? 0 : new Deno.UnsafePointerView(location).getInt32();
}

/**
 * strerror's text for an errno value.
 *
 * @example Describe EPERM
 * ```ts ignore
 * import { describeErrno } from "./errno.ts";
 * console.log(describeErrno(1)); // "Operation not permitted"
 * ```
 */
export function describeErrno(errno: number): string {
  const text = libc().strerror(errno);
  return text === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(text);
}

/**
 * Returns `result` when it is not negative; otherwise throws an {@link ErrnoError} with errno.
 *
 * @example Check a call
 * ```ts ignore
 * import { check } from "./errno.ts";
 * import { libc } from "./libc.ts";
 * const fd = check(libc().epoll_create1(0), "Cannot create epoll instance", "epoll_create1");
 * ```
 */
export function check(result: number, action: string, syscall: string): number {
  if (result < 0) throw new ErrnoError(action, syscall, lastErrno());
  return result;
}

/**
 * Explains a socket() failure: EPERM and EACCES become `SetupError` with what fixes a missing
 * privilege; anything else an {@linkcode ErrnoError}.
 *
 * @example A capture socket refused for want of privileges
 * ```ts
 * import { EPERM, socketOpenError } from "./errno.ts";
 * import assert from "node:assert/strict";
 * const error = socketOpenError(EPERM, "packet socket", "capturing", Error);
 * assert.match(error.message, /^Cannot open packet socket: EPERM .*capturing needs root/);
 * ```
 */
export function socketOpenError(
  errno: number,
  socket: string,
  activity: string,
  SetupError: new (message: string, options?: ErrorOptions) => Error,
): Error {
  const error = new ErrnoError(`Cannot open ${socket}`, "socket", errno);
  if (errno === EPERM || errno === EACCES) {
    return new SetupError(
      `${error.message}: ${activity} needs root or CAP_NET_RAW; run it with sudo, or give a ` +
        "dedicated copy of deno the capability (setcap cap_net_raw+ep ./deno)",
      { cause: error },
    );
  }
  return error;
}
