import { containerState } from "../runtime/state.ts";
import type { Command } from "./command.ts";

/** `state ID`. */
export const stateCommand: Command = {
  name: "state",
  summary: "Print the OCI state of a container as JSON, derived from the proxy and the processor right now.",
  synopsis: "ID",
  example: "remoteproc-runtime state blink",
  arity: [1, 1],
  rootOnly: true,
  flags: {},
  run(args, ctx, io) {
    io.out(JSON.stringify(containerState(ctx, args.positionals[0]), null, 2));
  },
};
