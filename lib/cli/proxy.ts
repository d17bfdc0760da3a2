/**
 * The hidden `proxy [-- CREATE-ARGS...]` mode: the container's process, started by create (see startProxy in
 * lib/process/spawn.ts). main.ts runs it directly, without the CLI's modules.
 * @module
 */
import { parseProxyLine, readyPath } from "../proxy/line.ts";
import { isAlive, type ProcessIdentity } from "../process/proc.ts";
import { runProxy } from "../proxy/driver.ts";
import { WAKE_BYTE } from "../store/container_store.ts";
import { writeLineSync } from "../util/fs.ts";

/** The longest line accepted on standard input. */
const MAX_LINE_BYTES = 8192;

/**
 * Runs the proxy: reads who created it and its container directory (one line, see proxyLine) from standard
 * input, then drives the container until it ends. Returns the exit code; standard input closed without a
 * line means create gave up before it had a container (0, nothing done). Unexpected arguments or a
 * malformed line are one line on stderr and 1. `end` is runProxy's: given, it ends the process right after
 * the container's exit report.
 *
 * @example
 * ```ts
 * Deno.exit(await proxyMain(["--", "create", "fw1"], Deno.exit));
 * ```
 */
export async function proxyMain(args: string[], end?: (code: number) => never): Promise<number> {
  const fail = (what: string) => {
    writeQuietly(Deno.stderr, `proxy: ${what}; the proxy is started by create, not by hand`);
    return 1;
  };
  if (args.length > 0 && args[0] !== "--") {
    return fail(`unexpected arguments ${JSON.stringify(args.join(" "))}`);
  }
  // Nothing of the proxy depends on a working directory; "/" keeps it from pinning a mount.
  Deno.chdir("/");
  const line = readLine();
  if (line === "") return 0;
  const assignment = parseProxyLine(line);
  if (!assignment) {
    return fail(
      `expected "CREATOR-PID:START-TIME[:READY-FD] STATE-DIR" on standard input, got ${JSON.stringify(line)}`,
    );
  }
  try {
    const ready = readyPath(assignment);
    return await runProxy(
      assignment.dir,
      assignment.creator,
      (text) => writeQuietly(Deno.stdout, text),
      end,
      ready === undefined ? undefined : () => tellReady(ready, assignment.creator),
    );
  } catch (err) {
    // The container log gets one line, as from any command, not a stack trace.
    writeQuietly(Deno.stderr, `proxy: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/**
 * Tells the create waiting for this proxy (`creator`) that it is ready: one byte to the pipe at `path` (see
 * readyPath in lib/proxy/line.ts), opened for reading and writing so that the open never waits for a reader.
 * The path names a descriptor of the creator, which keeps it open for as long as it lives, so that the
 * number never names another of its files; the byte is written only once the creator is known to be alive
 * after the open (the same pid and start time: a pid reused by another process is never written to). The
 * proxy has just seen the creator alive (ownRecord in lib/proxy/driver.ts) before it opens the path. A byte
 * that cannot be written is no failure: create also looks for the ready report by itself, every millisecond.
 *
 * @example
 * ```ts
 * tellReady("/proc/4242/fd/7", { pid: 4242, startTime: "81234" });
 * ```
 */
export function tellReady(path: string, creator: ProcessIdentity): void {
  try {
    using pipe = Deno.openSync(path, { read: true, write: true });
    if (isAlive(creator)) pipe.writeSync(WAKE_BYTE);
  } catch {
    // create sees the report all the same
  }
}

/**
 * Writes one line of the container log (the proxy's standard output or error, which it inherits from
 * create). A line that cannot be written is dropped: the log's reader may be gone (an engine's log pipe
 * closed, journald restarted: EPIPE), and the proxy must still stop its processor, report crashes and exit
 * as its container does.
 */
function writeQuietly(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  try {
    writeLineSync(stream, text);
  } catch {
    // dropped, as said above; the next line is tried again
  }
}

/** Reads standard input up to the first newline or its end (blocking: the proxy has nothing else to do). */
function readLine(): string {
  const buffer = new Uint8Array(MAX_LINE_BYTES);
  let length = 0;
  while (length < buffer.length) {
    let read: number | null;
    try {
      read = Deno.stdin.readSync(buffer.subarray(length));
    } catch {
      break; // no usable standard input: no directory either
    }
    if (read === null || read === 0) break;
    length += read;
    if (buffer.subarray(0, length).includes(10)) break;
  }
  const text = new TextDecoder().decode(buffer.subarray(0, length));
  const newline = text.indexOf("\n");
  return newline < 0 ? "" : text.slice(0, newline);
}
