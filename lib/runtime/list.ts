import { orUndefined, RuntimeError } from "../errors.ts";
import { validateContainerId } from "../oci/container_id.ts";
import { containerDir, listContainerIds } from "../store/container_store.ts";
import type { RuntimeContext } from "./context.ts";
import { containerState, OCI_VERSION, type OciState } from "./state.ts";
import { isoTimestamp } from "../util/time.ts";

/**
 * The OCI state of every container under the state root, sorted by id, with `owner` set to the name of the
 * user owning the container's directory (as runc prints it). A container whose record is missing or corrupt
 * is still listed, as stopped, so it can be found and deleted; one deleted during the listing is left out;
 * directory names that are not valid ids are not containers and are skipped.
 *
 * @example
 * ```ts
 * for (const s of listContainers(ctx)) console.log(s.id, s.status);
 * ```
 * @throws {RuntimeError} when the state root exists but cannot be read.
 */
export function listContainers(ctx: RuntimeContext): OciState[] {
  const passwd = orUndefined(() => Deno.readTextFileSync("/etc/passwd")) ?? "";
  const states: OciState[] = [];
  for (const id of listContainerIds(ctx.root)) {
    try {
      validateContainerId(id);
    } catch {
      continue;
    }
    let uid: number | null;
    try {
      uid = Deno.lstatSync(containerDir(ctx.root, id)).uid;
    } catch {
      continue; // deleted meanwhile
    }
    let state: OciState;
    try {
      state = containerState(ctx, id);
    } catch (err) {
      if (err instanceof RuntimeError && err.code === "not-found") continue;
      state = unreadableState(id);
    }
    states.push({ ...state, owner: uid === null ? "" : userName(passwd, uid) });
  }
  return states;
}

/**
 * The state shown for a container whose record cannot be read: stopped, pid 0, no bundle.
 *
 * @example
 * ```ts
 * unreadableState("fw1").status; // "stopped"
 * ```
 */
export function unreadableState(id: string): OciState {
  return {
    ociVersion: OCI_VERSION,
    id,
    status: "stopped",
    pid: 0,
    bundle: "",
    rootfs: "",
    created: isoTimestamp(0),
    owner: "",
    annotations: {},
  };
}

/**
 * The name of user `uid` in the text of an /etc/passwd file, or `#uid` when it is not there (as runc shows an
 * unknown owner).
 *
 * @example
 * ```ts
 * userName("root:x:0:0:root:/root:/bin/sh\n", 0); // "root"
 * userName("", 1000); // "#1000"
 * ```
 */
export function userName(passwd: string, uid: number): string {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 3 && fields[2] === String(uid) && fields[0] !== "") return fields[0];
  }
  return `#${uid}`;
}
