import { RuntimeError } from "../errors.ts";
import type { ProcessIdentity } from "../process/proc.ts";
import { runProxy } from "../proxy/driver.ts";
import type { Command } from "./command.ts";
import { ProxyExit } from "./proxy_exit.ts";

/** The hidden `proxy DIR CREATOR` mode: the container's process, started by create (CREATOR: its PID:START). */
export const proxyCommand: Command = {
  name: "proxy",
  summary: "Internal: the process that boots, watches and stops a container's processor. Started by create.",
  synopsis: "STATE-DIR CREATOR-PID:START-TIME",
  example: "(started by create; not for direct use)",
  arity: [2, 2],
  flags: {},
  needsContext: false,
  async run(args, _ctx, io) {
    const [dir, creator] = args.positionals;
    const code = await runProxy(dir, parseCreator(creator), io.out);
    if (code !== 0) throw new ProxyExit(code);
  },
};

/** Parses the "PID:START-TIME" argument create passes. */
function parseCreator(text: string): ProcessIdentity {
  const match = /^([1-9]\d*):(\d+)$/.exec(text);
  if (!match) {
    throw new RuntimeError(
      "usage",
      `proxy: expected the creator as PID:START-TIME, got ${JSON.stringify(text)}`,
    );
  }
  return { pid: Number(match[1]), startTime: match[2] };
}
