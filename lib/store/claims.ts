import { join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";

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
 * await claimProcessor(root, "dsp0", "fw1");
 * ```
 * @throws {RuntimeError} "exists" naming the container that holds the processor.
 */
export async function claimProcessor(root: string, processor: string, id: string): Promise<void> {
  const dir = join(root, CLAIMS);
  const path = claimPath(root, processor);
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${crypto.randomUUID()}`);
    await Deno.writeTextFile(tmp, id, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await Deno.link(tmp, path);
          return;
        } catch (err) {
          if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        }
        const holder = await claimHolder(root, processor);
        if (holder === id) return;
        if (holder !== undefined && await exists(join(root, holder))) {
          throw new RuntimeError(
            "exists",
            `remote processor ${processor} is already in use by container ${holder}; ` +
              `delete that container first (delete --force ${holder})`,
          );
        }
        await releaseClaim(root, processor, holder ?? "");
      }
      throw new RuntimeError("exists", `remote processor ${processor} is being claimed by another container`);
    } finally {
      await Deno.remove(tmp).catch(() => {});
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
 * await claimHolder(root, "dsp0"); // "fw1"
 * ```
 */
export async function claimHolder(root: string, processor: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(claimPath(root, processor));
  } catch {
    return undefined;
  }
}

/**
 * Releases the claim on `processor` if container `id` holds it; another container's claim is left alone.
 *
 * @example
 * ```ts
 * await releaseClaim(root, "dsp0", "fw1");
 * ```
 * @throws {RuntimeError} when the claim cannot be removed.
 */
export async function releaseClaim(root: string, processor: string, id: string): Promise<void> {
  const path = claimPath(root, processor);
  if ((await claimHolder(root, processor)) !== id) return;
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fsError(err, "remove", path);
  }
}

/**
 * The id of the container holding `processor`, or undefined when it is free or its claim is stale (the
 * container's directory is gone).
 *
 * @example
 * ```ts
 * await liveClaimHolder(root, "dsp0"); // "fw1"
 * ```
 */
export async function liveClaimHolder(root: string, processor: string): Promise<string | undefined> {
  const holder = await claimHolder(root, processor);
  return holder !== undefined && await exists(join(root, holder)) ? holder : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
