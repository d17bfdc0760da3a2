import { dirname, join } from "node:path";
import { MAIN, TESTDATA } from "./helpers.ts";
import { waitFor } from "../lib/util/wait.ts";

/** The project's deno.json, which the wrapper hands to `deno run`. */
export const DENO_JSON = join(dirname(MAIN), "deno.json");

/** What one engine command produced. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Directory for the output files (a test's temp dir). */
  outDir: string;
  env?: Record<string, string>;
  cwd?: string;
  /** The command is killed (by its pid) and the test fails when it runs longer (default 60 s). */
  timeoutMs?: number;
}

/**
 * Finds `name` on PATH and returns its absolute path, or undefined when it is not installed.
 *
 * @example
 * ```ts
 * const podman = whichSync("podman");
 * ```
 */
export function whichSync(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (dir === "") continue;
    const path = join(dir, name);
    try {
      const info = Deno.statSync(path);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The reason to skip an engine test file, or undefined when every binary is installed. The reason is printed
 * once, so a skipped engine suite is visible in the output.
 *
 * @example
 * ```ts
 * const skip = missingEngine(["podman"]);
 * Deno.test({ name: "podman", ignore: skip !== undefined, fn: async () => {} });
 * ```
 */
export function missingEngine(binaries: string[]): string | undefined {
  const missing = binaries.filter((b) => whichSync(b) === undefined);
  if (missing.length === 0) return undefined;
  const reason = `${missing.join(", ")} not installed: skipping these engine tests (run .ci/install-engines)`;
  console.log(reason);
  return reason;
}

/**
 * Runs a program (argv array, no shell string) with stdout and stderr sent to files rather than pipes: engines
 * leave daemons (conmon, shims, the proxy) that would hold a pipe open. A command that outlives its deadline is
 * killed by its pid and reported.
 *
 * @example
 * ```ts
 * const r = await runCommand("podman", ["ps", "-a"], { outDir: dir });
 * ```
 * @throws {Error} when the command does not finish within the deadline.
 */
export async function runCommand(
  program: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const tag = crypto.randomUUID().slice(0, 8);
  const out = join(options.outDir, `cmd-${tag}.out`);
  const err = join(options.outDir, `cmd-${tag}.err`);
  const child = new Deno.Command("/bin/sh", {
    // A constant script that only redirects; every argument travels as its own argv entry.
    args: [
      "-c",
      'out=$1; err=$2; shift 2; exec "$@" >"$out" 2>"$err" </dev/null',
      "sh",
      out,
      err,
      program,
      ...args,
    ],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), timeoutMs)
  );
  const outcome = await Promise.race([child.status, timedOut]);
  clearTimeout(timer);
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  if (outcome === "timeout") {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // finished meanwhile
    }
    await child.status;
    throw new Error(
      `${program} ${args.join(" ")} did not finish within ${timeoutMs} ms\nstdout: ${await read(
        out,
      )}\nstderr: ${await read(
        err,
      )}`,
    );
  }
  return { code: outcome.code, stdout: await read(out), stderr: await read(err) };
}

/**
 * Like {@link runCommand}, but fails with the command's output unless it exits 0; returns its stdout.
 *
 * @example
 * ```ts
 * const id = (await mustRun("podman", ["run", "-d", "img"], { outDir: dir })).trim();
 * ```
 * @throws {Error} carrying the exit code, stdout and stderr.
 */
export async function mustRun(program: string, args: string[], options: RunOptions): Promise<string> {
  const r = await runCommand(program, args, options);
  if (r.code !== 0) {
    throw new Error(
      `${program} ${args.join(" ")} exited with ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }
  return r.stdout;
}

/** The Deno cache directory (`deno info --json` -> denoDir), which engines' stripped environment loses. */
export async function denoDir(): Promise<string> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error("deno info --json failed");
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

/** Options of {@link writeRuntimeWrapper}. */
export interface WrapperOptions {
  /** Directory the wrapper and its runtime.jsonc go to. */
  dir: string;
  /** The simulated host tree (the runtime's hostRoot). */
  hostRoot: string;
  /** The state directory (engines that pass --root override it). */
  root: string;
  /** Extra keys of runtime.jsonc (timings). */
  settings?: Record<string, number>;
}

/**
 * Writes `<dir>/runtime.jsonc` and an executable `<dir>/remoteproc-runtime` that runs the project's CLI with
 * that configuration. Engines exec it with a stripped environment, so it restores DENO_DIR and HOME itself.
 *
 * @example
 * ```ts
 * const runtime = await writeRuntimeWrapper({ dir, hostRoot: f.host, root: f.root });
 * ```
 */
export async function writeRuntimeWrapper(options: WrapperOptions): Promise<string> {
  const config = join(options.dir, "runtime.jsonc");
  await Deno.writeTextFile(
    config,
    JSON.stringify({ root: options.root, hostRoot: options.hostRoot, ...options.settings }, null, 2) + "\n",
  );
  const home = Deno.env.get("HOME") ?? "/root";
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = [
    "#!/bin/sh",
    "# Generated by tests/engine_helpers.ts: the runtime under test, as engines exec it.",
    `export DENO_DIR=${quote(await denoDir())}`,
    `export HOME=${quote(home)}`,
    "export DENO_NO_UPDATE_CHECK=1",
    `exec ${quote(Deno.execPath())} run -A --quiet --config ${quote(DENO_JSON)} ${quote(MAIN)} --config ${
      quote(config)
    } "$@"`,
    "",
  ].join("\n");
  const wrapper = join(options.dir, "remoteproc-runtime");
  await Deno.writeTextFile(wrapper, script, { mode: 0o755 });
  await Deno.chmod(wrapper, 0o755);
  return wrapper;
}

/** The firmware every engine image holds at its root. */
export const FIRMWARE = join(TESTDATA, "firmware/hello.elf");

/**
 * Writes `<dir>/rootfs.tar`: a tar holding testdata's hello.elf at its root (for `podman import`).
 *
 * @example
 * ```ts
 * const tar = await writeRootfsTar(dir);
 * ```
 */
export async function writeRootfsTar(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  await Deno.mkdir(rootfs, { recursive: true });
  await Deno.copyFile(FIRMWARE, join(rootfs, "hello.elf"));
  const tar = join(dir, "rootfs.tar");
  await mustRun("tar", ["--owner=0", "--group=0", "-C", rootfs, "-cf", tar, "hello.elf"], { outDir: dir });
  return tar;
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Writes `<dir>/image.tar`, an OCI image layout (oci-layout, index.json named `name` through the
 * io.containerd.image.name annotation, manifest, config, one plain tar layer holding hello.elf at the root
 * with ENTRYPOINT ["hello.elf"]), for `ctr images import`.
 *
 * @example
 * ```ts
 * const tar = await writeOciImageTar(dir, "localhost/hello-fw:test");
 * ```
 */
export async function writeOciImageTar(dir: string, name: string): Promise<string> {
  const layout = join(dir, "oci-layout-dir");
  const blobs = join(layout, "blobs/sha256");
  await Deno.mkdir(blobs, { recursive: true });
  const layerTar = await writeRootfsTar(dir);
  const encoder = new TextEncoder();
  const addBlob = async (data: Uint8Array<ArrayBuffer>, mediaType: string) => {
    const digest = await sha256(data);
    await Deno.writeFile(join(blobs, digest), data);
    return { mediaType, digest: `sha256:${digest}`, size: data.byteLength };
  };
  const layerBytes = await Deno.readFile(layerTar);
  const layer = await addBlob(layerBytes, "application/vnd.oci.image.layer.v1.tar");
  const config = await addBlob(
    encoder.encode(JSON.stringify({
      architecture: goArch(),
      os: "linux",
      config: { Entrypoint: ["hello.elf"], WorkingDir: "/" },
      rootfs: { type: "layers", diff_ids: [layer.digest] },
      history: [{ created_by: "tests/engine_helpers.ts" }],
    })),
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = await addBlob(
    encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [layer],
    })),
    "application/vnd.oci.image.manifest.v1+json",
  );
  await Deno.writeTextFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        ...manifest,
        platform: { architecture: goArch(), os: "linux" },
        annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": "test" },
      }],
    }),
  );
  const tar = join(dir, "image.tar");
  await mustRun("tar", [
    "--owner=0",
    "--group=0",
    "-C",
    layout,
    "-cf",
    tar,
    "oci-layout",
    "index.json",
    "blobs",
  ], {
    outDir: dir,
  });
  return tar;
}

function goArch(): string {
  const arch = Deno.build.arch;
  return arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
}

/**
 * Records whether global paths an engine creates by itself already exist, and removes those it created.
 *
 * @example
 * ```ts
 * const leftovers = globalLeftovers(["/run/containers"]);
 * // ... run podman ...
 * await leftovers.cleanup();
 * ```
 */
export function globalLeftovers(paths: string[]): { cleanup(): Promise<void> } {
  const existed = new Set(paths.filter((p) => {
    try {
      Deno.lstatSync(p);
      return true;
    } catch {
      return false;
    }
  }));
  return {
    async cleanup() {
      for (const p of paths) {
        if (!existed.has(p)) await Deno.remove(p, { recursive: true }).catch(() => {});
      }
    },
  };
}

/**
 * Polls until `check` returns true, with a deadline and a description for the failure message.
 *
 * @example
 * ```ts
 * await eventually(async () => (await sim.state("dsp0")) === "offline", "dsp0 offline");
 * ```
 * @throws {WaitTimeout} when the deadline passes first.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(async () => (await check()) || undefined, { timeoutMs, intervalMs: 20, what });
}
