import { runProxy } from "../proxy/driver.ts";
import type { Command } from "./command.ts";
import { ProxyExit } from "./proxy_exit.ts";

/** The hidden `proxy DIR` mode: the container's process, started by create. */
export const proxyCommand: Command = {
  name: "proxy",
  summary: "Internal: the process that boots, watches and stops a container's processor. Started by create.",
  synopsis: "STATE-DIR",
  example: "(started by create; not for direct use)",
  arity: [1, 1],
  flags: {},
  needsContext: false,
  async run(args, _ctx, io) {
    const code = await runProxy(args.positionals[0], io.out);
    if (code !== 0) throw new ProxyExit(code);
  },
};
