import { containerPids } from "../runtime/ps.ts";
import type { Command } from "./command.ts";
import { FORMAT_FLAG, outputFormat } from "./format_flag.ts";

/** `ps [--format table|json] ID`. */
export const psCommand: Command = {
  name: "ps",
  summary:
    "Print the pids of a container's processes: its proxy while it runs (the firmware runs on the remote " +
    "processor, not as a Linux process), none once it is stopped.",
  synopsis: "[--format table|json] ID",
  example: "remoteproc-runtime ps --format json blink",
  arity: [1, 1],
  rootOnly: true,
  flags: { format: FORMAT_FLAG },
  run(args, ctx, io) {
    const format = outputFormat(args.flags.format, "ps");
    const pids = containerPids(ctx, args.positionals[0]);
    io.out(format === "json" ? JSON.stringify(pids) : ["PID", ...pids.map(String)].join("\n"));
  },
};
