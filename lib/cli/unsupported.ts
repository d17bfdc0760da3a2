import { RuntimeError } from "../errors.ts";
import type { Command } from "./command.ts";

/** Why each runc command that makes no sense for a remote processor is refused. */
export const UNSUPPORTED_REASONS = {
  exec: "a remote processor runs exactly one firmware image and no Linux processes; " +
    "create another container on a free processor instead",
  pause: "a remote processor cannot be frozen; stop it with kill",
  resume: "a remote processor is never paused; start a created container with start",
  update: "a remote processor has no cgroup resources to change; delete the container and create it again",
  checkpoint: "the memory of a remote processor cannot be saved from Linux; stop it with kill",
  restore: "there are no checkpoints of remote processors; create the container from its bundle",
  events: "the runtime has no event stream or statistics for a remote processor; poll state ID instead",
} as const;

/** A command name from {@link UNSUPPORTED_REASONS}. */
export type UnsupportedName = keyof typeof UNSUPPORTED_REASONS;

/**
 * A command that accepts any arguments and fails with one line saying why a remote processor cannot do it.
 * It reads no settings and touches no state.
 *
 * @example
 * ```ts
 * await unsupportedCommand("pause").run({ flags: {}, positionals: ["fw1"] }, ctx, io); // throws
 * ```
 */
export function unsupportedCommand(name: UnsupportedName): Command {
  const reason = UNSUPPORTED_REASONS[name];
  return {
    name,
    summary: `Not supported: ${reason}.`,
    synopsis: "[any arguments]",
    example: `remoteproc-runtime ${name} ID   # fails: ${name} is not supported`,
    arity: [0, Infinity],
    flags: {},
    rawArgs: true,
    needsContext: false,
    run() {
      return Promise.reject(new RuntimeError("unsupported", `${name} is not supported: ${reason}`));
    },
  };
}
