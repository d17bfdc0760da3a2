import type { Settings } from "../config/settings.ts";
import type { SelfCommand } from "../process/self_exec.ts";
import type { SpawnedChild } from "../process/spawn.ts";

/**
 * What every operation works with, built once by the CLI: the settings (state root, host root, timings) and
 * how to re-execute this program as a proxy. No operation reads globals or fixed paths.
 */
export interface RuntimeContext extends Settings {
  self: SelfCommand;
  /** Working directory that relative paths (bundle, pid file) are taken from. */
  cwd: string;
  /** A proxy already started for this create (main.ts starts it first thing); create starts one if absent. */
  proxy?: SpawnedChild;
}
