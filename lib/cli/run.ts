import { runContainer } from "../runtime/run.ts";
import type { Command } from "./command.ts";
import { createCommand, createOptions } from "./create.ts";

/** `run [--bundle DIR] [--pid-file FILE] [--detach] ID`. */
export const runCommand: Command = {
  name: "run",
  summary:
    "Create and start a container in one step; returns once the firmware runs (always detached: the proxy " +
    "keeps watching the processor; stop it with kill). If the start fails, the container is deleted again.",
  synopsis: "[--bundle DIR] [--pid-file FILE] [--detach] ID",
  example: "remoteproc-runtime run --bundle /var/lib/bundles/blink -d blink",
  arity: [1, 1],
  flags: {
    ...createCommand.flags,
    detach: { type: "boolean", short: "d", help: "return once the firmware runs (always the case)" },
    keep: { type: "boolean", help: "the container is kept until delete anyway", ignored: true },
  },
  async run(args, ctx) {
    await runContainer(ctx, createOptions(args));
  },
};
