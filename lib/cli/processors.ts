import { type ProcessorStatus, processorStatuses } from "../runtime/processors.ts";
import type { Command } from "./command.ts";
import { FORMAT_FLAG, outputFormat } from "./format_flag.ts";
import { formatTable } from "./table.ts";

/**
 * The `processors` table: INDEX NAME STATE FIRMWARE HOLDER PATH, with `-` for what is unknown or free.
 *
 * @example
 * ```ts
 * console.log(processorsTable(processorStatuses(ctx)));
 * ```
 */
export function processorsTable(processors: ProcessorStatus[]): string {
  return formatTable(
    ["INDEX", "NAME", "STATE", "FIRMWARE", "HOLDER", "PATH"],
    processors.map((p) => [
      String(p.index),
      p.name,
      p.state ?? "-",
      p.firmware ?? "-",
      p.holder ?? "-",
      p.path,
    ]),
  );
}

/** `processors [--format table|json]`. */
export const processorsCommand: Command = {
  name: "processors",
  summary:
    "List the remote processors found under the host root: index, name (the value for the remoteproc.name " +
    "annotation), state, firmware, the container holding it, and its sysfs directory.",
  synopsis: "[--format table|json]",
  example: "remoteproc-runtime processors",
  arity: [0, 0],
  flags: { format: FORMAT_FLAG },
  run(args, ctx, io) {
    const format = outputFormat(args.flags.format, "processors");
    const processors = processorStatuses(ctx);
    io.out(format === "json" ? JSON.stringify(processors, null, 2) : processorsTable(processors));
  },
};
