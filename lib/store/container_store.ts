import { join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import type { ProcessIdentity } from "../process/proc.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import type { BootReport, ContainerRecord } from "./record.ts";

const RECORD = "state.json";
const PROXY = "proxy.json";
const BOOT = "boot.json";
const START_REQUESTED = "start-requested";
const EXIT_REPORT = "exit.json";

/**
 * The directory of container `id` under the state root. The id is validated first, so no id can reach
 * outside the root.
 *
 * @example
 * ```ts
 * containerDir("/run/remoteproc-runtime", "fw1"); // "/run/remoteproc-runtime/fw1"
 * ```
 * @throws {RuntimeError} "invalid-id".
 */
export function containerDir(root: string, id: string): string {
  validateContainerId(id);
  return join(root, id);
}

/**
 * Creates the state root (mode 0700) if needed.
 *
 * @example
 * ```ts
 * await ensureStateRoot("/run/remoteproc-runtime");
 * ```
 * @throws {RuntimeError} naming the root when it cannot be created.
 */
export async function ensureStateRoot(root: string): Promise<void> {
  try {
    await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fsError(err, "create state directory", root, "choose another with --root");
  }
}

/**
 * Creates the directory of a new container; exactly one of several concurrent callers succeeds. The
 * directory is filled under a temp name (with `fill`, e.g. the record) and renamed into place, so no other
 * command ever sees a container without its record.
 *
 * @example
 * ```ts
 * const dir = await createContainerDir(root, "fw1", (tmp) => writeRecord(tmp, record));
 * ```
 * @throws {RuntimeError} "exists" when the id is in use.
 */
export async function createContainerDir(
  root: string,
  id: string,
  fill?: (dir: string) => Promise<void>,
): Promise<string> {
  const dir = containerDir(root, id);
  const exists = () =>
    new RuntimeError(
      "exists",
      `container with given ID already exists: ${id}; choose another id or delete it first`,
    );
  if (await Deno.lstat(dir).then(() => true, () => false)) throw exists();
  const tmp = join(root, `.new-${crypto.randomUUID()}`);
  try {
    await Deno.mkdir(tmp, { mode: 0o700 });
    // Never empty: rename(2) may replace an empty directory, but never one with a file in it.
    await Deno.writeTextFile(join(tmp, "lock"), "", { mode: 0o600 });
    await fill?.(tmp);
    await Deno.rename(tmp, dir);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const code = (err as { code?: string }).code;
    if (err instanceof Deno.errors.AlreadyExists || code === "ENOTEMPTY" || code === "EEXIST") throw exists();
    throw fsError(err, "create", dir, "the state root must be writable (see --root)");
  }
  return dir;
}

/**
 * Reads a container's record, or undefined when the container has none (it is being created, or its
 * create failed before writing it).
 *
 * @example
 * ```ts
 * const record = await readRecord(dir);
 * ```
 * @throws {RuntimeError} when the record exists but is unreadable or corrupt.
 */
export async function readRecord(dir: string): Promise<ContainerRecord | undefined> {
  return await readJson<ContainerRecord>(join(dir, RECORD));
}

/**
 * Writes a container's record atomically.
 *
 * @example
 * ```ts
 * await writeRecord(dir, record);
 * ```
 * @throws {RuntimeError} naming the file.
 */
export async function writeRecord(dir: string, record: ContainerRecord): Promise<void> {
  await writeJson(join(dir, RECORD), record);
}

/** Reads the identity the proxy wrote when it became ready. */
export async function readProxyReady(dir: string): Promise<ProcessIdentity | undefined> {
  return await readJson<ProcessIdentity>(join(dir, PROXY));
}

/** Written by the proxy once its signal listeners are in place. */
export async function writeProxyReady(dir: string, identity: ProcessIdentity): Promise<void> {
  await writeJson(join(dir, PROXY), identity);
}

/** Reads the proxy's report on its boot attempt. */
export async function readBootReport(dir: string): Promise<BootReport | undefined> {
  return await readJson<BootReport>(join(dir, BOOT));
}

/** Written by the proxy after its boot attempt. */
export async function writeBootReport(dir: string, report: BootReport): Promise<void> {
  await writeJson(join(dir, BOOT), report);
}

/** Written by the proxy just before it exits: its exit code. */
export async function writeExitReport(dir: string, code: number): Promise<void> {
  await writeJson(join(dir, EXIT_REPORT), { code, at: new Date().toISOString() });
}

/** The proxy's exit code, once it has exited on its own terms. */
export async function readExitReport(dir: string): Promise<{ code: number; at: string } | undefined> {
  return await readJson<{ code: number; at: string }>(join(dir, EXIT_REPORT));
}

/** A `start` request: when, and by which process. */
export interface StartRequest {
  at: string;
  /** The `start` command that asked; a dead one with no boot report means the start never went through. */
  by: ProcessIdentity | null;
}

/** The start request of the container, or undefined when start was never requested. */
export async function readStartRequest(dir: string): Promise<StartRequest | undefined> {
  return await readJson<StartRequest>(join(dir, START_REQUESTED));
}

/** Marks that `start` was requested (before the proxy is signalled, so `state` never reads created after). */
export async function markStartRequested(dir: string, by: ProcessIdentity | null): Promise<void> {
  await writeJson(join(dir, START_REQUESTED), { at: new Date().toISOString(), by });
}

/**
 * Removes a container's directory and everything in it.
 *
 * @example
 * ```ts
 * await removeContainerDir(dir);
 * ```
 * @throws {RuntimeError} naming the directory.
 */
export async function removeContainerDir(dir: string): Promise<void> {
  // A command racing with the removal may add a file (its lock) after the directory was emptied, so the
  // final rmdir finds it not empty: try again a few times.
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(dir, { recursive: true });
      return;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      if (attempt >= REMOVE_ATTEMPTS) throw fsError(err, "remove", dir);
    }
  }
}

const REMOVE_ATTEMPTS = 5;

/**
 * Lists the ids of the containers under the state root.
 *
 * @example
 * ```ts
 * for (const id of await listContainerIds(root)) console.log(id);
 * ```
 */
export async function listContainerIds(root: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) ids.push(entry.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, "read", root);
  }
  return ids.sort();
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fsError(err, "read", path);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RuntimeError(
      "invalid-state",
      `${path} is corrupt; remove the container with delete --force`,
    );
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  try {
    await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
  } catch (err) {
    throw fsError(err, "write", path);
  }
}
