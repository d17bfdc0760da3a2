import { startContainer } from "../runtime/start.ts";
import type { Command } from "./command.ts";

/** `start ID`. */
export const startCommand: Command = {
  name: "start",
  summary: "Boot the firmware of a created container; returns once the processor runs.",
  synopsis: "ID",
  example: "remoteproc-runtime start blink",
  arity: [1, 1],
  rootOnly: true,
  flags: {},
  run(args, ctx) {
    startContainer(ctx, args.positionals[0]);
  },
};
