/**
 * The one line create sends its proxy on a pipe: who created the container and where its state directory is.
 * Its own small module (with lib/util/text.ts): the proxy reads it before anything else and should load
 * nothing more to do so.
 * @module
 */
import { isDigits } from "../util/text.ts";

/** Who created a container (pid and start time) and where its state directory is: what a proxy is sent. */
export interface ProxyAssignment {
  creator: { pid: number; startTime: string };
  dir: string;
}

/**
 * The line a proxy is sent: "PID:START-TIME DIR". The creator's identity lets the proxy adopt only the record
 * that very process wrote (a reused pid has another start time).
 *
 * @example
 * ```ts
 * proxyLine({ pid: 4242, startTime: "81234" }, "/run/remoteproc-runtime/fw1"); // "4242:81234 /run/..."
 * ```
 */
export function proxyLine(creator: { pid: number; startTime: string }, dir: string): string {
  return `${creator.pid}:${creator.startTime} ${dir}`;
}

/**
 * Reads a line made by {@link proxyLine}; undefined when it is not one (a directory must be absolute).
 *
 * @example
 * ```ts
 * parseProxyLine("4242:81234 /run/remoteproc-runtime/fw1")?.dir; // "/run/remoteproc-runtime/fw1"
 * ```
 */
export function parseProxyLine(line: string): ProxyAssignment | undefined {
  const colon = line.indexOf(":");
  const space = line.indexOf(" ", colon + 1);
  if (colon < 0 || space < 0) return undefined;
  const [pid, startTime, dir] = [line.slice(0, colon), line.slice(colon + 1, space), line.slice(space + 1)];
  if (!isDigits(pid) || pid.startsWith("0") || !isDigits(startTime) || !dir.startsWith("/")) return undefined;
  if (LINE_BREAKS.some((c) => dir.includes(c))) return undefined;
  return { creator: { pid: Number(pid), startTime }, dir };
}

/** What ends a line: none may be inside the directory. */
const LINE_BREAKS = ["\n", "\r", "\u2028", "\u2029"];
