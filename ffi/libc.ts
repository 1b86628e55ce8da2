/**
 * The libc symbols snout calls, in one typed table, each bound on its first use and cached.
 *
 * Sizes and counts that fit are declared as i32/u32 rather than usize/isize: a JS number passed
 * into a 64-bit parameter, or a 64-bit result, leaves V8's fast call path. `ssize_t` results of
 * calls that move one packet fit in 32 bits.
 *
 * @module
 */

/** The C library snout binds. */
export const LIBC_PATH = "libc.so.6";

/** Every libc symbol snout uses, with its C prototype. */
export const LIBC_SYMBOLS = {
  /** int socket(int domain, int type, int protocol) */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int bind(int fd, const struct sockaddr *addr, socklen_t len) */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int setsockopt(int fd, int level, int name, const void *value, socklen_t len) */
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  /** int getsockname(int fd, struct sockaddr *addr, socklen_t *len) */
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int getsockopt(int fd, int level, int name, void *value, socklen_t *len) */
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  /** ssize_t recv(int fd, void *buf, size_t len, int flags) */
  recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  /** ssize_t recvmsg(int fd, struct msghdr *msg, int flags) */
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen) */
  sendto: { parameters: ["i32", "buffer", "u32", "i32", "buffer", "u32"], result: "i32" },
  /** int creat(const char *path, mode_t mode) */
  creat: { parameters: ["buffer", "u32"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count): counts below 2 GiB */
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** ssize_t writev(int fd, const struct iovec *iov, int iovcnt): totals below 2 GiB */
  writev: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
  /** int epoll_create1(int flags) */
  epoll_create1: { parameters: ["i32"], result: "i32" },
  /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) */
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** int eventfd(unsigned int initval, int flags) */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout): polls */
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  /** epoll_wait on another thread, for waits that block: only its result is read */
  epoll_wait_blocking: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** unsigned int if_nametoindex(const char *name) */
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  /** struct if_nameindex *if_nameindex(void) */
  if_nameindex: { parameters: [], result: "pointer" },
  /** void if_freenameindex(struct if_nameindex *ptr) */
  if_freenameindex: { parameters: ["pointer"], result: "void" },
  /** int ioctl(int fd, unsigned long request, void *arg), here with a struct ifreq */
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** int *__errno_location(void) */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum) */
  strerror: { parameters: ["i32"], result: "pointer" },
  /** uid_t geteuid(void) */
  geteuid: { parameters: [], result: "u32" },
  /** int setuid(uid_t uid) */
  setuid: { parameters: ["u32"], result: "i32" },
  /** int setgid(gid_t gid) */
  setgid: { parameters: ["u32"], result: "i32" },
  /** int setgroups(size_t size, const gid_t *list) */
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  /** struct passwd *getpwnam(const char *name) */
  getpwnam: { parameters: ["buffer"], result: "pointer" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) */
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  /** int getpagesize(void) */
  getpagesize: { parameters: [], result: "i32" },
  /** int munmap(void *addr, size_t length) */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library's symbols. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** Thrown when libc cannot be opened: FFI not permitted, or the library missing. */
export class LibcUnavailableError extends Error {
  override name = "LibcUnavailableError";
}

let cached: Libc | undefined;

/** Binds one symbol of `LIBC_SYMBOLS`. */
function bind<K extends keyof Libc>(name: K): Libc[K] {
  const definition = { [name]: LIBC_SYMBOLS[name] } as Pick<typeof LIBC_SYMBOLS, K>;
  return Deno.dlopen(LIBC_PATH, definition).symbols[name] as unknown as Libc[K];
}

/**
 * Opens libc on first call and returns its symbols; later calls return the same table. Each
 * symbol is bound on its first use: Deno compiles a call stub for every symbol it binds (about
 * 0.25 ms each), and a capture uses fewer than half of them.
 *
 * @throws {LibcUnavailableError} When `--allow-ffi` is missing or libc cannot be loaded, with a
 *   sentence that says what to do.
 *
 * @example Ask the kernel for this process's effective user id
 * ```ts ignore
 * import { libc } from "./libc.ts";
 * console.log(libc().geteuid());
 * ```
 */
export function libc(): Libc {
  if (cached !== undefined) return cached;
  let errnoLocation: Libc["__errno_location"];
  try {
    // Every caller reads errno after a failed call: binding it first tells whether libc opens.
    errnoLocation = bind("__errno_location");
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new LibcUnavailableError(
        "Live capture needs FFI access to libc: run with --allow-ffi " +
          "(sudo deno run --allow-ffi --allow-read --allow-write --allow-env cli.ts ...)",
        { cause: error },
      );
    }
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new LibcUnavailableError(`Cannot load ${LIBC_PATH}: ${reason}`, { cause: error });
  }
  const table = {} as Record<keyof Libc, unknown>;
  for (const name of Object.keys(LIBC_SYMBOLS) as (keyof Libc)[]) {
    Object.defineProperty(table, name, {
      configurable: true,
      enumerable: true,
      get() {
        const symbol = name === "__errno_location" ? errnoLocation : bind(name);
        Object.defineProperty(table, name, { value: symbol, enumerable: true });
        return symbol;
      },
    });
  }
  cached = table as Libc;
  return cached;
}
