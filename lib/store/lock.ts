import { join } from "../util/path.ts";

/**
 * Takes the exclusive lock of a container directory (flock on `<dir>/lock`). Every read-modify-write of a
 * container goes through it; the kernel drops it if the holder dies.
 *
 * @example
 * ```ts
 * using _lock = await lockContainer(dir);
 * ```
 * @throws {Deno.errors.NotFound} when the directory is gone.
 */
export async function lockContainer(dir: string): Promise<Disposable> {
  const file = Deno.openSync(join(dir, "lock"), { read: true, write: true, create: true });
  await file.lock(true);
  return {
    [Symbol.dispose]() {
      try {
        file.close();
      } catch {
        // closing releases the lock; a file already closed has released it
      }
    },
  };
}
