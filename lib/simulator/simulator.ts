import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import { waitFor } from "../util/wait.ts";

/** The eight strings a kernel's remoteproc `state` attribute can read (enum order). */
export type KernelState =
  | "offline"
  | "suspended"
  | "running"
  | "crashed"
  | "deleted"
  | "attached"
  | "detached"
  | "invalid";

/**
 * Every {@link KernelState}, in the kernel's enum order.
 *
 * @example
 * ```ts
 * const ok = (KERNEL_STATES as readonly string[]).includes("running"); // true
 * ```
 */
export const KERNEL_STATES: readonly KernelState[] = [
  "offline",
  "suspended",
  "running",
  "crashed",
  "deleted",
  "attached",
  "detached",
  "invalid",
];

/**
 * One simulated processor and how it behaves.
 *
 * @example
 * ```ts
 * const spec: ProcessorSpec = { name: "dsp0", bootDelayMs: 50, recovery: false };
 * ```
 */
export interface ProcessorSpec {
  /** The `name` attribute. */
  name: string;
  /** Initial state (default "offline"). */
  state?: KernelState;
  /** Initial firmware attribute (default `rproc-${name}-fw`). */
  firmware?: string;
  /** Time between seeing "start" and reading "running" (default 0: the same poll). */
  bootDelayMs?: number;
  /** The boot fails: the state goes back to "offline". */
  failBoot?: boolean;
  /** The boot succeeds, then the processor crashes 50 ms later (recovery rules apply). */
  crashOnBoot?: boolean;
  /** Kernel recovery enabled (default true). */
  recovery?: boolean;
  /** Delay between a crash and the recovery reboot, when recovery is enabled (default 20). */
  recoveryDelayMs?: number;
  /** The driver sets `sysfs_read_only`: firmware/state/recovery are 0444 and every write is refused. */
  readOnly?: boolean;
}

/**
 * Options for {@link Simulator.start}.
 *
 * @example
 * ```ts
 * const options: SimulatorOptions = { dir: "/tmp/fake", processors: [{ name: "dsp0" }] };
 * ```
 */
export interface SimulatorOptions {
  /** Root of the fake host tree (the runtime's `--host-root`). */
  dir: string;
  /** Processors, numbered remoteproc0, remoteproc1... in this order. */
  processors: ProcessorSpec[];
  /** Absolute directory written to `parameters/path` (used as is, not under `dir`); created if missing. */
  customFirmwarePath?: string;
  /** Poll interval of the reaction loop in milliseconds (default 2). */
  pollMs?: number;
  /** Receives one line per reaction, e.g. "dsp0: start -> running". */
  log?: (line: string) => void;
  /**
   * Whether the simulator runs its own reaction loop (default true). Without it, its owner watches the files
   * and calls {@link Simulator.answer} (the benchmark's simulator, blocked in poll(2):
   * lib/dev/bench_simulator.ts).
   */
  loop?: boolean;
}

/**
 * A sysfs attribute the simulator watches for writes.
 *
 * @example
 * ```ts
 * const attr: Attribute = "state";
 * ```
 */
export type Attribute = "state" | "firmware" | "recovery";

/**
 * What the kernel holds for one processor (the files show it, see {@link shownValue}).
 *
 * @example
 * ```ts
 * const view: KernelView = { state: "offline", firmware: "fw.elf", recovery: true };
 * ```
 */
export interface KernelView {
  state: KernelState;
  firmware: string;
  recovery: boolean;
}

/**
 * Facts about the outside world that {@link react} needs.
 *
 * @example
 * ```ts
 * const ctx: ReactContext = { firmwareFound: true, failBoot: false, crashOnBoot: false, readOnly: false };
 * ```
 */
export interface ReactContext {
  /** The current firmware name resolves to a file in the search path. */
  firmwareFound: boolean;
  failBoot: boolean;
  crashOnBoot: boolean;
  readOnly: boolean;
}

/**
 * The kernel's answer to one write.
 *
 * @example
 * ```ts
 * const r: Reaction = { view: { state: "offline", firmware: "fw", recovery: true }, error: "EINVAL" };
 * ```
 */
export interface Reaction {
  /** The kernel's view after the write (the same object when nothing changed). */
  view: KernelView;
  /** A boot was started; its outcome once bootDelayMs has passed ("crashed": runs, then crashes). */
  boot?: "running" | "offline" | "crashed";
  /** The errno a real kernel would return from the write. */
  error?: "EINVAL" | "EBUSY" | "ENOENT" | "ENODEV" | "EACCES";
}

/**
 * The attribute files the simulator answers writes to, in the order writes seen in one poll are handled: the
 * runtime sets firmware before it writes state.
 *
 * @example
 * ```ts
 * if ((ATTRIBUTES as readonly string[]).includes("state")) console.log("watched");
 * ```
 */
export const ATTRIBUTES: readonly Attribute[] = ["firmware", "recovery", "state"];

/**
 * The kernel (>= 5.19) reaction to `content` written to `attr`, as a pure function.
 * A reaction with the unchanged view means the write was refused (or was a no-op); the caller restores the file.
 *
 * @example
 * ```ts
 * const view: KernelView = { state: "running", firmware: "fw.elf", recovery: true };
 * const ctx = { firmwareFound: true, failBoot: false, crashOnBoot: false, readOnly: false };
 * react(view, "state", "stop", ctx).view.state; // "offline"
 * react(view, "firmware", "other.elf", ctx).error; // "EBUSY"
 * ```
 */
export function react(view: KernelView, attr: Attribute, content: string, ctx: ReactContext): Reaction {
  if (ctx.readOnly) return { view, error: "EACCES" };
  if (attr === "firmware") {
    const name = content.split("\n")[0];
    if (name === "") return { view, error: "EINVAL" };
    if (view.state !== "offline") return { view, error: "EBUSY" };
    return { view: { ...view, firmware: name } };
  }
  // sysfs_streq: exactly the word, optionally followed by one "\n".
  const word = content.endsWith("\n") ? content.slice(0, -1) : content;
  if (attr === "recovery") {
    if (word === "enabled" || word === "disabled") return { view: { ...view, recovery: word === "enabled" } };
    if (word !== "recover") return { view, error: "EINVAL" };
    if (view.state !== "crashed") return { view };
    if (!ctx.firmwareFound) return { view, error: "ENOENT" };
    return { view: { ...view, state: "running" } };
  }
  switch (word) {
    case "start":
      if (view.state === "deleted") return { view, error: "ENODEV" };
      if (view.state === "detached") return { view: { ...view, state: "attached" } };
      // Already powered (or crashed): only a power refcount goes up.
      if (view.state !== "offline") return { view };
      if (!ctx.firmwareFound) return { view, error: "ENOENT" };
      return { view, boot: ctx.failBoot ? "offline" : ctx.crashOnBoot ? "crashed" : "running" };
    case "stop":
      if (view.state !== "running" && view.state !== "attached") return { view, error: "EINVAL" };
      return { view: { ...view, state: "offline" } };
    case "detach":
      if (view.state !== "attached") return { view, error: "EINVAL" };
      return { view: { ...view, state: "detached" } };
    default:
      return { view, error: "EINVAL" };
  }
}

/**
 * What the kernel shows in `attr` for `view` (without the trailing "\n"); `firmware` reads "unknown" while attached.
 *
 * @example
 * ```ts
 * shownValue({ state: "attached", firmware: "fw.elf", recovery: false }, "firmware"); // "unknown"
 * ```
 */
export function shownValue(view: KernelView, attr: Attribute): string {
  if (attr === "state") return view.state;
  if (attr === "recovery") return view.recovery ? "enabled" : "disabled";
  return view.state === "attached" ? "unknown" : view.firmware;
}

interface Pending {
  kind: "boot" | "crash" | "recover";
  at: number;
  outcome?: Reaction["boot"];
}

interface Processor {
  spec: ProcessorSpec;
  dir: string;
  view: KernelView;
  /** Trimmed content each file holds as far as the simulator knows (what it wrote or already handled). */
  shown: Record<Attribute, string>;
  pending?: Pending;
  writes: string[];
}

/**
 * A fake remoteproc sysfs tree under a directory, with a loop that reacts to writes like the kernel does.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * await using sim = await Simulator.start({ dir, processors: [{ name: "dsp0" }] });
 * await Deno.writeTextFile(`${sim.firmwareDir()}/rproc-dsp0-fw`, "elf");
 * await Deno.writeTextFile(`${sim.processorDir("dsp0")}/state`, "start");
 * await sim.waitForState("dsp0", "running");
 * ```
 */
/** With a watch on the files, how long the loop sleeps when no timer is pending (a missed event's bound). */
const IDLE_STEP_MS = 100;

/** How long a processor with crashOnBoot shows "running" before it crashes. */
const CRASH_AFTER_BOOT_MS = 50;

export class Simulator implements AsyncDisposable {
  /** Root of the fake host tree. */
  readonly dir: string;
  readonly #processors = new Map<string, Processor>();
  readonly #customFirmwarePath?: string;
  readonly #pollMs: number;
  readonly #log: (line: string) => void;
  #lock: Promise<unknown> = Promise.resolve();
  #closed = false;
  #loop: Promise<void> = Promise.resolve();
  /** Whether the simulator runs its own reaction loop ({@link SimulatorOptions.loop}). */
  #looping = false;
  /** Ends the loop's current wait early (set while it waits). */
  #wake: (() => void) | undefined;
  /** Processors whose files were written since the loop last stepped them, as the watch saw. */
  readonly #written = new Set<Processor>();
  #error: unknown;

  private constructor(options: SimulatorOptions) {
    this.dir = resolve(options.dir);
    this.#customFirmwarePath = options.customFirmwarePath;
    this.#pollMs = options.pollMs ?? 2;
    this.#log = options.log ?? (() => {});
  }

  /**
   * Builds the tree under `options.dir` and starts the reaction loop.
   *
   * @example
   * ```ts
   * await using sim = await Simulator.start({ dir: "/tmp/fake", processors: [{ name: "dsp0", state: "running" }] });
   * ```
   * @throws {Error} on a duplicate processor name or a relative custom firmware path; file system errors.
   */
  static async start(options: SimulatorOptions): Promise<Simulator> {
    const sim = new Simulator(options);
    const custom = options.customFirmwarePath;
    if (custom !== undefined && !isAbsolute(custom)) {
      throw new Error(`custom firmware path must be absolute: ${custom}`);
    }
    const params = join(sim.dir, "sys/module/firmware_class/parameters");
    await Deno.mkdir(params, { recursive: true });
    await Deno.mkdir(join(sim.dir, "lib/firmware"), { recursive: true });
    if (custom !== undefined) await Deno.mkdir(custom, { recursive: true });
    writeFileAtomic(join(params, "path"), `${custom ?? ""}\n`, { durable: false });
    for (const [index, spec] of options.processors.entries()) {
      if (sim.#processors.has(spec.name)) throw new Error(`duplicate processor name: ${spec.name}`);
      const dir = join(sim.dir, "sys/class/remoteproc", `remoteproc${index}`);
      await Deno.mkdir(dir, { recursive: true });
      writeFileAtomic(join(dir, "name"), `${spec.name}\n`, { mode: 0o444, durable: false });
      const view: KernelView = {
        state: spec.state ?? "offline",
        firmware: spec.firmware ?? `rproc-${spec.name}-fw`,
        recovery: spec.recovery ?? true,
      };
      const p: Processor = {
        spec: { ...spec },
        dir,
        view,
        shown: { state: "", firmware: "", recovery: "" },
        writes: [],
      };
      sim.#processors.set(spec.name, p);
      await sim.#sync(p);
    }
    sim.#looping = options.loop ?? true;
    if (sim.#looping) sim.#loop = sim.#run();
    return sim;
  }

  /**
   * The absolute sysfs directory of processor `name` (D/sys/class/remoteproc/remoteprocN).
   *
   * @example
   * ```ts
   * const stateFile = `${sim.processorDir("dsp0")}/state`;
   * ```
   * @throws {Error} when no processor has that name.
   */
  processorDir(name: string): string {
    return this.#get(name).dir;
  }

  /**
   * Where tests should place firmware files: the custom path if set, else D/lib/firmware.
   *
   * @example
   * ```ts
   * await Deno.writeTextFile(`${sim.firmwareDir()}/fw.elf`, "elf");
   * ```
   */
  firmwareDir(): string {
    return this.#customFirmwarePath ?? join(this.dir, "lib/firmware");
  }

  /**
   * The trimmed content of processor `name`'s state file.
   *
   * @example
   * ```ts
   * if (await sim.state("dsp0") === "running") console.log("up");
   * ```
   * @throws {Error} when no processor has that name; file system errors.
   */
  async state(name: string): Promise<string> {
    return (await Deno.readTextFile(join(this.#get(name).dir, "state"))).trim();
  }

  /**
   * The trimmed content of processor `name`'s firmware file.
   *
   * @example
   * ```ts
   * const fw = await sim.firmware("dsp0");
   * ```
   * @throws {Error} when no processor has that name; file system errors.
   */
  async firmware(name: string): Promise<string> {
    return (await Deno.readTextFile(join(this.#get(name).dir, "firmware"))).trim();
  }

  /**
   * Every write the loop observed on processor `name`'s state/firmware/recovery files, oldest first,
   * as "attribute=trimmed content", e.g. ["firmware=hello.elf", "state=start"].
   *
   * @example
   * ```ts
   * assert.deepEqual(sim.writes("dsp0"), []); // the processor was never touched
   * ```
   * @throws {Error} when no processor has that name.
   */
  writes(name: string): string[] {
    return [...this.#get(name).writes];
  }

  /**
   * Crashes processor `name`: the state reads "crashed", and with recovery enabled the same firmware is
   * rebooted after recoveryDelayMs (the state stays "crashed" if the firmware file is gone).
   *
   * @example
   * ```ts
   * await sim.crash("dsp0");
   * ```
   * @throws {Error} when no processor has that name; file system errors.
   */
  crash(name: string): Promise<void> {
    return this.#act(name, (p) => this.#crashNow(p));
  }

  /**
   * The processor stops on its own: the state reads "offline".
   *
   * @example
   * ```ts
   * await sim.haltBySelf("dsp0");
   * ```
   * @throws {Error} when no processor has that name; file system errors.
   */
  haltBySelf(name: string): Promise<void> {
    return this.setState(name, "offline");
  }

  /**
   * Forces processor `name` into `state`, cancelling any boot or recovery in progress.
   *
   * @example
   * ```ts
   * await sim.setState("dsp0", "attached");
   * ```
   * @throws {Error} when no processor has that name; file system errors.
   */
  setState(name: string, state: KernelState): Promise<void> {
    return this.#act(name, (p) => {
      p.pending = undefined;
      p.view = { ...p.view, state };
    });
  }

  /**
   * Changes how processor `name` behaves from now on; `recovery` also changes the kernel's setting,
   * `state`/`firmware` change the kernel's values (the files follow at the next poll).
   *
   * @example
   * ```ts
   * sim.configure("dsp0", { failBoot: true, bootDelayMs: 100 });
   * ```
   * @throws {Error} when no processor has that name.
   */
  configure(name: string, changes: Partial<Omit<ProcessorSpec, "name">>): void {
    const p = this.#get(name);
    p.spec = { ...p.spec, ...changes };
    if (changes.recovery !== undefined) p.view = { ...p.view, recovery: changes.recovery };
    if (changes.state !== undefined) {
      p.pending = undefined;
      p.view = { ...p.view, state: changes.state };
    }
    if (changes.firmware !== undefined) p.view = { ...p.view, firmware: changes.firmware };
    if (changes.readOnly !== undefined) {
      for (const attr of ATTRIBUTES) Deno.chmodSync(join(p.dir, attr), this.#mode(p));
    }
  }

  /**
   * Waits until processor `name`'s state file reads `state`.
   *
   * @example
   * ```ts
   * await sim.waitForState("dsp0", "running", 1000);
   * ```
   * @throws {WaitTimeout} when `timeoutMs` (default 2000) passes first.
   */
  async waitForState(name: string, state: string, timeoutMs = 2000): Promise<void> {
    await waitFor(async () => (await this.state(name)) === state, {
      timeoutMs,
      intervalMs: this.#pollMs,
      what: `${name} to read state "${state}"`,
    });
  }

  /**
   * Stops the reaction loop (the directory stays: its owner removes it). Safe to call twice.
   *
   * @example
   * ```ts
   * await sim.close();
   * ```
   * @throws whatever error stopped the loop early.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#loop;
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      throw error;
    }
  }

  /**
   * Same as {@link Simulator.close}, for `await using`.
   *
   * @example
   * ```ts
   * await using sim = await Simulator.start({ dir, processors: [{ name: "dsp0" }] });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * For an owner that runs no loop ({@link SimulatorOptions.loop} false): handles now the writes to the
   * processors whose directories are `dirs`, and every timer that is due, as one step of the loop would.
   * Returns how many milliseconds until the next timer is due (at most {@link IDLE_STEP_MS}).
   *
   * @example
   * ```ts
   * const nextInMs = sim.answer([sim.processorDir("dsp0")]);
   * ```
   * @throws {Error} when the simulator runs its own loop, which would step the same processors.
   */
  answer(dirs: Iterable<string>): number {
    if (this.#looping) throw new Error("answer() is for a simulator started with loop: false");
    const written = new Set(dirs);
    const now = performance.now();
    for (const p of this.#processors.values()) {
      if (written.has(p.dir) || due(p, now)) this.#step(p);
    }
    return this.#untilDue();
  }

  #get(name: string): Processor {
    const p = this.#processors.get(name);
    if (p === undefined) throw new Error(`no simulated processor named "${name}"`);
    return p;
  }

  #mode(p: Processor): number {
    return p.spec.readOnly ? 0o444 : 0o644;
  }

  /** Runs `fn` with no loop step or other action in between. */
  #exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.#lock.then(fn);
    this.#lock = result.catch(() => {});
    return result;
  }

  #act(name: string, change: (p: Processor) => void): Promise<void> {
    const p = this.#get(name);
    return this.#exclusive(() => this.#step(p, change));
  }

  async #run(): Promise<void> {
    const all = [...this.#processors.values()];
    const byDir = new Map(all.map((p) => [p.dir, p]));
    const written = (dir: string) => {
      const p = byDir.get(dir);
      if (p) this.#written.add(p);
      this.#wake?.();
    };
    const watcher = this.#watchWrites([...byDir.keys()], written);
    try {
      let next = all;
      while (!this.#closed) {
        for (const p of next) {
          this.#written.delete(p);
          await this.#exclusive(() => this.#step(p));
        }
        if (this.#closed) break;
        // The next step comes at once when a file changes (or changed during this step), else when a timer is
        // due (boot delay, crash, recovery); without a watch, every pollMs.
        if (this.#written.size === 0) {
          const wait = watcher ? this.#untilDue() : this.#pollMs;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.#wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wake = undefined;
        }
        // After a write, the processors written to and those whose timer is due; else all of them.
        const now = performance.now();
        next = this.#written.size === 0 ? all : all.filter((p) => this.#written.has(p) || due(p, now));
      }
    } catch (error) {
      this.#error = error;
    } finally {
      try {
        watcher?.close();
      } catch {
        // closed already
      }
    }
  }

  /** Milliseconds until the earliest pending timer of any processor, at most {@link IDLE_STEP_MS}. */
  #untilDue(): number {
    let wait = IDLE_STEP_MS;
    for (const p of this.#processors.values()) {
      if (p.pending !== undefined) wait = Math.min(wait, Math.max(0, p.pending.at - performance.now()));
    }
    return wait;
  }

  /**
   * Calls `written(dir)` whenever an attribute file in one of the processor directories `dirs` is written
   * (inotify), so a write is handled at once, as the kernel would, instead of at the next poll. The loop
   * then reads only that processor's files, and a write seen while the loop steps is not lost: the loop steps
   * again instead of waiting (a writer truncates a file, then writes it). Without a watch (inotify limits) the
   * loop only polls. Its own updates (a temp file renamed over an attribute) raise five or six events each,
   * which do not wake it: it would read every file again for each one, taking CPU from the processes it
   * answers.
   */
  #watchWrites(dirs: string[], written: (dir: string) => void): Deno.FsWatcher | undefined {
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(dirs, { recursive: false });
    } catch {
      return undefined;
    }
    (async () => {
      try {
        for await (const event of watcher) {
          if (!isAttributeWrite(event)) continue;
          for (const path of event.paths) written(dirname(path));
        }
      } catch {
        // closed
      }
    })();
    return watcher;
  }

  /** One poll of one processor: handle writes, fire a due timer, apply `change`, rewrite what differs. */
  #step(p: Processor, change?: (p: Processor) => void): void {
    const written: [Attribute, string][] = [];
    // Read in reverse of the handling order: a writer that sets firmware and then state has always finished
    // the firmware write by the time its state write is seen, so both are handled in the same poll.
    for (const attr of [...ATTRIBUTES].reverse()) {
      // Synchronous reads and writes throughout a step: it reacts in well under a millisecond, as a kernel would.
      const content = Deno.readTextFileSync(join(p.dir, attr));
      // Empty: a writer truncated the file and has not written yet.
      if (content !== "" && content.trim() !== p.shown[attr]) written.unshift([attr, content]);
    }
    // The kernel finishes a start before it handles the next write.
    if (written.length > 0 && p.pending?.kind === "boot") this.#fire(p, p.pending);
    for (const [attr, content] of written) {
      const value = content.trim();
      p.writes.push(`${attr}=${value}`);
      p.shown[attr] = value;
      const r = react(p.view, attr, content, {
        firmwareFound: attr !== "firmware" && this.#firmwareFound(p.view.firmware),
        failBoot: p.spec.failBoot ?? false,
        crashOnBoot: p.spec.crashOnBoot ?? false,
        readOnly: p.spec.readOnly ?? false,
      });
      p.view = r.view;
      if (r.boot) {
        p.pending = { kind: "boot", at: performance.now() + (p.spec.bootDelayMs ?? 0), outcome: r.boot };
      } else {
        const label = attr === "state" ? value : `${attr}=${value}`;
        const result = attr === "recovery" && value === "recover" ? p.view.state : shownValue(p.view, attr);
        this.#log(`${p.spec.name}: ${label} -> ${result}${r.error ? ` (${r.error})` : ""}`);
      }
    }
    if (p.pending !== undefined && due(p)) this.#fire(p, p.pending);
    change?.(p);
    this.#sync(p);
  }

  #fire(p: Processor, pending: Pending): void {
    p.pending = undefined;
    if (pending.kind === "boot") {
      p.view = { ...p.view, state: pending.outcome === "offline" ? "offline" : "running" };
      // Crash a moment later, so that "running" is seen first (the boot succeeds, then the firmware dies).
      if (pending.outcome === "crashed") {
        p.pending = { kind: "crash", at: performance.now() + CRASH_AFTER_BOOT_MS };
      }
      this.#log(`${p.spec.name}: start -> ${p.view.state}`);
    } else if (pending.kind === "crash") {
      this.#crashNow(p);
      this.#log(`${p.spec.name}: running -> crashed`);
    } else if (p.view.state === "crashed" && p.view.recovery && this.#firmwareFound(p.view.firmware)) {
      p.view = { ...p.view, state: "running" };
      this.#log(`${p.spec.name}: crashed -> running (recovery)`);
    }
  }

  #crashNow(p: Processor): void {
    p.view = { ...p.view, state: "crashed" };
    p.pending = p.view.recovery
      ? { kind: "recover", at: performance.now() + (p.spec.recoveryDelayMs ?? 20) }
      : undefined;
  }

  /** Rewrites, atomically, every file whose content differs from what the kernel shows. */
  #sync(p: Processor): void {
    // State last: whoever sees the new state also sees the firmware and recovery files that go with it.
    for (const attr of ["firmware", "recovery", "state"] as const) {
      // A fake tree keeps the word "start" until the boot is over.
      const want = attr === "state" && p.pending?.kind === "boot" ? "start" : shownValue(p.view, attr);
      if (p.shown[attr] === want) continue;
      // Not flushed to disk: a fake sysfs has nothing to keep, and a flush would delay every reaction.
      writeFileAtomic(join(p.dir, attr), `${want}\n`, { mode: this.#mode(p), durable: false });
      p.shown[attr] = want;
    }
  }

  /** Whether the firmware loader would find `name`: custom path, D/lib/firmware/updates, D/lib/firmware. */
  #firmwareFound(name: string): boolean {
    if (name === "" || name.split("/").includes("..")) return false;
    const param = Deno.readTextFileSync(join(this.dir, "sys/module/firmware_class/parameters/path"));
    const dirs = [param.trim(), join(this.dir, "lib/firmware/updates"), join(this.dir, "lib/firmware")];
    for (const dir of dirs.filter((d) => d !== "")) {
      try {
        if (Deno.statSync(join(dir, name)).isFile) return true;
      } catch {
        // Not there (or unreadable): the loader tries the next directory.
      }
    }
    return false;
  }
}

/** Whether processor `p` has a timer (boot delay, crash, recovery) due at `now`. */
function due(p: Processor, now = performance.now()): boolean {
  return p.pending !== undefined && p.pending.at <= now;
}

/**
 * Whether `event` is a write to an attribute file, in place as sysfs takes it (not a rename onto one, which is
 * how the simulator itself updates a file).
 *
 * @example
 * ```ts
 * for await (const event of Deno.watchFs(dir)) if (isAttributeWrite(event)) wake();
 * ```
 */
export function isAttributeWrite(event: Deno.FsEvent): boolean {
  return (event.kind === "modify" || event.kind === "access") &&
    event.paths.some((path) => (ATTRIBUTES as readonly string[]).includes(basename(path)));
}
