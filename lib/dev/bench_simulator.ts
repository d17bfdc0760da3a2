/**
 * The benchmark simulator's loop: a thread blocked in poll(2), through Deno's FFI, on an inotify descriptor
 * that watches the processors' directories and on the commands that come on stdin. A write to an attribute
 * file wakes that thread, which answers it at once, as a kernel answers inside the write.
 *
 * The simulator's own loop (lib/simulator/simulator.ts) learns of a write through `Deno.watchFs`: an inotify
 * thread of Deno's, a channel, then the event loop. The benchmark's row "simulator: state written ->
 * answered" read 0.38-0.69 ms that way (medians, six runs of an earlier session; 0.26-0.45 in four runs of
 * this one), time which every `start` and `kill` of the benchmark held and a board's would not; 0.23-0.24
 * ms this way (fifteen runs). A worker thread blocked in poll(2) that handed each write to the main thread
 * was no faster (README): the thread that wakes must be the one that answers. Tests and the demo keep the
 * simulator's own loop: it needs no FFI, and its answers' time does not matter there.
 * @module
 */
import { cString, O_CLOEXEC, O_NONBLOCK, POLLIN } from "../process/libc.ts";
import { ATTRIBUTES, type Simulator } from "../simulator/simulator.ts";

const SYMBOLS = {
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  // ssize_t, read as its low half: these reads return at most the buffer's 64 KiB, or -1.
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/**
 * inotify's event for a writer that closed the file (Linux values, the same on x86_64 and aarch64): its write
 * is whole (a truncation alone, the first half of a write, is not).
 */
const IN_CLOSE_WRITE = 0x8;
const IN_Q_OVERFLOW = 0x4000;
const STDIN = 0;
/** struct inotify_event: wd, mask, cookie, len, then len bytes of name. */
const EVENT_HEADER = 16;

/** The files whose writes the simulator answers. */
const ATTRIBUTE_FILES = new Set<string>(ATTRIBUTES);

/**
 * Answers the writes to the files of `sim`'s processors in `dirs` until stdin ends, handing each line of
 * stdin to `command` (awaited before the next wait). `sim` must run no loop of its own (`loop: false`).
 *
 * @example
 * ```ts
 * await serveBlocking(sim, [sim.processorDir("dsp0")], (line) => console.log(line));
 * ```
 * @throws {Error} when libc or inotify cannot be had.
 */
export async function serveBlocking(
  sim: Simulator,
  dirs: string[],
  command: (line: string) => void | Promise<void>,
): Promise<void> {
  const c = Deno.dlopen("libc.so.6", SYMBOLS);
  const libc = c.symbols;
  const fd = libc.inotify_init1(O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw new Error("simulator: inotify_init1 failed");
  try {
    const byWatch = new Map<number, string>();
    for (const dir of dirs) {
      const wd = libc.inotify_add_watch(fd, cString(dir), IN_CLOSE_WRITE);
      if (wd < 0) throw new Error(`simulator: cannot watch ${dir}`);
      byWatch.set(wd, dir);
    }
    // struct pollfd { int fd; short events; short revents; } for inotify, then stdin.
    const pollfds = new Uint8Array(16);
    const fields = new DataView(pollfds.buffer);
    for (const [index, each] of [fd, STDIN].entries()) {
      fields.setInt32(index * 8, each, true);
      fields.setInt16(index * 8 + 4, POLLIN, true);
    }
    const buffer = new Uint8Array(64 * 1024);
    const view = new DataView(buffer.buffer);
    const decoder = new TextDecoder();
    let input = "";
    let waitMs = sim.answer([]);
    while (true) {
      fields.setInt16(6, 0, true);
      fields.setInt16(14, 0, true);
      const ready = libc.poll(pollfds, 2n, Math.ceil(waitMs));
      const written = new Set<string>();
      if (ready > 0 && fields.getInt16(6, true) !== 0) {
        const count = libc.read(fd, buffer, BigInt(buffer.length));
        for (let at = 0; at + EVENT_HEADER <= count;) {
          const mask = view.getUint32(at + 4, true);
          const length = view.getUint32(at + 12, true);
          const name = decoder.decode(buffer.subarray(at + EVENT_HEADER, at + EVENT_HEADER + length))
            .replace(/\0+$/, "");
          const dir = byWatch.get(view.getInt32(at, true));
          if (mask & IN_Q_OVERFLOW) {
            // Events were lost: every processor may have been written to.
            for (const each of dirs) written.add(each);
          } else if (dir !== undefined && ATTRIBUTE_FILES.has(name)) {
            written.add(dir);
          }
          at += EVENT_HEADER + length;
        }
      }
      waitMs = sim.answer(written);
      if (ready > 0 && fields.getInt16(14, true) !== 0) {
        const count = libc.read(STDIN, buffer, BigInt(buffer.length));
        if (count <= 0) return;
        input += decoder.decode(buffer.subarray(0, count));
        let newline;
        while ((newline = input.indexOf("\n")) >= 0) {
          const line = input.slice(0, newline);
          input = input.slice(newline + 1);
          await command(line);
        }
        waitMs = sim.answer([]);
      }
    }
  } finally {
    libc.close(fd);
    c.close();
  }
}
