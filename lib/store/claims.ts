import { join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { tempSuffix } from "../util/atomic.ts";
import { pathExists, removeIfPresent, removeQuietly } from "../util/fs.ts";

const CLAIMS = ".claims";

function claimPath(root: string, processor: string): string {
  return join(root, CLAIMS, encodeURIComponent(processor));
}

/**
 * Claims `processor` for container `id`. Exactly one of several racing callers wins: the claim is a file
 * made complete in a temp file and then hard-linked into place, which fails if it already exists. A claim
 * whose container directory is gone is stale (its owner crashed mid-delete) and is taken over.
 *
 * @example
 * ```ts
 * claimProcessor(root, "dsp0", "fw1");
 * ```
 * @throws {RuntimeError} "exists" naming the container that holds the processor.
 */
export function claimProcessor(root: string, processor: string, id: string): void {
  const dir = join(root, CLAIMS);
  const path = claimPath(root, processor);
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${tempSuffix()}`);
    Deno.writeTextFileSync(tmp, id, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          Deno.linkSync(tmp, path);
          return;
        } catch (err) {
          if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        }
        const holder = claimHolder(root, processor);
        if (holder === id) return;
        if (holder !== undefined && pathExists(join(root, holder))) {
          throw new RuntimeError(
            "exists",
            `remote processor ${processor} is already in use by container ${holder}; ` +
              `delete that container first (delete --force ${holder})`,
          );
        }
        releaseClaim(root, processor, holder ?? "");
      }
      throw new RuntimeError("exists", `remote processor ${processor} is being claimed by another container`);
    } finally {
      removeQuietly(tmp);
    }
  } catch (err) {
    throw fsError(err, "claim processor in", dir);
  }
}

/**
 * The id of the container holding `processor`, or undefined.
 *
 * @example
 * ```ts
 * claimHolder(root, "dsp0"); // "fw1"
 * ```
 */
export function claimHolder(root: string, processor: string): string | undefined {
  try {
    return Deno.readTextFileSync(claimPath(root, processor));
  } catch {
    return undefined;
  }
}

/**
 * Releases the claim on `processor` if container `id` holds it; another container's claim is left alone.
 *
 * @example
 * ```ts
 * releaseClaim(root, "dsp0", "fw1");
 * ```
 * @throws {RuntimeError} when the claim cannot be removed.
 */
export function releaseClaim(root: string, processor: string, id: string): void {
  const path = claimPath(root, processor);
  if (claimHolder(root, processor) !== id) return;
  removeIfPresent(path, "remove");
}

/**
 * The id of the container holding `processor`, or undefined when it is free or its claim is stale (the
 * container's directory is gone).
 *
 * @example
 * ```ts
 * liveClaimHolder(root, "dsp0"); // "fw1"
 * ```
 */
export function liveClaimHolder(root: string, processor: string): string | undefined {
  const holder = claimHolder(root, processor);
  return holder !== undefined && pathExists(join(root, holder)) ? holder : undefined;
}
