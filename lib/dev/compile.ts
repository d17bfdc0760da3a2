/**
 * Builds the release files: one self-contained executable per Linux architecture, under dist/.
 *
 * Usage: `deno task compile [--dry-run] [--target aarch64|x86_64]...`
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { COMMAND_MODULES } from "../cli/main.ts";
import { ENTRY_MODULES } from "../../main.ts";
import { JSONC_MODULE } from "../config/settings.ts";
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

/** Modules imported through computed specifiers, which `deno compile` must be told to embed. */
const INCLUDED = [...ENTRY_MODULES, ...COMMAND_MODULES.map((name) => `lib/cli/${name}.ts`), JSONC_MODULE];

/**
 * The `deno compile` arguments for one target. The permissions and V8 flags are the ones the `deno run` form
 * of self re-execution uses ({@link PROXY_PERMISSIONS}, {@link PROXY_V8_FLAGS}), so both forms behave alike.
 * The modules imported through computed specifiers (main.ts's, the commands' and the JSONC parser's) are passed
 * with --include.
 *
 * @example
 * ```ts
 * new Deno.Command(Deno.execPath(), { args: compileArgs(COMPILE_TARGETS[1]) });
 * ```
 */
export function compileArgs(target: CompileTarget): string[] {
  return [
    "compile",
    "--quiet",
    // The release is built from exactly the dependencies the lock file records.
    "--frozen-lockfile",
    "--target",
    target.triple,
    "--output",
    target.output,
    `--v8-flags=${PROXY_V8_FLAGS}`,
    ...PROXY_PERMISSIONS,
    // main.ts's modules, each command's module and the JSONC parser are imported through computed specifiers
    // (see main.ts, lib/cli/main.ts and loadJsonc), which the compiler cannot follow by itself.
    ...INCLUDED.flatMap((path) => ["--include", path]),
    "main.ts",
  ];
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
 * Compiles each target in turn and reports each file's size.
 *
 * @example
 * ```ts
 * await compile({ project: ".", targets: COMPILE_TARGETS, log: console.log });
 * ```
 * @throws {Error} when deno compile fails for a target, with its exit code.
 */
export async function compile(options: CompileOptions): Promise<{ output: string; bytes: number }[]> {
  const built: { output: string; bytes: number }[] = [];
  for (const target of options.targets) {
    const args = compileArgs(target);
    if (options.dryRun) {
      options.log(`deno ${args.join(" ")}`);
      continue;
    }
    await Deno.mkdir(join(options.project, "dist"), { recursive: true });
    const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: options.project }).spawn().status;
    if (code !== 0) throw new Error(`deno compile for ${target.triple} failed with exit code ${code}`);
    const { size } = await Deno.stat(join(options.project, target.output));
    built.push({ output: target.output, bytes: size });
    options.log(`${target.output}  ${_mebibytes(size)} MiB (${size} bytes)`);
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
