/**
 * The hidden `proxy CREATOR-PID:START-TIME [-- CREATE-ARGS...]` mode: the container's process, started by
 * create (see startProxy in lib/process/self_exec.ts). main.ts runs it directly, without the CLI's modules.
 * @module
 */
import type { ProcessIdentity } from "../process/proc.ts";
import { runProxy } from "../proxy/driver.ts";

const encoder = new TextEncoder();
/** The longest container directory path accepted on standard input. */
const MAX_DIR_BYTES = 8192;

/**
 * Runs the proxy: reads its container directory (one line) from standard input, then drives the container
 * until it ends. Returns the exit code; standard input closed without a line means create gave up before
 * it had a container (0, nothing done). A malformed argument is one line on stderr and 1.
 *
 * @example
 * ```ts
 * Deno.exit(await proxyMain(["4242:81234", "--", "create", "fw1"]));
 * ```
 */
export async function proxyMain(args: string[]): Promise<number> {
  const creator = parseCreator(args[0]);
  if (!creator || (args.length > 1 && args[1] !== "--")) {
    const got = JSON.stringify(args.join(" "));
    printTo(
      Deno.stderr,
      `proxy: expected CREATOR-PID:START-TIME [-- ARGS...], got ${got}; it is started by create`,
    );
    return 1;
  }
  // Nothing of the proxy depends on a working directory; "/" keeps it from pinning a mount.
  Deno.chdir("/");
  const dir = readLine();
  if (!dir) return 0;
  return await runProxy(dir, creator, (line) => printTo(Deno.stdout, line));
}

/** Parses the "PID:START-TIME" argument create passes. */
function parseCreator(text: string | undefined): ProcessIdentity | undefined {
  const match = /^([1-9]\d*):(\d+)$/.exec(text ?? "");
  return match ? { pid: Number(match[1]), startTime: match[2] } : undefined;
}

/** Reads standard input up to the first newline or its end (blocking: the proxy has nothing else to do). */
function readLine(): string {
  const buffer = new Uint8Array(MAX_DIR_BYTES);
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

function printTo(stream: { writeSync(bytes: Uint8Array): number }, line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let done = 0; done < bytes.length;) done += stream.writeSync(bytes.subarray(done));
}
