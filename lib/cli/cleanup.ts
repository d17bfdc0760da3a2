import { cleanupOrphans } from "../runtime/cleanup.ts";
import type { Command } from "./command.ts";

/** `cleanup`: remove firmware copies orphaned by crashes. */
export const cleanupCommand: Command = {
  name: "cleanup",
  summary:
    "Remove stored firmware copies this runtime made whose container no longer exists (left behind when a " +
    "create or delete was killed midway). Copies of live containers and files the runtime did not make stay.",
  synopsis: "",
  example: "remoteproc-runtime cleanup",
  arity: [0, 0],
  flags: {},
  run(_args, ctx, io) {
    const report = cleanupOrphans(ctx);
    for (const path of report.removed) io.out(`removed ${path}`);
  },
};
