/**
 * remoteproc-runtime: an OCI container runtime for Linux remote processors.
 * @module
 */

/**
 * The modules main.ts loads, each through a computed specifier so a process reads and runs only what it needs
 * (a literal `import("...")` makes Deno read the whole graph behind it at start-up): the proxy loads only its
 * own modules. `deno compile` embeds them with --include (lib/dev/compile.ts).
 */
export const ENTRY_MODULES = ["lib/cli/early.ts", "lib/cli/main.ts", "lib/cli/proxy.ts"] as const;

function load<T>(path: typeof ENTRY_MODULES[number]): Promise<T> {
  return import(new URL(`./${path}`, import.meta.url).href);
}

if (import.meta.main) {
  if (Deno.args[0] === "proxy") {
    const { proxyMain } = await load<typeof import("./lib/cli/proxy.ts")>("lib/cli/proxy.ts");
    Deno.exit(await proxyMain(Deno.args.slice(1)));
  }
  // Started before the CLI's modules load: see lib/cli/early.ts. A cheap look at the arguments first, so
  // that no other command loads early.ts.
  const creates = Deno.args.includes("create") || Deno.args.includes("run");
  const proxy = creates
    ? (await load<typeof import("./lib/cli/early.ts")>("lib/cli/early.ts")).earlyProxy(Deno.args)
    : undefined;
  const { runCli } = await load<typeof import("./lib/cli/main.ts")>("lib/cli/main.ts");
  const code = await runCli(Deno.args, undefined, proxy);
  // A create that failed before it took the proxy over leaves it to be ended here; one it kept is released.
  await proxy?.kill();
  Deno.exit(code);
}
