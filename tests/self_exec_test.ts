import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  currentSelfExecInfo,
  PROXY_PERMISSIONS,
  PROXY_V8_FLAGS,
  selfCommand,
} from "../lib/process/self_exec.ts";
import { COMMAND_MODULES } from "../lib/cli/main.ts";
import { ENTRY_MODULES } from "../main.ts";
import { JSONC_MODULE } from "../lib/config/settings.ts";
import {
  buildCompileInput,
  COMPILE_TARGETS,
  compileArgs,
  compiledSettingsProblems,
  embeddedMetadata,
} from "../lib/dev/compile.ts";
import { BUNDLE_MAIN, bundleFileNames } from "../lib/dev/bundle.ts";

const PROJECT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("selfCommand: a compiled file runs itself, with no arguments of its own", () => {
  const self = selfCommand({
    standalone: true,
    execPath: "/usr/bin/remoteproc-runtime",
    mainModule: "file:///tmp/deno-compile-remoteproc-runtime/main.ts",
  });
  // Anything before the runtime's own arguments would be read as a global flag or a command by the file.
  assert.deepEqual(self, {
    command: "/usr/bin/remoteproc-runtime",
    args: [],
    env: { MALLOC_ARENA_MAX: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
});

Deno.test("selfCommand: under deno run it runs deno with the permissions, V8 flags, no config and main.ts", () => {
  const main = "/opt/remoteproc runtime/main.ts";
  const self = selfCommand({
    standalone: false,
    execPath: "/usr/local/bin/deno",
    mainModule: pathToFileURL(main).href,
  });
  assert.equal(self.command, "/usr/local/bin/deno");
  assert.deepEqual(self.args, [
    "run",
    "--quiet",
    "--no-prompt",
    ...PROXY_PERMISSIONS,
    `--v8-flags=${PROXY_V8_FLAGS}`,
    "--no-config",
    "/opt/remoteproc runtime/main.ts",
  ]);
  // The script comes last: whatever follows it ("proxy", the container directory) is the runtime's.
  assert.equal(self.args.at(-1), main);
  // One malloc arena, and no question to dl.deno.land from a long-lived root process.
  assert.deepEqual(self.env, { MALLOC_ARENA_MAX: "1", DENO_NO_UPDATE_CHECK: "1" });
});

Deno.test("selfCommand: under deno run the proxy gets --allow-all, the only set that reaches /proc and /sys", () => {
  const { args } = selfCommand({ standalone: false, execPath: "deno", mainModule: "file:///p/main.ts" });
  assert.ok(args.includes("--allow-all"));
  // Any --deny-* flag makes Deno refuse /proc/PID and /sys ("Requires all access"): see PROXY_PERMISSIONS.
  assert.deepEqual(args.filter((a) => a.startsWith("--deny")), []);
  assert.equal(args.filter((a) => a.startsWith("--v8-flags=")).length, 1);
});

Deno.test("selfCommand: the path of a file: main module, whatever characters it holds", () => {
  for (
    const main of ["/opt/a#b?c%d/main.ts", "/srv/ünï cödé/100%/main.js", "/p/%41/main.ts", "/x;y=z/main.ts"]
  ) {
    const self = selfCommand({ standalone: false, execPath: "deno", mainModule: pathToFileURL(main).href });
    assert.equal(self.args.at(-1), main);
  }
});

Deno.test("selfCommand: a main module that is not a file is passed as is", () => {
  const url = "https://example.com/remoteproc-runtime/main.ts";
  const self = selfCommand({ standalone: false, execPath: "/usr/bin/deno", mainModule: url });
  assert.equal(self.command, "/usr/bin/deno");
  assert.equal(self.args.at(-1), url);
  assert.ok(self.args.includes(`--v8-flags=${PROXY_V8_FLAGS}`));
});

Deno.test("selfCommand: V8 flags are one comma-separated value that deno accepts", async () => {
  assert.doesNotMatch(PROXY_V8_FLAGS, /\s/);
  for (const flag of PROXY_V8_FLAGS.split(",")) assert.match(flag, /^--[a-z][a-z0-9-]*(=\d+)?$/);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=${PROXY_V8_FLAGS}`, "1"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});

Deno.test("currentSelfExecInfo: under deno test it describes deno running a file, not a compiled file", () => {
  const info = currentSelfExecInfo();
  assert.equal(info.standalone, false);
  assert.equal(info.execPath, Deno.execPath());
  assert.ok(info.mainModule.startsWith("file:"));
});

Deno.test("selfCommand: the deno run command it builds really starts the runtime", async () => {
  const self = selfCommand({
    standalone: false,
    execPath: Deno.execPath(),
    mainModule: pathToFileURL(join(PROJECT, "main.ts")).href,
  });
  const { code, stdout, stderr } = await new Deno.Command(self.command, {
    args: [...self.args, "--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const version = JSON.parse(await Deno.readTextFile(join(PROJECT, "deno.json"))).version;
  assert.match(new TextDecoder().decode(stdout), new RegExp(`version ${version.replaceAll(".", "\\.")}`));
});

Deno.test("deno compile builds the bundled form, embedding each of its files, which hold every module imported through a computed specifier", async () => {
  const args = compileArgs(COMPILE_TARGETS[0], "/b");
  assert.equal(args.at(-1), `/b/${BUNDLE_MAIN}`, "the entry is the bundled form's main file");
  assert.ok(args.includes("--no-config"), "nothing outside the bundled files is read");
  const included = args.flatMap((arg, i) => args[i - 1] === "--include" ? [arg] : []);
  assert.deepEqual(
    included,
    bundleFileNames().filter((name) => name !== BUNDLE_MAIN).map((name) => `/b/${name}`),
  );
  // The bundled form holds a file for each of main.ts's computed imports, each command module (in cli.js) and
  // the JSONC parser (tests/bundle_test.ts); the lists it is built from are checked against the sources below.
  const main = await Deno.readTextFile(new URL("../main.ts", import.meta.url));
  const entries = [...main.matchAll(/load<typeof import\("\.\/([\w/]+\.ts)"\)>\("([\w/]+\.ts)"[,)]/g)];
  assert.equal(entries.length, ENTRY_MODULES.length);
  for (const [, typed, path] of entries) {
    assert.equal(typed, path, "the type and the module loaded are the same file");
    assert.ok((ENTRY_MODULES as readonly string[]).includes(path), `${path} is listed for deno compile`);
  }
  // Each is a real command module, and every command module of lib/cli is listed.
  const root = new URL("../", import.meta.url);
  for (const path of [...ENTRY_MODULES, JSONC_MODULE]) {
    assert.ok((await Deno.stat(new URL(path, root))).isFile, path);
  }
  for (const name of COMMAND_MODULES) {
    assert.ok((await Deno.stat(new URL(`lib/cli/${name}.ts`, root))).isFile, name);
  }
  const source = await Deno.readTextFile(new URL("lib/cli/main.ts", root));
  const loaded = [...source.matchAll(/get<typeof import\("\.\/(\w+)\.ts"\)>\("(\w+)"\)/g)];
  assert.ok(loaded.length >= COMMAND_MODULES.length - 1, `found ${loaded.length} loads`);
  for (const [, typed, name] of loaded) {
    assert.equal(typed, name, "the type and the module loaded are the same file");
    assert.ok((COMMAND_MODULES as readonly string[]).includes(name), `${name} is listed for deno compile`);
  }
  // The JSONC parser's loader imports the module listed, and it is the only computed import in settings.ts.
  const settings = await Deno.readTextFile(new URL("lib/config/settings.ts", root));
  const jsonc = [...settings.matchAll(/\? "\.\/(\w+)\.js" : "\.\/([\w.]+)"/g)];
  assert.deepEqual(jsonc.map(([, , file]) => `lib/config/${file}`), [JSONC_MODULE]);
  // No module names the npm package in a literal dynamic import, which would resolve it at start-up.
  for (const path of ["lib/config/settings.ts", "lib/oci/spec.ts"]) {
    assert.doesNotMatch(await Deno.readTextFile(new URL(path, root)), /import\("jsonc-parser"\)/, path);
  }
});

Deno.test("deno compile accepts the release's arguments and embeds every file of the bundled form", async () => {
  // The Deno runtime a compiled file is made of (denort) cannot be downloaded here: DENORT_BIN makes deno compile
  // use this deno instead. The file it writes cannot run the program, but what it embeds is what a release holds.
  const target = COMPILE_TARGETS.find((t) => t.arch === Deno.build.arch);
  assert.ok(target, `a release target for ${Deno.build.arch}`);
  const dir = await Deno.makeTempDir({ prefix: "rproc-test-compile-" });
  try {
    const bundle = join(dir, "js");
    await buildCompileInput(PROJECT, bundle);
    // Its functions are left to V8's lazy compilation, unlike the bundled form's (tests/bundle_test.ts).
    const kill = await Deno.readTextFile(join(bundle, "cli-kill.js"));
    assert.ok(kill.split("\n").filter((line) => line.startsWith("function ")).length > 20);
    const output = join(dir, "remoteproc-runtime");
    // Without --quiet, deno compile lists the files it embedded.
    const args = compileArgs(target, bundle)
      .filter((arg) => arg !== "--quiet")
      .map((arg, i, all) => all[i - 1] === "--output" ? output : arg);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: PROJECT,
      env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    const listing = new TextDecoder().decode(stderr);
    assert.equal(code, 0, listing);
    assert.match(listing, /Embedded Files/);
    for (const name of bundleFileNames()) {
      assert.ok(listing.includes(` ${name} (`), `${name} is embedded:\n${listing}`);
    }
    // The settings the file's runtime starts with: the proxy's V8 flag, all permissions, the bundled form's main.
    const metadata = embeddedMetadata(await Deno.readFile(output));
    assert.deepEqual(compiledSettingsProblems(metadata), []);
    for (const flag of PROXY_V8_FLAGS.split(",")) {
      assert.ok((metadata?.v8_flags as string[]).includes(flag), JSON.stringify(metadata?.v8_flags));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The marker, a little-endian u64 length and the text: how deno compile's data section begins. */
function section(text: string, length = text.length): Uint8Array {
  const size = new Uint8Array(8);
  new DataView(size.buffer).setBigUint64(0, BigInt(length), true);
  const encode = (part: string) => new TextEncoder().encode(part);
  return new Uint8Array([...encode("d3n0l4nd"), ...size, ...encode(text)]);
}

/**
 * A stand-in for a compiled file: runtime code holding the marker twice (once with what looks like a section
 * but is no JSON), then the data section, then more data.
 */
function fakeCompiled(metadata: unknown): Uint8Array {
  const encode = (part: string) => new TextEncoder().encode(part);
  return new Uint8Array([
    ...encode("\x7fELF code d3n0l4nd more code"),
    ...section("{oops"),
    ...section(JSON.stringify(metadata)),
    ...encode("npm snapshot..."),
  ]);
}

Deno.test("embeddedMetadata finds deno compile's metadata past other occurrences of its marker", () => {
  const metadata = { v8_flags: ["--stack-size=1024", "--max-semi-space-size=1"], entrypoint_key: "x.js" };
  assert.deepEqual(embeddedMetadata(fakeCompiled(metadata)), metadata);
  assert.equal(embeddedMetadata(new TextEncoder().encode("d3n0l4nd")), undefined, "a marker at the very end");
  assert.equal(embeddedMetadata(new TextEncoder().encode("no marker at all")), undefined);
  // A length running past the end of the file, or JSON that is not an object, is no metadata.
  assert.equal(embeddedMetadata(section(JSON.stringify(metadata), 10_000)), undefined);
  assert.equal(embeddedMetadata(section("{}").subarray(0, 17)), undefined);
  assert.equal(embeddedMetadata(section("[1]")), undefined);
});

Deno.test("compiledSettingsProblems names each setting the compiled file lacks", () => {
  const good = {
    v8_flags: ["UNUSED_BUT_NECESSARY_ARG0", "--stack-size=1024", PROXY_V8_FLAGS],
    entrypoint_key: BUNDLE_MAIN,
    permissions: { allow_read: [], allow_write: [], allow_net: [], allow_ffi: [], prompt: true },
  };
  assert.deepEqual(compiledSettingsProblems(good), []);
  assert.deepEqual(compiledSettingsProblems(undefined), ["no deno compile metadata found in the file"]);
  const problems = compiledSettingsProblems({
    ...good,
    v8_flags: ["--stack-size=1024"],
    entrypoint_key: "main.ts",
    permissions: { ...good.permissions, allow_ffi: null, allow_read: ["/sys"] },
  });
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(problems[0], /V8 flag --max-semi-space-size=1 is not embedded/);
  assert.match(problems[1], /entry point is "main.ts", not remoteproc-runtime.js/);
  assert.match(problems.slice(2).join("\n"), /allow_read is \["\/sys"\]/);
  assert.match(problems.slice(2).join("\n"), /allow_ffi is null/);
  assert.deepEqual(compiledSettingsProblems({ ...good, permissions: {} }), ["no permissions are embedded"]);
});
