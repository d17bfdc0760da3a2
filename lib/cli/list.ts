import { listContainers } from "../runtime/list.ts";
import type { OciState } from "../runtime/state.ts";
import type { Command } from "./command.ts";
import { FORMAT_FLAG, outputFormat } from "./format_flag.ts";
import { formatTable } from "./table.ts";

/**
 * The `list` table: runc's columns ID PID STATUS BUNDLE CREATED OWNER.
 *
 * @example
 * ```ts
 * console.log(listTable(listContainers(ctx)));
 * ```
 */
export function listTable(states: OciState[]): string {
  return formatTable(
    ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
    states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]),
  );
}

/** `list [--format table|json] [--quiet]`. */
export const listCommand: Command = {
  name: "list",
  summary:
    "List the containers under the state root: a table (runc's columns), their OCI states as a JSON array, " +
    "or only their ids. A container whose record is unreadable is listed as stopped.",
  synopsis: "[--format table|json] [--quiet]",
  example: "remoteproc-runtime list --format json",
  arity: [0, 0],
  rootOnly: true,
  flags: {
    format: FORMAT_FLAG,
    quiet: { type: "boolean", short: "q", help: "print only the container ids" },
  },
  run(args, ctx, io) {
    const format = outputFormat(args.flags.format, "list");
    const states = listContainers(ctx);
    if (args.flags.quiet === true) {
      if (states.length > 0) io.out(states.map((s) => s.id).join("\n"));
    } else if (format === "json") io.out(JSON.stringify(states, null, 2));
    else io.out(listTable(states));
  },
};
