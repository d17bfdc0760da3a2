/**
 * Builds the bundled form: the runtime as a few JavaScript files for a system `deno`, with nothing to
 * transpile, no module graph to walk and no configuration file to read.
 *
 *   deno task bundle [--out DIR]              (default DIR: dist/js)
 *   deno run -A --no-config DIR/remoteproc-runtime.js COMMAND ...
 *
 * remoteproc-runtime.js is main.ts. Each other file is one of the modules main.ts loads, with everything it
 * imports: proxy.js, early.js, cli-COMMAND.js for each of BUNDLED_COMMANDS (the CLI and that one command),
 * cli.js (the CLI and every command) and jsonc.js (the JSONC parser, loaded only to parse a file). A process
 * reads two or three files where `deno run main.ts` reads some twenty to thirty modules and deno.json.
 * Their top-level functions are compiled with their file rather than at their first call ({@link
 * eagerFunctions}), so that Deno's code cache holds them. The compiled release file (lib/dev/compile.ts) is
 * these files, without that step, with Deno's runtime.
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { BUNDLED_COMMANDS, bundleFile } from "../../main.ts";
import { COMMAND_MODULES } from "../cli/main.ts";
import { JSONC_MODULE } from "../config/settings.ts";

const PROJECT = fileURLToPath(new URL("../..", import.meta.url));

/** The file of the bundled form to run. */
export const BUNDLE_MAIN = "remoteproc-runtime.js";

/** The bundled file left to V8's lazy compilation: the JSONC parser package, most of which no run calls. */
const LAZY_FILES = ["jsonc.js"];

/** A top-level function declaration as `deno bundle` prints it, from column 0: its first line. */
const FUNCTION_HEAD = /^(?:async )?function\*? ([\w$]+)\(/;

/**
 * The entry modules of the bundled form's files other than {@link BUNDLE_MAIN}: file name (without .js) and
 * source text, importing from `project`.
 *
 * @example
 * ```ts
 * bundleEntries("/src/remoteproc-runtime")["cli-state"]; // 'export { runCli } from "file:///src/...'
 * ```
 */
export function bundleEntries(project: string): Record<string, string> {
  const url = (path: string) => JSON.stringify(pathToFileURL(join(project, path)).href);
  const cli = (commands: readonly string[]) =>
    [
      `export { runCli } from ${url("lib/cli/main.ts")};`,
      // Prefixed: a command may be named by a reserved word (delete).
      ...commands.map((name) => `import * as m_${name} from ${url(`lib/cli/${name}.ts`)};`),
      `export const modules = { ${commands.map((name) => `${name}: m_${name}`).join(", ")} };`,
    ].join("\n") + "\n";
  // An entry is named as the file main.ts loads, without ".js".
  const entry = (...args: Parameters<typeof bundleFile>) => bundleFile(...args).slice(0, -".js".length);
  const entries: Record<string, string> = {
    [entry("lib/cli/early.ts")]: `export * from ${url("lib/cli/early.ts")};\n`,
    [entry("lib/cli/proxy.ts")]: `export * from ${url("lib/cli/proxy.ts")};\n`,
    jsonc: `export * from ${url(JSONC_MODULE)};\n`,
    [entry("lib/cli/main.ts")]: cli(COMMAND_MODULES),
  };
  for (const name of BUNDLED_COMMANDS) entries[entry("lib/cli/main.ts", name)] = cli([name]);
  return entries;
}

/**
 * The names of the files of the bundled form, {@link BUNDLE_MAIN} first.
 *
 * @example
 * ```ts
 * bundleFileNames(); // ["remoteproc-runtime.js", "early.js", "proxy.js", "jsonc.js", "cli.js", ...]
 * ```
 */
export function bundleFileNames(): string[] {
  return [BUNDLE_MAIN, ...Object.keys(bundleEntries(PROJECT)).map((name) => `${name}.js`)];
}

/**
 * Rewrites the top-level function declarations of a bundled file so that V8 compiles them with the file
 * instead of at their first call. V8 compiles a function expression in parentheses eagerly (its guess that
 * the function is called at once), and Deno makes a module's code cache right after compiling it, so the
 * cache then holds these functions' bytecode and a later run compiles none of them. Measured on `kill`
 * (interleaved lifecycles, the time from Deno's start to `Deno.exit`): about 2.3 ms less spent running the
 * command, 0.3 ms more loading its file. Without a code cache the same file costs more than lazily compiled
 * (functions no run calls are compiled too), hence not for the compiled release: `deno compile`'s runtime
 * caches only the modules loaded at start-up, not the command's file (lib/dev/compile.ts).
 *
 * Each `function NAME(...) {...}` (from its first line to the first line that is exactly "}", as `deno
 * bundle` prints it) becomes `var NAME = (function NAME(...) {...});`, and all of them move to the top of the
 * file, so that each is defined before any other code runs, as a declaration is. A declaration whose text
 * does not parse on its own is left as it is.
 *
 * @example
 * ```ts
 * eagerFunctions("f();\nfunction f() {\n  return 1;\n}\n").text;
 * // "var f = (function f() {\n  return 1;\n});\nf();\n"
 * ```
 */
export function eagerFunctions(source: string): { text: string; count: number } {
  const lines = source.split("\n");
  const moved: string[] = [];
  const rest: string[] = [];
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const head = FUNCTION_HEAD.exec(lines[i]);
    const end = head ? lines.indexOf("}", i + 1) : -1;
    const declaration = end < 0 ? "" : lines.slice(i, end + 1).join("\n");
    if (!head || end < 0 || !parsesAsFunction(declaration)) {
      rest.push(lines[i]);
      continue;
    }
    moved.push(`var ${head[1]} = (${declaration});`);
    count++;
    i = end;
  }
  return { text: [...moved, ...rest].join("\n"), count };
}

/** Whether `text` parses as one function expression (import.meta, valid only in a module, stood in for). */
function parsesAsFunction(text: string): boolean {
  try {
    new Function(`return (${text.replaceAll("import.meta", "IMPORT_META")});`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the bundled form of the project at `project` into `outDir` and returns the files written
 * ({@link bundleFileNames}). With `frozenLockfile`, `deno bundle` fails where deno.lock is out of date. With
 * `eager` (the default), the files' functions are compiled with their file ({@link eagerFunctions}).
 *
 * @example
 * ```ts
 * await buildBundledForm({ project: ".", outDir: "dist/js" }); // ["remoteproc-runtime.js", "cli.js", ...]
 * ```
 * @throws {Error} when `deno bundle` fails, with its output.
 */
export async function buildBundledForm(
  options: { project: string; outDir: string; frozenLockfile?: boolean; eager?: boolean },
): Promise<string[]> {
  const project = resolve(options.project);
  const outDir = resolve(options.outDir);
  const entryDir = await Deno.makeTempDir({ prefix: "rproc-bundle-" });
  try {
    const entries = Object.entries(bundleEntries(project));
    for (const [name, text] of entries) await Deno.writeTextFile(join(entryDir, `${name}.ts`), text);
    // main.ts is bundled on its own: only a bundle's entry module keeps `import.meta.main` (and keeps its
    // computed imports, which find the other files next to it).
    const frozen = options.frozenLockfile ? ["--frozen-lockfile"] : [];
    await denoBundle(project, [...frozen, "-o", join(outDir, BUNDLE_MAIN), join(project, "main.ts")]);
    await denoBundle(project, [
      ...frozen,
      "--outdir",
      outDir,
      ...entries.map(([name]) => join(entryDir, `${name}.ts`)),
    ]);
    const files = bundleFileNames();
    if (options.eager ?? true) {
      for (const file of files.filter((name) => !LAZY_FILES.includes(name))) {
        const path = join(outDir, file);
        await Deno.writeTextFile(path, eagerFunctions(await Deno.readTextFile(path)).text);
      }
    }
    return files;
  } finally {
    await Deno.remove(entryDir, { recursive: true });
  }
}

async function denoBundle(project: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--config", join(project, "deno.json"), "--platform", "deno", ...args],
    cwd: project,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno bundle failed (exit code ${code}): ${new TextDecoder().decode(stderr).trim()}`);
  }
}

async function _main(argv: string[]): Promise<number> {
  let out: string;
  try {
    out = parseArgs({ args: argv, strict: true, options: { out: { type: "string" } } }).values.out ??
      join(PROJECT, "dist/js");
  } catch (err) {
    console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  try {
    const files = await buildBundledForm({ project: PROJECT, outDir: out });
    console.log(
      `wrote ${files.length} files to ${out}; run: deno run -A --no-config ${join(out, BUNDLE_MAIN)}`,
    );
  } catch (err) {
    console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exitCode = await _main(Deno.args);
