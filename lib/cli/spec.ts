import { resolve } from "../util/path.ts";
import { writeSpecTemplate } from "../runtime/spec.ts";
import { BUNDLE_FLAG, type Command } from "./command.ts";

/** `spec [--bundle DIR]`. */
export const specCommand: Command = {
  name: "spec",
  summary:
    "Write a template config.json for a firmware bundle (firmware rootfs/firmware.elf, remoteproc.name " +
    "CHANGE-ME) into the bundle directory; an existing config.json is never overwritten.",
  synopsis: "[--bundle DIR]",
  example: "remoteproc-runtime spec --bundle ./blink",
  arity: [0, 0],
  flags: {
    bundle: BUNDLE_FLAG,
    rootless: { type: "boolean", help: "a template for a non-root user is the same", ignored: true },
  },
  needsContext: false,
  async run(args) {
    await writeSpecTemplate(resolve(Deno.cwd(), (args.flags.bundle as string | undefined) ?? "."));
  },
};
