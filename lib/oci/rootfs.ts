import { join } from "../util/path.ts";
import { trimTrailingSlashes } from "../util/text.ts";
import { fsError, RuntimeError } from "../errors.ts";

const MAX_SYMLINKS = 40;

/** A firmware file found inside a rootfs. */
export interface ResolvedFile {
  /** Host path of the file, with every symlink already resolved inside the rootfs. */
  hostPath: string;
  /** Path as seen from inside the rootfs (starts with "/"). */
  innerPath: string;
  /** Identity at resolution time, checked again when the file is opened. */
  dev: number | null;
  ino: number | null;
}

/**
 * Resolves `path` inside `rootfs` as if the rootfs were `/`: `..` stops at the rootfs root and symlinks,
 * absolute or relative, are followed inside it. The result must be a regular file.
 *
 * @example
 * ```ts
 * const fw = resolveInRootfs("/bundle/rootfs", "hello.elf", "/");
 * ```
 * @throws {RuntimeError} "invalid-config" when the path does not lead to a regular file in the rootfs.
 */
export function resolveInRootfs(rootfs: string, path: string, cwd = "/"): ResolvedFile {
  let rootInfo: Deno.FileInfo;
  try {
    rootInfo = Deno.statSync(rootfs);
  } catch (err) {
    throw fsError(
      err,
      "open rootfs",
      rootfs,
      "root.path in config.json must name the image's root directory",
    );
  }
  if (!rootInfo.isDirectory) {
    throw new RuntimeError(
      "invalid-config",
      `rootfs ${rootfs} is not a directory; root.path must name a directory`,
    );
  }
  // Follow the rootfs itself once on the host (it is the engine's choice), then never leave it.
  const root = Deno.realPathSync(rootfs);
  const start = path.startsWith("/") ? path : `${trimTrailingSlashes(cwd)}/${path}`;
  const pending = start.split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let links = 0;
  let info: Deno.FileInfo | undefined;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      info = undefined;
      continue;
    }
    const host = join(root, ...done, part);
    try {
      info = Deno.lstatSync(host);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        throw new RuntimeError(
          "invalid-config",
          `firmware ${path} does not exist in the rootfs (looked for /${[...done, part].join("/")}); ` +
            "process.args[0] must name the firmware file in the image",
        );
      }
      throw fsError(err, "read", host);
    }
    if (info.isSymlink) {
      if (++links > MAX_SYMLINKS) {
        throw new RuntimeError(
          "invalid-config",
          `firmware ${path}: too many levels of symbolic links in the rootfs`,
        );
      }
      const target = Deno.readLinkSync(host);
      if (target.startsWith("/")) done.length = 0;
      pending.unshift(...target.split("/").filter((c) => c !== "" && c !== "."));
      info = undefined;
      continue;
    }
    if (pending.length > 0 && !info.isDirectory) {
      throw new RuntimeError(
        "invalid-config",
        `firmware ${path} does not exist in the rootfs: /${[...done, part].join("/")} is not a directory`,
      );
    }
    done.push(part);
  }
  const inner = "/" + done.join("/");
  if (info === undefined) info = Deno.lstatSync(join(root, ...done));
  if (!info.isFile) {
    const kind = info.isDirectory ? "a directory" : "not a regular file";
    throw new RuntimeError(
      "invalid-config",
      `firmware ${path} resolves to ${inner} in the rootfs, which is ${kind}; process.args[0] must name a regular file`,
    );
  }
  return { hostPath: join(root, ...done), innerPath: inner, dev: info.dev, ino: info.ino };
}
