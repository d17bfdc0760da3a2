/**
 * The running proxy's way of waiting: its thread blocked in poll(2) on the container's wake-up FIFO, through
 * Deno's FFI, until a byte comes, a signal arrives or the poll interval ends.
 *
 * Every other wait of the proxy is an `Atomics.waitAsync` timeout (`pause`, lib/util/wait.ts): V8 hands it to
 * Deno's event loop as a delayed task, and each wake-up goes through it (an eventfd write, two or three
 * `epoll_wait` returns). A bare loop waking every 125 ms that way used 0.22-0.23% of a core on this project's
 * machine; the same loop blocked in poll(2) 0.15% (two of each side by side, 40 s), and real proxies, the
 * rest of whose wake-up costs the same either way, about 8% less (see the README). While it is
 * blocked, Deno's event loop does not turn, so the proxy's signal listeners would not run: a signal sent to
 * the proxy interrupts the poll (the kernel gives a process's signal to its main thread first), and the
 * caller then lets the loop turn (see lib/proxy/driver.ts).
 *
 * The same libc, opened once, also reads the attribute the running proxy polls ({@link descriptorIo}).
 * @module
 */
import type { DescriptorIo } from "../remoteproc/sysfs.ts";
import { cString, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR, POLLIN } from "./libc.ts";

/**
 * Declared with plain results, unlike lib/process/spawn.ts's calls (see INT in lib/process/libc.ts): opening
 * libc then compiles a fast-call trampoline for each, about 1.6 ms of CPU more (3.9-4.4 ms against 2.7-3.0,
 * medians of 15 opens), paid once by a proxy whose processor runs, a second after its boot report
 * (LIBC_AFTER_MS in lib/proxy/driver.ts); each call then returns its number without a result buffer to
 * allocate and read. The running proxy makes three such calls at every poll, all day: four proxies of each
 * kind side by side used 9-22% less idle CPU so (README, Benchmark).
 */
const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  // ssize_t results read as their low half, as int() in lib/process/libc.ts reads spawn.ts's (these reads
  // return at most 4096 bytes or -1), but declared i32: an i32 result comes back as a number, a 64-bit one
  // as a new BigInt at every call. With that and the length and offset BigInts made once (below), four
  // proxies used 6% less idle CPU than four beside them (16 one-minute windows, lower in 15; README).
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "i32" },
  // glibc 2.28 and later; without it the attribute is read through Deno.
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32", optional: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** libc, opened once for the life of the process; null where it cannot be (no libc.so.6, no FFI access). */
let opened: Libc | null | undefined;

function libc(): Libc | undefined {
  if (opened === undefined) {
    try {
      opened = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    } catch {
      opened = null;
    }
  }
  return opened ?? undefined;
}

/** What {@link FifoWaiter.wait} returns when a signal ended the wait. */
export const INTERRUPTED: unique symbol = Symbol("interrupted");

/** What {@link FifoWaiter.wait} returns when no byte came: one array for every such wait, not one each. */
const NOTHING = new Uint8Array(0);

/** A FIFO held open (read and write, so it never reads as closed) for a thread to block on. */
export interface FifoWaiter extends Disposable {
  /**
   * Blocks this thread until bytes are in the FIFO, a signal arrives or `ms` pass: returns the bytes read
   * (none when the time ran out), or {@link INTERRUPTED}.
   */
  wait(ms: number): Uint8Array | typeof INTERRUPTED;
}

/**
 * Opens the FIFO at `path` for {@link FifoWaiter.wait}, or returns undefined where it cannot: no libc.so.6,
 * no FFI permission, or the FIFO cannot be opened.
 *
 * @example
 * ```ts
 * using waiter = openFifoWaiter("/run/remoteproc-runtime/fw1/wake");
 * const got = waiter?.wait(125);
 * ```
 */
export function openFifoWaiter(path: string): FifoWaiter | undefined {
  const c = libc();
  if (!c) return undefined;
  const fd = c.open(cString(path), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return undefined;
  // struct pollfd { int fd; short events; short revents; }
  const pollfd = new Uint8Array(8);
  const fields = new DataView(pollfd.buffer);
  fields.setInt32(0, fd, true);
  fields.setInt16(4, POLLIN, true);
  const buffer = new Uint8Array(64);
  const size = BigInt(buffer.length);
  let open = true;
  return {
    wait(ms) {
      fields.setInt16(6, 0, true);
      const ready = c.poll(pollfd, 1n, Math.max(0, Math.ceil(ms)));
      if (ready < 0) return INTERRUPTED;
      // Nonblocking: a read that finds nothing (another reader was faster) returns -1 at once.
      const count = ready === 0 ? 0 : c.read(fd, buffer, size);
      return count > 0 ? buffer.slice(0, count) : NOTHING;
    },
    [Symbol.dispose]() {
      if (!open) return;
      open = false;
      c.close(fd);
    },
  };
}

/** statx(2): its flag for a descriptor's own file; the mask bit and offset of `stx_nlink` (both targets). */
const AT_EMPTY_PATH = 0x1000;
const STATX_NLINK = 0x4;
const STX_NLINK_OFFSET = 16;

/**
 * Reading by descriptor through libc, for the attribute the running proxy polls (see attributeReader in
 * lib/remoteproc/sysfs.ts), or undefined where libc or its statx cannot be had.
 *
 * @example
 * ```ts
 * using state = attributeReader("/sys/class/remoteproc/remoteproc0", "state", descriptorIo());
 * ```
 */
export function descriptorIo(): DescriptorIo | undefined {
  const c = libc();
  const statx = c?.statx;
  if (!c || !statx) return undefined;
  const emptyPath = new Uint8Array(1);
  const info = new Uint8Array(256);
  const fields = new DataView(info.buffer);
  let size = -1;
  let bigSize = 0n;
  return {
    open: (path) => c.open(cString(path), O_RDONLY | O_CLOEXEC),
    links(fd) {
      if (statx(fd, emptyPath, AT_EMPTY_PATH, STATX_NLINK, info) !== 0) return undefined;
      return fields.getUint32(STX_NLINK_OFFSET, true);
    },
    pread(fd, buffer, offset) {
      // The attribute reader passes the same buffer, at offset 0, at every poll: no new BigInt then.
      if (buffer.length !== size) {
        size = buffer.length;
        bigSize = BigInt(size);
      }
      return c.pread(fd, buffer, bigSize, offset === 0 ? 0n : BigInt(offset));
    },
    close: (fd) => void c.close(fd),
  };
}
