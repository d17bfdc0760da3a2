import { isAbsolute, join } from "../util/path.ts";
import { fsError, RuntimeError } from "../errors.ts";
import { loadJsonc } from "../config/settings.ts";
import { isDigits } from "../util/text.ts";

/** The annotation naming the remote processor a container runs on. */
export const PROCESSOR_ANNOTATION = "remoteproc.name";
/** Annotation added to the state: the processor's sysfs directory. */
export const RESOLVED_PATH_ANNOTATION = "remoteproc.resolved-path";
/** Annotation added to the state: the stored firmware copy. */
export const FIRMWARE_ANNOTATION = "remoteproc.firmware";
/** Annotation marking a CRI pod sandbox container, which holds no processor. */
export const CRI_CONTAINER_TYPE_ANNOTATION = "io.kubernetes.cri.container-type";

/** The subset of an OCI config.json the runtime uses. Everything else is accepted and ignored. */
export interface BundleSpec {
  ociVersion: string;
  /** Absolute path of the root file system on the host. */
  rootfs: string;
  /** The firmware path as written in process.args[0]. */
  firmwareArg: string;
  /** process.cwd inside the rootfs ("/" when absent). */
  cwd: string;
  annotations: Record<string, string>;
  /** The processor name, or undefined for a pod sandbox. */
  processorName: string | undefined;
  /** True for a CRI pod sandbox ("pause") container. */
  sandbox: boolean;
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Reads and validates `<bundle>/config.json`.
 *
 * @example
 * ```ts
 * const spec = await loadBundleSpec("/var/lib/bundles/fw");
 * ```
 * @throws {RuntimeError} "invalid-config" or "not-found" naming the file and the field.
 */
export async function loadBundleSpec(bundle: string): Promise<BundleSpec> {
  const path = join(bundle, "config.json");
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(bundle);
  } catch (err) {
    throw fsError(err, "open bundle", bundle, "pass an existing bundle directory with --bundle");
  }
  if (!info.isDirectory) {
    throw new RuntimeError(
      "invalid-config",
      `bundle ${bundle} is not a directory; pass a bundle directory with --bundle`,
    );
  }
  let bytes: Uint8Array;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile) throw new RuntimeError("invalid-config", `${path} is not a regular file`);
    if (st.size > MAX_CONFIG_BYTES) {
      throw new RuntimeError(
        "invalid-config",
        `${path} is ${st.size} bytes; at most ${MAX_CONFIG_BYTES} are accepted`,
      );
    }
    bytes = Deno.readFileSync(path);
  } catch (err) {
    throw fsError(err, "read", path, "the bundle must contain config.json");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new RuntimeError("invalid-config", `${path} is not valid UTF-8; write config.json as UTF-8 JSON`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError("invalid-config", `${path} is not valid JSON: ${await jsonErrorWhere(text, err)}`);
  }
  return parseBundleSpec(doc, bundle, path);
}

/**
 * Validates a parsed config.json document (pure; `path` is only used in messages).
 *
 * @example
 * ```ts
 * parseBundleSpec({ ociVersion: "1.0.2", root: { path: "rootfs" }, process: { args: ["fw.elf"] },
 *   annotations: { "remoteproc.name": "dsp0" } }, "/b", "/b/config.json");
 * ```
 * @throws {RuntimeError} "invalid-config" naming the field and what is expected.
 */
export function parseBundleSpec(doc: unknown, bundle: string, path: string): BundleSpec {
  const bad = (field: string, what: string) =>
    new RuntimeError("invalid-config", `${path}: ${field} ${what}`);
  if (!isRecord(doc)) throw bad("the document", "must be a JSON object");
  const version = doc.ociVersion;
  if (typeof version !== "string") throw bad("ociVersion", 'must be a string such as "1.0.2"');
  if (!version.startsWith("1.") || !isDigits(version.charAt(2))) {
    throw bad("ociVersion", `is ${JSON.stringify(version)}; only OCI runtime spec 1.x is supported`);
  }
  const annotations: Record<string, string> = {};
  if (doc.annotations !== undefined && doc.annotations !== null) {
    if (!isRecord(doc.annotations)) throw bad("annotations", "must be an object of strings");
    for (const [key, value] of Object.entries(doc.annotations)) {
      if (typeof value !== "string") throw bad(`annotations.${key}`, "must be a string");
      annotations[key] = value;
    }
  }
  const sandbox = annotations[CRI_CONTAINER_TYPE_ANNOTATION] === "sandbox";
  const root = doc.root;
  if (!isRecord(root)) throw bad("root", "must be an object with a path");
  if (typeof root.path !== "string" || root.path.trim() === "") {
    throw bad("root.path", "must be a non-empty string (the rootfs directory)");
  }
  if (root.path.includes("\0")) throw bad("root.path", "must not contain a NUL character");
  const rootfs = isAbsolute(root.path) ? root.path : join(bundle, root.path);

  const proc = doc.process;
  if (proc !== undefined && !isRecord(proc)) throw bad("process", "must be an object");
  let firmwareArg = "";
  let cwd = "/";
  if (isRecord(proc)) {
    if (proc.terminal === true) {
      throw bad(
        "process.terminal",
        "is true, but a remote processor has no terminal; set it to false (no -t)",
      );
    }
    if (proc.cwd !== undefined) {
      if (typeof proc.cwd !== "string" || proc.cwd === "") {
        throw bad("process.cwd", "must be a non-empty string");
      }
      cwd = proc.cwd;
    }
    if (proc.args !== undefined) {
      if (!Array.isArray(proc.args) || proc.args.some((a) => typeof a !== "string")) {
        throw bad("process.args", "must be an array of strings");
      }
      const args = proc.args as string[];
      if (!sandbox) {
        if (args.length !== 1) {
          throw bad(
            "process.args",
            `has ${args.length} entries; give exactly one: the firmware file (the image ENTRYPOINT), and no extra arguments`,
          );
        }
        firmwareArg = args[0];
      }
    }
  }
  if (!sandbox) {
    if (!isRecord(proc) || proc.args === undefined) {
      throw bad("process.args", "is missing; give exactly one entry: the firmware file in the rootfs");
    }
    if (firmwareArg.trim() === "") {
      throw bad("process.args[0]", "is empty; name the firmware file in the rootfs");
    }
    if (firmwareArg.includes("\0")) throw bad("process.args[0]", "must not contain a NUL character");
  }
  const name = annotations[PROCESSOR_ANNOTATION];
  let processorName: string | undefined;
  if (!sandbox) {
    if (name === undefined) {
      throw bad(
        `annotations["${PROCESSOR_ANNOTATION}"]`,
        "is missing; set it to the remote processor's name (e.g. --annotation remoteproc.name=dsp0)",
      );
    }
    if (name.trim() === "" || name !== name.trim() || name.includes("\n")) {
      throw bad(
        `annotations["${PROCESSOR_ANNOTATION}"]`,
        `is ${JSON.stringify(name)}; give the processor's exact name, without spaces around it`,
      );
    }
    processorName = name;
  }
  return { ociVersion: version, rootfs, firmwareArg, cwd, annotations, processorName, sandbox };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Turns a JSON.parse error into "line L, column C: reason", locating the error with a JSON scanner. */
async function jsonErrorWhere(text: string, err: unknown): Promise<string> {
  if (text.trim() === "") return "the file is empty";
  const message = err instanceof Error ? err.message : String(err);
  const reason = message.replace(/\s*\(line \d+ column \d+\)/, "").replace(/ in JSON at position \d+.*/, "")
    .replace(/, ".*" is not valid JSON$/, "");
  const { parseJsonc, lineColumn } = await loadJsonc();
  const first = parseJsonc(text, true).problem;
  const position = /position (\d+)/.exec(message);
  const offset = first
    ? first.offset
    : position
    ? Number(position[1])
    : /end of JSON/.test(message)
    ? text.length
    : -1;
  if (offset < 0) return reason;
  return `${lineColumn(text, offset)}: ${first ? first.reason : reason}`;
}
