/** Unit tests of the pure parts of the runc-compatible surface: tables, formats, features, the spec template. */
import assert from "node:assert/strict";
import { parseCommandArgs } from "../lib/cli/command.ts";
import { outputFormat } from "../lib/cli/format_flag.ts";
import { listTable } from "../lib/cli/list.ts";
import { processorsTable } from "../lib/cli/processors.ts";
import { formatTable } from "../lib/cli/table.ts";
import { UNSUPPORTED_REASONS, unsupportedCommand } from "../lib/cli/unsupported.ts";
import { RuntimeError } from "../lib/errors.ts";
import { parseBundleSpec } from "../lib/oci/spec.ts";
import { runtimeFeatures } from "../lib/runtime/features.ts";
import { unreadableState, userName } from "../lib/runtime/list.ts";
import { templateSpec } from "../lib/runtime/spec.ts";
import { OCI_VERSION } from "../lib/runtime/state.ts";

Deno.test("formatTable: columns at least 12 wide plus 3 spaces, last column unpadded", () => {
  assert.equal(formatTable(["A", "B"], []), "A              B");
  assert.equal(
    formatTable(["ID", "STATUS", "X"], [["a-very-long-identifier", "running", ""], ["b", "", "z"]]),
    [
      "ID                       STATUS         X",
      "a-very-long-identifier   running",
      "b                                       z",
    ].join("\n"),
  );
});

Deno.test("listTable: runc's columns in runc's order", () => {
  const state = {
    ...unreadableState("fw1"),
    pid: 42,
    status: "running" as const,
    bundle: "/b",
    owner: "root",
  };
  const [header, row] = listTable([state]).split("\n");
  assert.deepEqual(header.split(/\s+/), ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
  assert.deepEqual(row.split(/\s+/), ["fw1", "42", "running", "/b", "1970-01-01T00:00:00.000Z", "root"]);
});

Deno.test("processorsTable: a dash for what is unknown or free", () => {
  const table = processorsTable([
    {
      index: 3,
      name: "m4",
      state: null,
      firmware: "fw.elf",
      path: "/sys/class/remoteproc/remoteproc3",
      holder: null,
    },
  ]);
  assert.deepEqual(table.split("\n")[1].split(/\s+/), [
    "3",
    "m4",
    "-",
    "fw.elf",
    "-",
    "/sys/class/remoteproc/remoteproc3",
  ]);
});

Deno.test("userName: the passwd entry, or #uid as runc shows an unknown owner", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n\nbroken\n";
  assert.equal(userName(passwd, 0), "root");
  assert.equal(userName(passwd, 1000), "alice");
  assert.equal(userName(passwd, 1001), "#1001");
  assert.equal(userName("", 0), "#0");
});

Deno.test("unreadableState: stopped, pid 0, a valid OCI state", () => {
  assert.deepEqual(unreadableState("x"), {
    ociVersion: OCI_VERSION,
    id: "x",
    status: "stopped",
    pid: 0,
    bundle: "",
    rootfs: "",
    created: "1970-01-01T00:00:00.000Z",
    owner: "",
    annotations: {},
  });
});

Deno.test("outputFormat: table by default, json, anything else a usage error", () => {
  assert.equal(outputFormat(undefined, "list"), "table");
  assert.equal(outputFormat("table", "list"), "table");
  assert.equal(outputFormat("json", "list"), "json");
  assert.throws(
    () => outputFormat("JSON", "ps"),
    (err) =>
      err instanceof RuntimeError && err.code === "usage" && /^ps: invalid format "JSON"/.test(err.message),
  );
});

Deno.test("runtimeFeatures: OCI versions, positive nones, documented annotations", () => {
  const f = runtimeFeatures();
  assert.equal(f.ociVersionMin, "1.0.0");
  assert.equal(f.ociVersionMax, OCI_VERSION);
  assert.deepEqual([f.hooks, f.mountOptions, f.linux.namespaces, f.potentiallyUnsafeConfigAnnotations], [
    [],
    [],
    [],
    [],
  ]);
  assert.ok(f.annotations["remoteproc.name"].startsWith("read:"));
  assert.ok(f.annotations["remoteproc.resolved-path"].startsWith("written"));
  assert.ok(f.annotations["remoteproc.firmware"].startsWith("written"));
});

Deno.test("templateSpec: a valid firmware bundle once remoteproc.name is set", () => {
  const doc = templateSpec();
  const spec = parseBundleSpec(doc, "/b", "/b/config.json");
  assert.equal(spec.processorName, "CHANGE-ME");
  assert.equal(spec.firmwareArg, "firmware.elf");
  assert.equal(spec.rootfs, "/b/rootfs");
  assert.equal(spec.sandbox, false);
});

Deno.test("unsupportedCommand: takes any arguments raw and always fails with its reason", async () => {
  for (const name of Object.keys(UNSUPPORTED_REASONS) as (keyof typeof UNSUPPORTED_REASONS)[]) {
    const command = unsupportedCommand(name);
    const args = parseCommandArgs(command, ["--tty", "-e", "A=B", "c1", "sh", "-c", "ls"]);
    assert.deepEqual(args.positionals, ["--tty", "-e", "A=B", "c1", "sh", "-c", "ls"]);
    assert.equal(command.needsContext, false);
    await assert.rejects(
      // A context is never read: the command fails before touching anything.
      async () => await command.run(args, undefined as never, { out: () => assert.fail("no output") }),
      (err: unknown) =>
        err instanceof RuntimeError && err.code === "unsupported" &&
        err.message === `${name} is not supported: ${UNSUPPORTED_REASONS[name]}` &&
        !err.message.includes("\n"),
    );
  }
});
