import { RuntimeError } from "../errors.ts";
import { createContainer, type CreateOptions } from "../runtime/create.ts";
import { BUNDLE_FLAG, type Command, type ParsedArgs } from "./command.ts";

/** `create [--bundle DIR] [--pid-file FILE] ID`. */
export const createCommand: Command = {
  name: "create",
  summary:
    "Create a container from an OCI bundle: find the processor named by the remoteproc.name annotation, claim it, " +
    "copy the firmware (process.args[0] in the rootfs) into the firmware directory and start a proxy that waits for start.",
  synopsis: "[--bundle DIR] [--pid-file FILE] ID",
  example: "remoteproc-runtime create --bundle /var/lib/bundles/blink --pid-file /run/blink.pid blink",
  arity: [1, 1],
  flags: {
    bundle: BUNDLE_FLAG,
    "pid-file": { type: "string", arg: "FILE", help: "write the proxy's pid to FILE" },
    "console-socket": { type: "string", arg: "PATH", help: "refused: a remote processor has no terminal" },
    "no-pivot": { type: "boolean", help: "no root file system is mounted", ignored: true },
    "no-new-keyring": { type: "boolean", help: "no session keyring is used", ignored: true },
    "preserve-fds": { type: "string", arg: "N", help: "no process inherits descriptors", ignored: true },
    "pidfd-socket": { type: "string", arg: "PATH", help: "no pidfd is handed out", ignored: true },
  },
  async run(args, ctx) {
    await createContainer(ctx, createOptions(args));
  },
};

/**
 * The create options from parsed `create`/`run` arguments, refusing a console socket (there is no terminal).
 *
 * @example
 * ```ts
 * createOptions({ flags: { bundle: "/b" }, positionals: ["fw1"] }); // { id: "fw1", bundle: "/b", pidFile: undefined }
 * ```
 * @throws {RuntimeError} "unsupported" for --console-socket.
 */
export function createOptions(args: ParsedArgs): CreateOptions {
  if (args.flags["console-socket"] !== undefined) {
    throw new RuntimeError(
      "unsupported",
      "a remote processor has no terminal, so --console-socket is not supported; run the container without -t/--tty",
    );
  }
  return {
    id: args.positionals[0],
    bundle: (args.flags.bundle as string | undefined) ?? ".",
    pidFile: args.flags["pid-file"] as string | undefined,
  };
}
