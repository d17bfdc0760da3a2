/**
 * Builds the release files: one self-contained executable per Linux architecture, under dist/.
 *
 * Usage: `deno task compile [--dry-run] [--target aarch64|x86_64]...`
 *
 * Each file is the bundled form (lib/dev/bundle.ts) with Deno's runtime: the code the benchmark measures is the
 * code that ships, but for its functions, left to V8's lazy compilation (see buildCompileInput), and a command
 * loads two files of it instead of the twenty to thirty modules it loads from the sources.
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildBundledForm, BUNDLE_MAIN, bundleFileNames } from "./bundle.ts";
import { PROXY_PERMISSIONS, PROXY_V8_FLAGS } from "../process/self_exec.ts";

/** One compiled file: the Rust target triple deno compiles for, and the file it writes (relative to the project). */
export interface CompileTarget {
  arch: "aarch64" | "x86_64";
  triple: string;
  output: string;
}

/**
 * The two release targets.
 *
 * @example
 * ```ts
 * COMPILE_TARGETS.map((t) => t.output); // ["dist/remoteproc-runtime-aarch64-linux", ...]
 * ```
 */
export const COMPILE_TARGETS: readonly CompileTarget[] = [
  {
    arch: "aarch64",
    triple: "aarch64-unknown-linux-gnu",
    output: "dist/remoteproc-runtime-aarch64-linux",
  },
  {
    arch: "x86_64",
    triple: "x86_64-unknown-linux-gnu",
    output: "dist/remoteproc-runtime-x86_64-linux",
  },
];

/**
 * Writes into `outDir` the bundled form that `deno compile` makes the release file of: built with the lock file
 * frozen, and its functions left to V8's lazy compilation. The compiled file's runtime keeps a code cache of
 * the modules it loads at start-up only (denoland/deno#26528), not of the command's own file, and without a
 * cache the eagerly compiled form costs more (`eagerFunctions` in lib/dev/bundle.ts).
 *
 * @example
 * ```ts
 * await buildCompileInput(".", "/tmp/rproc-compile"); // ["remoteproc-runtime.js", "early.js", ...]
 * ```
 */
export function buildCompileInput(project: string, outDir: string): Promise<string[]> {
  return buildBundledForm({ project, outDir, frozenLockfile: true, eager: false });
}

/**
 * The `deno compile` arguments for one target, compiling the bundled form found in `bundleDir` (made by
 * {@link buildBundledForm}). The permissions and V8 flags are the ones the `deno run` form of self
 * re-execution uses ({@link PROXY_PERMISSIONS}, {@link PROXY_V8_FLAGS}), so both forms behave alike. The
 * bundled form's other files are passed with --include: remoteproc-runtime.js imports them through computed
 * specifiers, which the compiler cannot follow by itself.
 *
 * @example
 * ```ts
 * new Deno.Command(Deno.execPath(), { args: compileArgs(COMPILE_TARGETS[1], "/tmp/bundle") });
 * ```
 */
export function compileArgs(target: CompileTarget, bundleDir: string): string[] {
  return [
    "compile",
    "--quiet",
    // The bundled files import nothing from outside themselves: no deno.json, import map or lock file to read
    // (the bundle was built from exactly the dependencies the lock file records).
    "--no-config",
    "--target",
    target.triple,
    "--output",
    target.output,
    `--v8-flags=${PROXY_V8_FLAGS}`,
    ...PROXY_PERMISSIONS,
    ...bundleFileNames().filter((name) => name !== BUNDLE_MAIN).flatMap((name) => [
      "--include",
      join(bundleDir, name),
    ]),
    join(bundleDir, BUNDLE_MAIN),
  ];
}

/** What precedes the metadata in a compiled file's data section (Deno's cli/standalone/binary.rs). */
const STANDALONE_MARKER = "d3n0l4nd";

/**
 * The metadata `deno compile` embedded in a compiled file (its bytes: `file`), or undefined when it holds none.
 * Deno 2 writes its data section as the marker `d3n0l4nd`, the metadata's length as a little-endian u64, then
 * the metadata as JSON; the marker also occurs elsewhere in the runtime's own code, so each occurrence is tried.
 * The file's runtime sets V8's flags from its `v8_flags` and grants its `permissions` before any code runs
 * (cli/rt/run.rs), so this is how the settings of a file that cannot be run here are checked.
 *
 * @example
 * ```ts
 * embeddedMetadata(await Deno.readFile("dist/remoteproc-runtime-x86_64-linux"))?.v8_flags;
 * ```
 */
export function embeddedMetadata(file: Uint8Array): Record<string, unknown> | undefined {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  for (let at = bytes.indexOf(STANDALONE_MARKER); at >= 0; at = bytes.indexOf(STANDALONE_MARKER, at + 1)) {
    const start = at + STANDALONE_MARKER.length + 8;
    if (start >= bytes.length || bytes[start] !== 0x7b) continue; // "{"
    const length = Number(bytes.readBigUInt64LE(start - 8));
    if (start + length > bytes.length) continue;
    try {
      return JSON.parse(bytes.toString("utf8", start, start + length)); // an object: its text begins with {
    } catch {
      // the marker inside other data: try the next one
    }
  }
  return undefined;
}

/**
 * What is wrong with the settings a compiled file embeds (see {@link embeddedMetadata}), one line each; empty
 * when it starts {@link BUNDLE_MAIN} with the V8 flags and the permissions of the `deno run` form
 * ({@link PROXY_PERMISSIONS}: all of them). Deno records a permission granted for everything as an empty list,
 * and one not granted as null.
 *
 * @example
 * ```ts
 * const wrong = compiledSettingsProblems(embeddedMetadata(bytes));
 * if (wrong.length > 0) throw new Error(wrong.join("; "));
 * ```
 */
export function compiledSettingsProblems(metadata: Record<string, unknown> | undefined): string[] {
  if (metadata === undefined) return ["no deno compile metadata found in the file"];
  const problems: string[] = [];
  const flags = Array.isArray(metadata.v8_flags) ? metadata.v8_flags : [];
  for (const flag of PROXY_V8_FLAGS.split(",")) {
    if (!flags.includes(flag)) {
      problems.push(`V8 flag ${flag} is not embedded (v8_flags: ${JSON.stringify(flags)})`);
    }
  }
  if (metadata.entrypoint_key !== BUNDLE_MAIN) {
    problems.push(`the entry point is ${JSON.stringify(metadata.entrypoint_key)}, not ${BUNDLE_MAIN}`);
  }
  const permissions = (metadata.permissions ?? {}) as Record<string, unknown>;
  const allows = Object.keys(permissions).filter((key) => key.startsWith("allow_"));
  if (allows.length === 0) problems.push("no permissions are embedded");
  for (const key of allows) {
    const value = permissions[key];
    if (!Array.isArray(value) || value.length > 0) {
      problems.push(
        `permission ${key} is ${JSON.stringify(value)}, not granted for everything (${PROXY_PERMISSIONS})`,
      );
    }
  }
  return problems;
}

/** Options of {@link compile}. */
export interface CompileOptions {
  /** The project directory (holding main.ts and deno.json). */
  project: string;
  targets: readonly CompileTarget[];
  /** Print the commands without running them. */
  dryRun?: boolean;
  /** Receives one line per target. */
  log: (line: string) => void;
}

/**
 * Builds the bundled form into a temporary directory (with the lock file frozen), compiles each target from it
 * in turn, checks the settings each file embeds and reports its size.
 *
 * @example
 * ```ts
 * await compile({ project: ".", targets: COMPILE_TARGETS, log: console.log });
 * ```
 * @throws {Error} when the bundle or deno compile fails for a target, with its exit code, or a file does not embed
 * the settings {@link compiledSettingsProblems} checks.
 */
export async function compile(options: CompileOptions): Promise<{ output: string; bytes: number }[]> {
  if (options.dryRun) {
    for (const target of options.targets) options.log(`deno ${compileArgs(target, "BUNDLE_DIR").join(" ")}`);
    return [];
  }
  const built: { output: string; bytes: number }[] = [];
  const bundleDir = await Deno.makeTempDir({ prefix: "rproc-compile-" });
  try {
    await buildCompileInput(options.project, bundleDir);
    await Deno.mkdir(join(options.project, "dist"), { recursive: true });
    for (const target of options.targets) {
      const { code } = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(target, bundleDir),
        cwd: options.project,
      }).spawn().status;
      if (code !== 0) throw new Error(`deno compile for ${target.triple} failed with exit code ${code}`);
      const file = await Deno.readFile(join(options.project, target.output));
      const problems = compiledSettingsProblems(embeddedMetadata(file));
      if (problems.length > 0) throw new Error(`${target.output}: ${problems.join("; ")}`);
      const size = file.byteLength;
      built.push({ output: target.output, bytes: size });
      options.log(`${target.output}  ${_mebibytes(size)} MiB (${size} bytes)`);
    }
  } finally {
    await Deno.remove(bundleDir, { recursive: true });
  }
  return built;
}

function _mebibytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

async function _main(argv: string[]): Promise<number> {
  let values: { "dry-run"?: boolean; target?: string[] };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: { "dry-run": { type: "boolean" }, target: { type: "string", multiple: true } },
    }).values;
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  const wanted = values.target ?? COMPILE_TARGETS.map((t) => t.arch);
  const unknown = wanted.filter((arch) => !COMPILE_TARGETS.some((t) => t.arch === arch));
  if (unknown.length > 0) {
    console.error(`compile: unknown --target ${unknown.join(", ")}; use aarch64 or x86_64`);
    return 2;
  }
  try {
    await compile({
      project: fileURLToPath(new URL("../..", import.meta.url)),
      targets: COMPILE_TARGETS.filter((t) => wanted.includes(t.arch)),
      dryRun: values["dry-run"],
      log: (line) => console.log(line),
    });
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exitCode = await _main(Deno.args);
