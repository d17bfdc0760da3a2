import { deleteContainer } from "../runtime/delete.ts";
import type { Command } from "./command.ts";

/** `delete [--force] ID`. */
export const deleteCommand: Command = {
  name: "delete",
  summary:
    "Delete a container: end its proxy, stop the processor if it still runs this container's firmware, remove " +
    "the firmware copy and release the processor. A running container needs --force; with --force an unknown id is not an error.",
  synopsis: "[--force] ID",
  example: "remoteproc-runtime delete --force blink",
  arity: [1, 1],
  rootOnly: true,
  flags: {
    force: { type: "boolean", short: "f", help: "stop a running container first; succeed for an unknown id" },
  },
  run(args, ctx) {
    deleteContainer(ctx, args.positionals[0], { force: args.flags.force === true });
  },
};
