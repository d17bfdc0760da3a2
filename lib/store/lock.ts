import { join } from "../util/path.ts";

/**
 * Takes the exclusive lock of a container directory (flock on `<dir>/lock`), waiting for another holder to
 * release it. Every read-modify-write of a container goes through it; the kernel drops it if the holder
 * dies. Blocking, like the rest of a command: it has nothing else to do meanwhile, and the async form costs
 * a first hop through Deno's thread pool.
 *
 * @example
 * ```ts
 * using _lock = lockContainer(dir);
 * ```
 * @throws {Deno.errors.NotFound} when the directory is gone.
 */
export function lockContainer(dir: string): Disposable {
  const file = Deno.openSync(join(dir, "lock"), { read: true, write: true, create: true });
  try {
    file.lockSync(true);
  } catch (err) {
    file.close();
    throw err;
  }
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
