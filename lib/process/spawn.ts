/**
 * Starting the proxy: a detached child (its own session) that reads one line on its standard input, its
 * creator and its container directory (see lib/proxy/line.ts). Two ways, one behaviour:
 *
 * - posix_spawn(3) through Deno's FFI: 5-7 ms in a fresh process (3.5-4 ms of it opening libc and binding
 *   the calls);
 * - `Deno.Command` where FFI is not available (no libc.so.6, or no FFI permission): about 15 ms, since the
 *   first use of `Deno.Command` loads Deno's process and stream code (6-7 ms) and a detached child is forked
 *   (the whole process copied) instead of spawned (6-7 ms), plus a /bin/sh that closes inherited descriptors.
 *
 * `create` pays this on its critical path (the proxy's start-up is the longest step of a create), which is
 * why the faster way exists. Both are unit-tested (tests/unit_spawn_test.ts). The libc of the first way also
 * makes the container's wake-up FIFO ({@link SpawnedChild.makeFifo}): Deno has no call for it.
 * @module
 */
import { cString, INT, int, O_CLOEXEC, POLLIN, SSIZE } from "./libc.ts";
import { sleepSync } from "../util/wait.ts";
import { processStartTime } from "./proc.ts";
import type { SelfCommand } from "./self_exec.ts";

/** A started child that waits for one line on its standard input. */
export interface SpawnedChild {
  readonly pid: number;
  /** How it was started: "posix_spawn" (FFI) or "Deno.Command". */
  readonly via: "posix_spawn" | "Deno.Command";
  /** Writes `line` and a newline to the child's standard input and closes it; a child already gone is ignored. */
  send(line: string): Promise<void>;
  /** The child's exit code (128 + signal when killed by one) once it has ended, collected; else undefined. */
  exitCode(): Promise<number | undefined>;
  /** Kills the child (SIGKILL) if it still runs and collects its exit status; nothing once released. */
  kill(): Promise<void>;
  /** Lets the child outlive this process: nothing is waited for at exit, and {@link kill} does nothing. */
  release(): void;
  /**
   * This process's descriptor of a pipe the child can tell its readiness on ({@link waitReady}): the child
   * opens it as /proc/PID/fd/N (lib/proxy/line.ts, readyPath) and writes a byte. It stays open until this
   * process ends or has killed the child (not when it releases the child), so that the number names this pipe
   * for as long as the child may open it. Undefined where there is none (started with `Deno.Command`).
   */
  readonly readyFd?: number;
  /**
   * Blocks this thread up to `ms` (whole milliseconds) or until the child has written to its readiness pipe:
   * true when it has, the first time (later calls only wait), else false. Without a pipe, a pause of `ms`.
   */
  waitReady(ms: number): boolean;
  /**
   * Creates a FIFO (named pipe) at `path`, mode 0600 less the umask, with libc's mkfifo(3) where the child
   * was started through libc (binding the call adds about 0.13 ms to a create, as each bound call does;
   * opening libc again would cost 3.5-4 ms). Returns false when it cannot: started with `Deno.Command`, or
   * mkfifo failed (the path exists, say).
   */
  makeFifo(path: string): boolean;
}

/** Options of {@link spawnDetached}. */
export interface SpawnOptions {
  /** Use posix_spawn through FFI when it is available (default); false forces `Deno.Command`. */
  ffi?: boolean;
}

/**
 * Starts `command` (an absolute path) with `args` in a new session, standard input a pipe (see
 * {@link SpawnedChild.send}), standard output and error this process's, and no descriptor above 2 inherited:
 * engines hand the runtime descriptors that are not close-on-exec (containerd's shim passes its listening
 * socket as fd 3), and the proxy must not keep them. The child's working directory is this process's.
 *
 * @example
 * ```ts
 * const child = spawnDetached("/bin/sh", ["-c", 'read -r line; echo "$line"']);
 * await child.send("hello");
 * child.release();
 * ```
 * @throws Error when the program cannot be started (missing, not executable).
 */
export function spawnDetached(command: string, args: string[], options: SpawnOptions = {}): SpawnedChild {
  const libc = options.ffi === false ? undefined : openLibc();
  return libc ? spawnWithLibc(libc, command, args) : spawnWithCommand(command, args);
}

/**
 * Starts the proxy of a container this process is creating: `SELF proxy -- ARGS`, where ARGS, this process's
 * own command line, only tells `ps` readers which create started it. The proxy learns everything else from
 * its standard input, one line sent once the container's record is written (lib/proxy/line.ts), so it can be
 * started before any of it is known: before the command's modules are even loaded (see main.ts).
 *
 * @example
 * ```ts
 * const proxy = startProxy(selfCommand(currentSelfExecInfo()), Deno.args);
 * await proxy.send(proxyLine({ pid: Deno.pid, startTime: "81234" }, "/run/remoteproc-runtime/fw1"));
 * ```
 * @throws Error when the program cannot be started.
 */
export function startProxy(self: SelfCommand, args: string[], options: SpawnOptions = {}): SpawnedChild {
  // Both ways of spawning pass this process's environment as it is at the spawn.
  for (const [name, value] of Object.entries(self.env)) Deno.env.set(name, value);
  return spawnDetached(self.command, [...self.args, "proxy", "--", ...args], options);
}

// ---- posix_spawn through FFI ----

/** The calls `create` makes, their results declared as {@link INT} and {@link SSIZE} explain. */
const LIBC_SYMBOLS = {
  posix_spawn: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "pointer"], result: INT },
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: INT },
  // glibc 2.34 and later; without it the Deno.Command way is taken.
  posix_spawn_file_actions_addclosefrom_np: { parameters: ["buffer", "i32"], result: INT, optional: true },
  pipe2: { parameters: ["buffer", "i32"], result: INT },
  poll: { parameters: ["buffer", "u64", "i32"], result: INT },
  write: { parameters: ["i32", "buffer", "usize"], result: SSIZE },
  close: { parameters: ["i32"], result: INT },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: INT },
  mkfifo: { parameters: ["buffer", "u32"], result: INT },
  // A static: the symbol is the address of glibc's `environ` variable, whose value is the array to pass.
  environ: { type: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** Linux values, the same on x86_64 and aarch64. */
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const SIGPIPE = 13;
const WNOHANG = 1;
/** Bigger than glibc's posix_spawnattr_t (336 bytes) and posix_spawn_file_actions_t (80 bytes). */
const SPAWN_STRUCT_BYTES = 512;

/** libc's calls, or undefined when FFI is not available here (no glibc 2.34+, or no permission). */
function openLibc(): Libc | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const symbols = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    // The library stays open for the life of the process: the child is waited for through it.
    return symbols.posix_spawn_file_actions_addclosefrom_np ? symbols : undefined;
  } catch {
    return undefined;
  }
}

function spawnWithLibc(libc: Libc, command: string, args: string[]): SpawnedChild {
  const encoder = new TextEncoder();
  const strings = [command, ...args].map(cString);
  const argv = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => argv[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s))));

  const fds = new Int32Array(4);
  if (int(libc.pipe2(fds, O_CLOEXEC)) !== 0) throw new Error(`cannot start ${command}: pipe2 failed`);
  const [readEnd, writeEnd] = fds;
  // The readiness pipe: both ends stay here (close-on-exec, and above 2), the child opens the write end
  // through /proc; while this process holds it, the read end never reads as closed. Without it, the caller
  // polls for readiness as it would without FFI.
  const ready = int(libc.pipe2(fds.subarray(2), O_CLOEXEC)) === 0 ? [fds[2], fds[3]] as const : undefined;
  // Zeroed memory is what posix_spawnattr_init and posix_spawn_file_actions_init make (glibc memsets both).
  const attr = new Uint8Array(SPAWN_STRUCT_BYTES);
  // posix_spawnattr_t (glibc and musl alike on 64-bit Linux) holds its flags at offset 0 (a short in glibc, an
  // int in musl; little-endian here), then the process group (4), the signals to reset to their default
  // action (8, a 128-byte sigset_t) and the signal mask (136). As Deno.Command (Rust's std) does, the child
  // starts with no signal blocked and SIGPIPE at its default action (Deno's runtime ignores it).
  const view = new DataView(attr.buffer);
  view.setUint16(0, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF, true);
  view.setBigUint64(8, 1n << BigInt(SIGPIPE - 1), true);
  const actions = new Uint8Array(SPAWN_STRUCT_BYTES);
  const pid = new Int32Array(1);
  let error = int(libc.posix_spawn_file_actions_adddup2(actions, readEnd, 0));
  if (error === 0) error = int(libc.posix_spawn_file_actions_addclosefrom_np!(actions, 3));
  // The child gets this process's environment (as Deno.Command gives it): read at each spawn, after any change.
  const envp = libc.environ ? new Deno.UnsafePointerView(libc.environ).getPointer(0) : null;
  if (error === 0) error = int(libc.posix_spawn(pid, strings[0], actions, attr, argv, envp));
  // The actions list glibc allocated is left for the process's exit to free: create is short-lived.
  libc.close(readEnd);
  let readyOpen = ready !== undefined;
  const closeReady = () => {
    if (!readyOpen) return;
    readyOpen = false;
    for (const fd of ready!) libc.close(fd);
  };
  if (error !== 0) {
    libc.close(writeEnd);
    closeReady();
    throw new Error(`cannot start ${command}: posix_spawn failed with errno ${error}`);
  }
  const child = pid[0];
  let status: number | undefined;
  let released = false;
  let pipeOpen = true;
  const closePipe = () => {
    if (pipeOpen) libc.close(writeEnd);
    pipeOpen = false;
  };
  // struct pollfd { int fd; short events; short revents; } on the readiness pipe's read end.
  const pollfd = new Int32Array([ready?.[0] ?? -1, POLLIN]);
  let signalled = false;
  const reap = (options: number) => {
    if (status !== undefined) return;
    const raw = new Int32Array(1);
    if (int(libc.waitpid(child, raw, options)) !== child) return;
    const signal = raw[0] & 0x7f;
    status = signal === 0 ? (raw[0] >> 8) & 0xff : 128 + signal;
  };
  return {
    pid: child,
    via: "posix_spawn",
    send(line) {
      const bytes = encoder.encode(line + "\n");
      // An empty pipe holds 64 KiB, far more than the line; a failed write (the child is gone) leaves the
      // child's exit for the caller to see.
      if (pipeOpen) libc.write(writeEnd, bytes, BigInt(bytes.length));
      closePipe();
      return Promise.resolve();
    },
    readyFd: ready?.[1],
    waitReady(ms) {
      if (!readyOpen || signalled) {
        sleepSync(ms);
        return false;
      }
      // A byte stays unread: a later poll would return at once (hence `signalled`).
      signalled = int(libc.poll(pollfd, 1n, Math.ceil(ms))) > 0;
      return signalled;
    },
    exitCode() {
      reap(WNOHANG);
      return Promise.resolve(status);
    },
    kill() {
      if (released) return Promise.resolve();
      // Deno.kill, not libc's kill: each call bound adds about 0.13 ms to every create, and this is the
      // failure path.
      if (status === undefined) {
        try {
          Deno.kill(child, "SIGKILL");
        } catch {
          // already ended (a zombie until reaped below)
        }
      }
      reap(0);
      // Closed after the signal: a child that saw its input end first would exit on its own, with its own code.
      closePipe();
      // The child is gone: it can no longer open the readiness pipe.
      closeReady();
      return Promise.resolve();
    },
    release() {
      released = true;
      closePipe();
      // The readiness pipe stays open: the child may still be about to open it (see readyFd).
    },
    makeFifo: (path) => int(libc.mkfifo(cString(path), 0o600)) === 0,
  };
}

// ---- Deno.Command ----

/** The shell that closes inherited descriptors before the child runs; absent on the rare image without one. */
const SHELL = "/bin/sh";

function spawnWithCommand(command: string, args: string[]): SpawnedChild {
  const viaShell = isFile(SHELL);
  // Deno cannot close a raw inherited descriptor itself; its own are close-on-exec already.
  const child = new Deno.Command(viaShell ? SHELL : command, {
    args: viaShell
      ? ["-c", 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec "$0" "$@"', command, ...args]
      : args,
    stdin: "piped",
    stdout: "inherit",
    stderr: "inherit",
    detached: true,
  }).spawn();
  let status: number | undefined;
  child.status.then((s) => status = s.code);
  let released = false;
  let pipeOpen = true;
  const closePipe = async (line?: string) => {
    if (!pipeOpen) return;
    pipeOpen = false;
    const writer = child.stdin.getWriter();
    try {
      if (line !== undefined) await writer.write(new TextEncoder().encode(line + "\n"));
      await writer.close();
    } catch {
      // the child is gone: its exit is what the caller sees next
    }
  };
  return {
    pid: child.pid,
    via: "Deno.Command",
    send: (line) => closePipe(line),
    waitReady(ms) {
      sleepSync(ms);
      return false;
    },
    async exitCode() {
      // An exited child is a zombie until its status is collected: /proc no longer gives it a start time.
      if (status === undefined && processStartTime(child.pid) === undefined) {
        status = (await child.status).code;
      }
      return status;
    },
    async kill() {
      if (released) return;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      status = (await child.status).code;
      await closePipe();
    },
    release() {
      released = true;
      closePipe();
      child.unref();
    },
    makeFifo: () => false,
  };
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
