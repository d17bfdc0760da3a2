/**
 * remoteproc-runtime: an OCI container runtime for Linux remote processors.
 * @module
 */
import { runCli } from "./lib/cli/main.ts";

if (import.meta.main) Deno.exit(await runCli(Deno.args));
