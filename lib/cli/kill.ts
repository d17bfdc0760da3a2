import { killContainer } from "../runtime/kill.ts";
import type { Command } from "./command.ts";

/** `kill [--all] ID [SIGNAL]`. */
export const killCommand: Command = {
  name: "kill",
  summary:
    "Send a signal to a container: TERM or INT (default TERM) stop the processor gracefully through the proxy, " +
    "KILL kills the proxy and stops the processor at once. Returns once the processor is stopped.",
  synopsis: "[--all] ID [SIGNAL]",
  example: "remoteproc-runtime kill blink KILL",
  arity: [1, 2],
  rootOnly: true,
  flags: {
    all: {
      type: "boolean",
      short: "a",
      help: "signal all processes of the container (there is only the proxy)",
    },
  },
  run(args, ctx) {
    killContainer(ctx, args.positionals[0], args.positionals[1] ?? "SIGTERM");
  },
};
