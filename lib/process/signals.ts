import { RuntimeError } from "../errors.ts";
import { isDigits } from "../util/text.ts";

const LINUX_SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};
const ALIASES: Record<string, string> = { SIGIOT: "SIGABRT", SIGPOLL: "SIGIO", SIGCLD: "SIGCHLD" };

/** A signal, by its canonical name and Linux number. */
export interface ParsedSignal {
  name: string;
  number: number;
}

/**
 * Parses a signal in any spelling runc accepts: a number (`9`), a name with or without `SIG`, any case
 * (`KILL`, `sigkill`, `SIGKILL`). Real-time signals (`RTMIN+3`, `34`) are recognised too.
 *
 * @example
 * ```ts
 * parseSignal("term"); // { name: "SIGTERM", number: 15 }
 * ```
 * @throws {RuntimeError} "usage" for an unknown signal.
 */
export function parseSignal(input: string): ParsedSignal {
  const raw = input.trim();
  if (isDigits(raw)) {
    const number = Number(raw);
    const name = Object.keys(LINUX_SIGNALS).find((k) => LINUX_SIGNALS[k] === number);
    if (name) return { name, number };
    if (number >= 34 && number <= 64) return { name: `SIGRTMIN+${number - 34}`, number };
    throw unknown(input);
  }
  let name = raw.toUpperCase();
  if (!name.startsWith("SIG")) name = "SIG" + name;
  name = ALIASES[name] ?? name;
  if (name in LINUX_SIGNALS) return { name, number: LINUX_SIGNALS[name] };
  const rt = /^SIGRT(MIN|MAX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const number = (rt[1] === "MIN" ? 34 : 64) + Number(rt[2] ?? 0);
    if (number >= 34 && number <= 64) return { name: `SIGRTMIN+${number - 34}`, number };
  }
  throw unknown(input);
}

function unknown(input: string): RuntimeError {
  return new RuntimeError(
    "usage",
    `unknown signal ${JSON.stringify(input)}; give a number or a name such as 15, TERM, SIGTERM or KILL`,
  );
}

/** What a signal means for a container on a remote processor. */
export type SignalAction = "graceful-stop" | "force-stop" | "unsupported";

/**
 * The policy: TERM and INT ask the proxy to stop the processor gracefully; KILL kills the proxy and stops the
 * processor at once; nothing else has a meaning for firmware on another core.
 *
 * @example
 * ```ts
 * signalAction(parseSignal("9")); // "force-stop"
 * ```
 */
export function signalAction(signal: ParsedSignal): SignalAction {
  switch (signal.name) {
    case "SIGTERM":
    case "SIGINT":
      return "graceful-stop";
    case "SIGKILL":
      return "force-stop";
    default:
      return "unsupported";
  }
}
