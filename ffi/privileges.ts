/**
 * Dropping root after the capture socket is open, so that decoding untrusted packets never runs
 * with privileges: setgroups, setgid, setuid, in that order, each checked.
 *
 * @module
 */

import { PASSWD } from "./constants.ts";
import { ErrnoError, lastErrno } from "./errno.ts";
import { libc } from "./libc.ts";

/** A user to run as. */
export interface UserIds {
  uid: number;
  gid: number;
}

const encoder = new TextEncoder();
const MAX_ID = 0xfffffffe;

/**
 * The user and primary group ids of a user name, or of a numeric uid (whose gid is then the
 * same number unless the password database knows it).
 *
 * @throws {Error} For a user that does not exist.
 *
 * @example Look up nobody (needs --allow-ffi)
 * ```ts ignore
 * import { resolveUser } from "./privileges.ts";
 * console.log(resolveUser("nobody")); // { uid: 65534, gid: 65534 }
 * ```
 */
export function resolveUser(name: string): UserIds {
  const entry = libc().getpwnam(encoder.encode(name + "\0"));
  if (entry !== null) {
    const view = new Deno.UnsafePointerView(entry);
    return { uid: view.getUint32(PASSWD.uid), gid: view.getUint32(PASSWD.gid) };
  }
  if (/^[0-9]+$/.test(name) && Number(name) <= MAX_ID) {
    return { uid: Number(name), gid: Number(name) };
  }
  throw new Error(`Cannot drop privileges: no such user "${name}"`);
}

/**
 * Becomes `user` for good: supplementary groups set to its primary group, then the group, then
 * the user; each step checked, and the result verified.
 *
 * @throws {ErrnoError} When a step fails.
 *
 * @example Drop to nobody (root, --allow-ffi)
 * ```ts ignore
 * import { dropPrivileges, resolveUser } from "./privileges.ts";
 * dropPrivileges(resolveUser("nobody"));
 * ```
 */
export function dropPrivileges(user: UserIds): void {
  const c = libc();
  const groups = new Uint32Array([user.gid]);
  if (c.setgroups(1n, new Uint8Array(groups.buffer)) < 0) {
    throw new ErrnoError("Cannot drop privileges: setgroups failed", "setgroups", lastErrno());
  }
  if (c.setgid(user.gid) < 0) {
    throw new ErrnoError(`Cannot drop privileges to group ${user.gid}`, "setgid", lastErrno());
  }
  if (c.setuid(user.uid) < 0) {
    throw new ErrnoError(`Cannot drop privileges to user ${user.uid}`, "setuid", lastErrno());
  }
  if (c.geteuid() !== user.uid) {
    throw new Error(`Cannot drop privileges: still running as user ${c.geteuid()}`);
  }
}

/**
 * This process's effective user id.
 *
 * @example Am I root? (needs --allow-ffi)
 * ```ts ignore
 * import { effectiveUserId } from "./privileges.ts";
 * console.log(effectiveUserId() === 0);
 * ```
 */
export function effectiveUserId(): number {
  return libc().geteuid();
}
