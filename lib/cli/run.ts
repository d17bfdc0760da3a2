import { RuntimeError } from "../errors.ts";
import { runContainer } from "../runtime/run.ts";
import type { Command } from "./command.ts";

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
    bundle: {
      type: "string",
      short: "b",
      arg: "DIR",
      help: "bundle directory (default: the current directory)",
    },
    "pid-file": { type: "string", arg: "FILE", help: "write the proxy's pid to FILE" },
    detach: { type: "boolean", short: "d", help: "return once the firmware runs (always the case)" },
    "console-socket": { type: "string", arg: "PATH", help: "refused: a remote processor has no terminal" },
    "no-pivot": { type: "boolean", help: "no root file system is mounted", ignored: true },
    "no-new-keyring": { type: "boolean", help: "no session keyring is used", ignored: true },
    "preserve-fds": { type: "string", arg: "N", help: "no process inherits descriptors", ignored: true },
    "pidfd-socket": { type: "string", arg: "PATH", help: "no pidfd is handed out", ignored: true },
    keep: { type: "boolean", help: "the container is kept until delete anyway", ignored: true },
  },
  async run(args, ctx) {
    if (args.flags["console-socket"] !== undefined) {
      throw new RuntimeError(
        "unsupported",
        "a remote processor has no terminal, so --console-socket is not supported; run the container without -t/--tty",
      );
    }
    await runContainer(ctx, {
      id: args.positionals[0],
      bundle: (args.flags.bundle as string | undefined) ?? ".",
      pidFile: args.flags["pid-file"] as string | undefined,
    });
  },
};
