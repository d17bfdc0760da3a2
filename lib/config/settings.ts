import { isAbsolute, resolve } from "../util/path.ts";
import { pathListed } from "../util/fs.ts";
import { trimTrailingSlashes } from "../util/text.ts";
import { fsError, RuntimeError } from "../errors.ts";
import type { Timings } from "../store/record.ts";

/** Where the configuration file is looked for when --config is not given. */
export const DEFAULT_CONFIG_PATH = "/etc/remoteproc-runtime/config.jsonc";

/** Default timings, in milliseconds. */
export const DEFAULT_TIMINGS: Timings = {
  startTimeoutMs: 10_000,
  stopTimeoutMs: 10_000,
  readyTimeoutMs: 10_000,
  pollIntervalMs: 125,
  recoveryGraceMs: 2_000,
};

/** The settings every operation works with. */
export interface Settings {
  /** State directory. */
  root: string;
  /** Prefix of every host path (sysfs, /lib/firmware). */
  hostRoot: string;
  timings: Timings;
}

/** What the command line said; undefined means "not given". */
export interface SettingFlags {
  root?: string;
  hostRoot?: string;
  config?: string;
}

/** The parts of the environment that defaults depend on. */
export interface SettingEnv {
  uid: number | null;
  xdgRuntimeDir: string | undefined;
  cwd: string;
}

const TIMING_KEYS = Object.keys(DEFAULT_TIMINGS) as (keyof Timings)[];
const CONFIG_KEYS = ["root", "hostRoot", ...TIMING_KEYS];

/**
 * The default state directory: /run/remoteproc-runtime for root; `$XDG_RUNTIME_DIR/remoteproc-runtime` for
 * others when that is set and not empty; else /tmp/remoteproc-runtime-UID.
 *
 * @example
 * ```ts
 * defaultStateRoot({ uid: 0, xdgRuntimeDir: "", cwd: "/" }); // "/run/remoteproc-runtime"
 * ```
 */
export function defaultStateRoot(env: SettingEnv): string {
  if (env.uid === 0) return "/run/remoteproc-runtime";
  if (env.xdgRuntimeDir) return `${trimTrailingSlashes(env.xdgRuntimeDir)}/remoteproc-runtime`;
  return `/tmp/remoteproc-runtime-${env.uid ?? "user"}`;
}

/**
 * Resolves the settings: a flag wins over the configuration file, which wins over the default.
 *
 * @example
 * ```ts
 * const settings = await resolveSettings({ root: "/tmp/r" }, { uid: 0, xdgRuntimeDir: "", cwd: "/" });
 * ```
 * @throws {RuntimeError} "invalid-config" for a malformed configuration file, naming file, line and column.
 */
export async function resolveSettings(flags: SettingFlags, env: SettingEnv): Promise<Settings> {
  const file = await loadConfigFile(flags.config ?? DEFAULT_CONFIG_PATH, flags.config !== undefined);
  const pick = (flag: string | undefined, key: "root" | "hostRoot", fallback: string) =>
    absoluteIn(env.cwd, flag ?? (file[key] as string | undefined) ?? fallback);
  const root = checkedStateRoot(pick(flags.root, "root", defaultStateRoot(env)));
  const timings = { ...DEFAULT_TIMINGS };
  for (const key of TIMING_KEYS) {
    if (file[key] !== undefined) timings[key] = file[key] as number;
  }
  return { root, hostRoot: pick(flags.hostRoot, "hostRoot", "/"), timings };
}

/**
 * The state root given on the command line as `--root`, for the commands that need no other setting (see
 * `rootOnly` in lib/cli/command.ts): no configuration file is read, since a flag wins over it.
 *
 * @example
 * ```ts
 * stateRootFromFlag("state", "/home/me"); // "/home/me/state"
 * ```
 * @throws {RuntimeError} "usage" for the root directory /.
 */
export function stateRootFromFlag(root: string, cwd: string): string {
  return checkedStateRoot(absoluteIn(cwd, root));
}

function absoluteIn(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function checkedStateRoot(root: string): string {
  if (resolve(root) === "/") {
    throw new RuntimeError("usage", "the state directory cannot be / ; choose another with --root");
  }
  return root;
}

async function loadConfigFile(path: string, required: boolean): Promise<Record<string, unknown>> {
  // The default file sits under /etc, which exists: listing / too would cost every command 0.4 ms more.
  if (!required && !pathListed(path, path === DEFAULT_CONFIG_PATH ? "/etc" : "/")) return {};
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (!required && err instanceof Deno.errors.NotFound) return {};
    throw fsError(err, "read configuration file", path, required ? "check the --config path" : "");
  }
  return await parseConfigText(text, path);
}

/** The module {@link loadJsonc} loads, which `deno compile` must be told to embed (lib/dev/compile.ts). */
export const JSONC_MODULE = "lib/config/jsonc.ts";

/**
 * Loads the JSONC parser. The specifier is computed on purpose: a literal `import("...")` makes Deno resolve
 * the module and the npm package behind it whenever this module loads, that is for every command (about
 * 1.5 ms), though only configuration files and an OCI bundle's config.json with a syntax error are
 * parsed with it.
 *
 * @example
 * ```ts
 * const { parseJsonc } = await loadJsonc();
 * ```
 */
export function loadJsonc(): Promise<typeof import("./jsonc.ts")> {
  // In the bundled form (lib/dev/bundle.ts) this code runs from a .js file, and the parser is jsonc.js.
  const file = import.meta.url.endsWith(".js") ? "./jsonc.js" : "./jsonc.ts";
  return import(import.meta.resolve(file));
}

/**
 * Parses and checks the JSONC text of a configuration file.
 *
 * @example
 * ```ts
 * await parseConfigText('{ "pollIntervalMs": 20 } // fast', "config.jsonc");
 * ```
 * @throws {RuntimeError} "invalid-config" naming file, line and column, or the key and what it must be.
 */
export async function parseConfigText(text: string, path: string): Promise<Record<string, unknown>> {
  const { parseJsonc } = await loadJsonc();
  const { value: doc, problem } = parseJsonc(text, false);
  if (problem) {
    throw new RuntimeError(
      "invalid-config",
      `configuration file ${path}: ${problem.where}: ${problem.reason}`,
    );
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new RuntimeError("invalid-config", `configuration file ${path}: the top level must be an object`);
  }
  const values = doc as Record<string, unknown>;
  for (const [key, value] of Object.entries(values)) {
    if (!CONFIG_KEYS.includes(key)) {
      throw new RuntimeError(
        "invalid-config",
        `configuration file ${path}: unknown key "${key}"; accepted keys: ${CONFIG_KEYS.join(", ")}`,
      );
    }
    if (key === "root" || key === "hostRoot") {
      if (typeof value !== "string" || value === "") {
        throw new RuntimeError(
          "invalid-config",
          `configuration file ${path}: "${key}" must be a non-empty path`,
        );
      }
    } else if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 3_600_000) {
      throw new RuntimeError(
        "invalid-config",
        `configuration file ${path}: "${key}" must be a whole number of milliseconds from 1 to 3600000`,
      );
    }
  }
  return values;
}
