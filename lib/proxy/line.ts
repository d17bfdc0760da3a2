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
  /**
   * The creator's descriptor of the pipe it waits on for the proxy's readiness, when it has one
   * (SpawnedChild.readyFd in lib/process/spawn.ts): see {@link readyPath}.
   */
  readyFd?: number;
}

/**
 * The line a proxy is sent: "PID:START-TIME[:READY-FD] DIR". The creator's identity lets the proxy adopt only
 * the record that very process wrote (a reused pid has another start time).
 *
 * @example
 * ```ts
 * proxyLine({ pid: 4242, startTime: "81234" }, "/run/remoteproc-runtime/fw1"); // "4242:81234 /run/..."
 * proxyLine({ pid: 4242, startTime: "81234" }, "/run/remoteproc-runtime/fw1", 7); // "4242:81234:7 /run/..."
 * ```
 */
export function proxyLine(
  creator: { pid: number; startTime: string },
  dir: string,
  readyFd?: number,
): string {
  return `${creator.pid}:${creator.startTime}${readyFd === undefined ? "" : `:${readyFd}`} ${dir}`;
}

/**
 * Where the proxy of `assignment` tells its creator it is ready, or undefined: the creator's own descriptor
 * of a pipe, reached through /proc (the proxy inherits no descriptor but its standard ones). Opened for
 * reading and writing, as a FIFO (which this is to open(2)), it never waits for a reader.
 *
 * @example
 * ```ts
 * readyPath({ creator: { pid: 4242, startTime: "81234" }, dir: "/run/remoteproc-runtime/fw1", readyFd: 7 });
 * // "/proc/4242/fd/7"
 * ```
 */
export function readyPath(assignment: ProxyAssignment): string | undefined {
  const { creator, readyFd } = assignment;
  return readyFd === undefined ? undefined : `/proc/${creator.pid}/fd/${readyFd}`;
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
  const [pid, rest, dir] = [line.slice(0, colon), line.slice(colon + 1, space), line.slice(space + 1)];
  const [startTime, readyFd, ...more] = rest.split(":");
  if (!isDigits(pid) || pid.startsWith("0") || !isDigits(startTime) || !dir.startsWith("/")) return undefined;
  if (more.length > 0 || (readyFd !== undefined && !isDigits(readyFd))) return undefined;
  if (LINE_BREAKS.some((c) => dir.includes(c))) return undefined;
  const creator = { pid: Number(pid), startTime };
  return readyFd === undefined ? { creator, dir } : { creator, dir, readyFd: Number(readyFd) };
}

/** What ends a line: none may be inside the directory. */
const LINE_BREAKS = ["\n", "\r", "\u2028", "\u2029"];
