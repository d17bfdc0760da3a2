import assert from "node:assert/strict";
import { join } from "node:path";
import { RuntimeError } from "../lib/errors.ts";
import {
  CRI_CONTAINER_TYPE_ANNOTATION,
  loadBundleSpec,
  parseBundleSpec,
  PROCESSOR_ANNOTATION,
} from "../lib/oci/spec.ts";

const BUNDLE = "/bundles/fw";
const CONFIG = "/bundles/fw/config.json";

type Doc = Record<string, unknown>;

function validDoc(): Doc {
  return {
    ociVersion: "1.0.2",
    root: { path: "rootfs" },
    process: { args: ["hello.elf"], cwd: "/" },
    annotations: { [PROCESSOR_ANNOTATION]: "dsp0" },
  };
}

function withChange(change: (doc: Doc) => void): Doc {
  const doc = validDoc();
  change(doc);
  return doc;
}

function proc(doc: Doc): Doc {
  return doc.process as Doc;
}

function annotations(doc: Doc): Record<string, unknown> {
  return doc.annotations as Record<string, unknown>;
}

function assertRefused(doc: unknown, ...patterns: RegExp[]): RuntimeError {
  let caught: unknown;
  try {
    parseBundleSpec(doc, BUNDLE, CONFIG);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RuntimeError, "the document should be refused");
  assert.equal(caught.code, "invalid-config");
  assert.ok(caught.message.startsWith(`${CONFIG}: `), `message names the file: ${caught.message}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

Deno.test("parseBundleSpec reads a valid config.json", () => {
  const spec = parseBundleSpec(validDoc(), BUNDLE, CONFIG);
  assert.deepEqual(spec, {
    ociVersion: "1.0.2",
    rootfs: "/bundles/fw/rootfs",
    firmwareArg: "hello.elf",
    cwd: "/",
    annotations: { [PROCESSOR_ANNOTATION]: "dsp0" },
    processorName: "dsp0",
    sandbox: false,
  });
});

Deno.test("parseBundleSpec accepts every 1.x ociVersion", () => {
  for (const v of ["1.0.0", "1.0.2", "1.1.0", "1.2.0", "1.3.0", "1.0.2-dev", "1.10.0"]) {
    assert.equal(parseBundleSpec(withChange((d) => d.ociVersion = v), BUNDLE, CONFIG).ociVersion, v);
  }
});

Deno.test("parseBundleSpec refuses a missing or non-string ociVersion", () => {
  assertRefused(withChange((d) => delete d.ociVersion), /ociVersion must be a string/);
  for (const v of [1, 1.0, null, true, ["1.0.2"], { v: "1.0.2" }]) {
    assertRefused(withChange((d) => d.ociVersion = v), /ociVersion must be a string/);
  }
});

Deno.test("parseBundleSpec refuses OCI versions other than 1.x, quoting the version", () => {
  for (const v of ["2.0.0", "0.9.0", "10.0.0", "", "v1.0.2", "latest"]) {
    assertRefused(withChange((d) => d.ociVersion = v), /ociVersion is/, /only OCI runtime spec 1\.x/);
  }
  const err = assertRefused(withChange((d) => d.ociVersion = "2.0.0"));
  assert.ok(err.message.includes('"2.0.0"'), err.message);
});

Deno.test("parseBundleSpec refuses a document that is not an object", () => {
  for (const doc of [null, [], "{}", 42, undefined]) assertRefused(doc, /the document must be a JSON object/);
});

Deno.test("parseBundleSpec refuses a missing or malformed root", () => {
  assertRefused(withChange((d) => delete d.root), /root must be an object with a path/);
  assertRefused(withChange((d) => d.root = "rootfs"), /root must be an object/);
  assertRefused(withChange((d) => d.root = {}), /root\.path must be a non-empty string/);
  assertRefused(withChange((d) => d.root = { path: "" }), /root\.path must be a non-empty string/);
  assertRefused(withChange((d) => d.root = { path: "   " }), /root\.path must be a non-empty string/);
  assertRefused(withChange((d) => d.root = { path: 7 }), /root\.path must be a non-empty string/);
  assertRefused(withChange((d) => d.root = { path: "root\0fs" }), /root\.path must not contain a NUL/);
});

Deno.test("parseBundleSpec joins a relative root.path to the bundle and keeps an absolute one", () => {
  const rel = (path: string) => parseBundleSpec(withChange((d) => d.root = { path }), BUNDLE, CONFIG).rootfs;
  assert.equal(rel("rootfs"), "/bundles/fw/rootfs");
  assert.equal(rel("./rootfs"), "/bundles/fw/rootfs");
  assert.equal(rel("a/b"), "/bundles/fw/a/b");
  assert.equal(rel("/var/lib/images/x/rootfs"), "/var/lib/images/x/rootfs");
  // The same relative path under another bundle lands under that bundle.
  assert.equal(parseBundleSpec(validDoc(), "/other", "/other/config.json").rootfs, "/other/rootfs");
});

Deno.test("parseBundleSpec refuses a missing process or process.args", () => {
  assertRefused(withChange((d) => delete d.process), /process\.args is missing/);
  assertRefused(withChange((d) => delete proc(d).args), /process\.args is missing/);
  assertRefused(withChange((d) => d.process = "hello.elf"), /process must be an object/);
  assertRefused(withChange((d) => d.process = ["hello.elf"]), /process must be an object/);
});

Deno.test("parseBundleSpec wants exactly one argument: the firmware file", () => {
  assertRefused(withChange((d) => proc(d).args = []), /process\.args has 0 entries/, /exactly one/);
  assertRefused(
    withChange((d) => proc(d).args = ["hello.elf", "--verbose"]),
    /process\.args has 2 entries/,
  );
});

Deno.test("parseBundleSpec refuses non-string or empty arguments", () => {
  for (const args of ["hello.elf", [1], [null], [["hello.elf"]], { 0: "hello.elf" }]) {
    assertRefused(withChange((d) => proc(d).args = args), /process\.args must be an array of strings/);
  }
  assertRefused(withChange((d) => proc(d).args = [""]), /process\.args\[0\] is empty/);
  assertRefused(withChange((d) => proc(d).args = ["  "]), /process\.args\[0\] is empty/);
  assertRefused(withChange((d) => proc(d).args = ["fw\0.elf"]), /process\.args\[0\] must not contain a NUL/);
});

Deno.test("parseBundleSpec keeps process.cwd and defaults it to /", () => {
  assert.equal(parseBundleSpec(withChange((d) => proc(d).cwd = "/opt/fw"), BUNDLE, CONFIG).cwd, "/opt/fw");
  assert.equal(parseBundleSpec(withChange((d) => delete proc(d).cwd), BUNDLE, CONFIG).cwd, "/");
  assertRefused(withChange((d) => proc(d).cwd = ""), /process\.cwd must be a non-empty string/);
  assertRefused(withChange((d) => proc(d).cwd = 3), /process\.cwd must be a non-empty string/);
});

Deno.test("parseBundleSpec refuses process.terminal true (podman run -t) and accepts false", () => {
  assertRefused(withChange((d) => proc(d).terminal = true), /process\.terminal is true/, /no terminal/);
  assert.equal(
    parseBundleSpec(withChange((d) => proc(d).terminal = false), BUNDLE, CONFIG).firmwareArg,
    "hello.elf",
  );
});

Deno.test("parseBundleSpec wants the remoteproc.name annotation", () => {
  assertRefused(withChange((d) => delete d.annotations), /annotations\["remoteproc\.name"\] is missing/);
  assertRefused(withChange((d) => d.annotations = null), /annotations\["remoteproc\.name"\] is missing/);
  assertRefused(
    withChange((d) => d.annotations = { "org.opencontainers.image.title": "x" }),
    /annotations\["remoteproc\.name"\] is missing/,
    /--annotation remoteproc\.name=/,
  );
});

Deno.test("parseBundleSpec refuses an empty or padded processor name, quoting it", () => {
  for (const name of ["", " ", " dsp0", "dsp0 ", "dsp0\n", "\tdsp0", "ds\np0"]) {
    const err = assertRefused(
      withChange((d) => annotations(d)[PROCESSOR_ANNOTATION] = name),
      /annotations\["remoteproc\.name"\] is/,
    );
    assert.ok(err.message.includes(JSON.stringify(name)), err.message);
  }
});

Deno.test("parseBundleSpec refuses annotations that are not an object of strings", () => {
  assertRefused(withChange((d) => d.annotations = ["remoteproc.name=dsp0"]), /annotations must be an object/);
  assertRefused(withChange((d) => d.annotations = "dsp0"), /annotations must be an object/);
  assertRefused(
    withChange((d) => annotations(d)["com.example.count"] = 3),
    /annotations\.com\.example\.count must be a string/,
  );
  assertRefused(
    withChange((d) => annotations(d)[PROCESSOR_ANNOTATION] = 0),
    /annotations\.remoteproc\.name must be a string/,
  );
});

Deno.test("parseBundleSpec keeps every annotation", () => {
  const spec = parseBundleSpec(
    withChange((d) => annotations(d)["com.example/x"] = "y"),
    BUNDLE,
    CONFIG,
  );
  assert.deepEqual(spec.annotations, { [PROCESSOR_ANNOTATION]: "dsp0", "com.example/x": "y" });
});

Deno.test("parseBundleSpec: a CRI pod sandbox needs no processor and takes any args", () => {
  const sandboxDoc = (change: (d: Doc) => void) =>
    withChange((d) => {
      d.annotations = { [CRI_CONTAINER_TYPE_ANNOTATION]: "sandbox" };
      change(d);
    });
  for (
    const change of [
      (_: Doc) => {},
      (d: Doc) => proc(d).args = ["/pause"],
      (d: Doc) => proc(d).args = [],
      (d: Doc) => proc(d).args = ["/pause", "-v", "2"],
      (d: Doc) => proc(d).args = [""],
      (d: Doc) => delete proc(d).args,
      (d: Doc) => delete d.process,
    ]
  ) {
    const spec = parseBundleSpec(sandboxDoc(change), BUNDLE, CONFIG);
    assert.equal(spec.sandbox, true);
    assert.equal(spec.processorName, undefined);
    assert.equal(spec.firmwareArg, "");
    assert.equal(spec.rootfs, "/bundles/fw/rootfs");
  }
  // The sandbox still needs a valid root and a string array of args.
  assertRefused(sandboxDoc((d) => delete d.root), /root must be an object/);
  assertRefused(sandboxDoc((d) => proc(d).args = [1]), /process\.args must be an array of strings/);
});

Deno.test("parseBundleSpec: a CRI container that is not the sandbox still needs a processor", () => {
  assertRefused(
    withChange((d) => d.annotations = { [CRI_CONTAINER_TYPE_ANNOTATION]: "container" }),
    /annotations\["remoteproc\.name"\] is missing/,
  );
  const spec = parseBundleSpec(
    withChange((d) => annotations(d)[CRI_CONTAINER_TYPE_ANNOTATION] = "container"),
    BUNDLE,
    CONFIG,
  );
  assert.equal(spec.sandbox, false);
  assert.equal(spec.processorName, "dsp0");
});

Deno.test("parseBundleSpec ignores properties it does not use", () => {
  const doc = withChange((d) => {
    d.hostname = "fw";
    d.mounts = [{ destination: "/proc", type: "proc" }];
    d.linux = { namespaces: [{ type: "pid" }], resources: {} };
    d.hooks = { prestart: [] };
    d.vendorExtension = { whatever: [1, 2, 3] };
    Object.assign(proc(d), { env: ["PATH=/bin"], user: { uid: 0, gid: 0 }, terminal: false, rlimits: [] });
    (d.root as Doc).readonly = true;
  });
  const spec = parseBundleSpec(doc, BUNDLE, CONFIG);
  assert.equal(spec.firmwareArg, "hello.elf");
  assert.equal(spec.processorName, "dsp0");
});

// ---- loadBundleSpec on real files ----

interface TempBundle extends AsyncDisposable {
  dir: string;
}

async function makeBundle(config?: string | Uint8Array): Promise<TempBundle> {
  const dir = await Deno.makeTempDir({ prefix: "unit-spec-" });
  if (typeof config === "string") await Deno.writeTextFile(join(dir, "config.json"), config);
  else if (config !== undefined) await Deno.writeFile(join(dir, "config.json"), config);
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function assertLoadRefused(
  bundle: string,
  code: string,
  ...patterns: RegExp[]
): Promise<RuntimeError> {
  let caught: unknown;
  try {
    await loadBundleSpec(bundle);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RuntimeError, `loading ${bundle} should fail`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(!caught.message.includes("\n"), `one-line message: ${caught.message}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

Deno.test("loadBundleSpec reads a bundle's config.json", async () => {
  await using b = await makeBundle(JSON.stringify(validDoc(), null, 2));
  const spec = await loadBundleSpec(b.dir);
  assert.equal(spec.rootfs, join(b.dir, "rootfs"));
  assert.equal(spec.firmwareArg, "hello.elf");
  assert.equal(spec.processorName, "dsp0");
});

Deno.test("loadBundleSpec: a missing bundle is not-found, naming it and --bundle", async () => {
  await using b = await makeBundle();
  const missing = join(b.dir, "nope");
  const err = await assertLoadRefused(missing, "not-found", /does not exist/, /--bundle/);
  assert.ok(err.message.includes(missing), err.message);
});

Deno.test("loadBundleSpec: a bundle that is a file is refused as not a directory", async () => {
  await using b = await makeBundle(JSON.stringify(validDoc()));
  const file = join(b.dir, "config.json");
  const err = await assertLoadRefused(file, "invalid-config", /is not a directory/);
  assert.ok(err.message.includes(file), err.message);
});

Deno.test("loadBundleSpec: a bundle without config.json names the file", async () => {
  await using b = await makeBundle();
  const err = await assertLoadRefused(b.dir, "not-found", /does not exist/, /config\.json/);
  assert.ok(err.message.includes(join(b.dir, "config.json")), err.message);
});

Deno.test("loadBundleSpec: config.json that is a directory is refused", async () => {
  await using b = await makeBundle();
  await Deno.mkdir(join(b.dir, "config.json"));
  await assertLoadRefused(b.dir, "invalid-config", /not a regular file/);
});

Deno.test("loadBundleSpec: an empty config.json says the file is empty", async () => {
  await using b = await makeBundle("");
  await assertLoadRefused(b.dir, "invalid-config", /is not valid JSON/, /empty/);
  await Deno.writeTextFile(join(b.dir, "config.json"), "  \n\n");
  await assertLoadRefused(b.dir, "invalid-config", /is not valid JSON/, /empty/);
});

Deno.test("loadBundleSpec: truncated JSON reports the line and column where it ends", async () => {
  const text = '{\n  "ociVersion": "1.0.2",\n  "root": {"path": "rootfs"}';
  await using b = await makeBundle(text);
  const err = await assertLoadRefused(b.dir, "invalid-config", /is not valid JSON/, /line 3, column \d+/);
  assert.ok(err.message.includes(join(b.dir, "config.json")), err.message);
});

Deno.test("loadBundleSpec: a missing comma is reported at its line and column", async () => {
  // Line 3 starts where the comma was expected.
  await using b = await makeBundle('{\n  "ociVersion": "1.0.2"\n  "root": {}\n}');
  await assertLoadRefused(b.dir, "invalid-config", /line 3, column 3/);
});

Deno.test("loadBundleSpec: a trailing comma is reported at its line and column", async () => {
  await using b = await makeBundle('{\n  "ociVersion": "1.0.2",\n}');
  await assertLoadRefused(b.dir, "invalid-config", /line 3, column 1/);
});

Deno.test({
  name: "loadBundleSpec: an unexpected token is reported at its line and column",
  async fn() {
    await using b = await makeBundle('{\n  "a": 1,\n  "b": x\n}');
    await assertLoadRefused(b.dir, "invalid-config", /is not valid JSON/, /line 3, column 8/);
  },
});

Deno.test("loadBundleSpec: bytes that are not UTF-8 are refused as such", async () => {
  const head = new TextEncoder().encode('{"ociVersion": "1.0.2", "x": "');
  const tail = new TextEncoder().encode('"}');
  await using b = await makeBundle(new Uint8Array([...head, 0xff, 0xfe, 0xc3, ...tail]));
  await assertLoadRefused(b.dir, "invalid-config", /is not valid UTF-8/);
});

Deno.test("loadBundleSpec: a valid JSON file with an invalid spec reports the field", async () => {
  await using b = await makeBundle(JSON.stringify(withChange((d) => d.ociVersion = "2.0.0")));
  const err = await assertLoadRefused(b.dir, "invalid-config", /ociVersion is "2\.0\.0"/);
  assert.ok(err.message.startsWith(join(b.dir, "config.json")), err.message);
});

Deno.test("loadBundleSpec refuses a config.json larger than 4 MiB without parsing it", async () => {
  await using b = await makeBundle();
  const file = await Deno.open(join(b.dir, "config.json"), { write: true, create: true });
  await file.truncate(4 * 1024 * 1024 + 1);
  file.close();
  await assertLoadRefused(b.dir, "invalid-config", /4194305 bytes/, /at most 4194304/);
});
