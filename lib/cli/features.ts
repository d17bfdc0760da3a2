import { runtimeFeatures } from "../runtime/features.ts";
import type { Command } from "./command.ts";

/** `features`. */
export const featuresCommand: Command = {
  name: "features",
  summary:
    "Print the OCI features document: the supported OCI versions, no hooks, mount options, namespaces or " +
    "capabilities, and the annotations this runtime reads and writes.",
  synopsis: "",
  example: "remoteproc-runtime features",
  arity: [0, 0],
  flags: {},
  needsContext: false,
  run(_args, _ctx, io) {
    io.out(JSON.stringify(runtimeFeatures(), null, 2));
    return Promise.resolve();
  },
};
