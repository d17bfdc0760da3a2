import { orUndefined, RuntimeError } from "../errors.ts";
import { isAlive, type ProcessIdentity, signalIfAlive } from "../process/proc.ts";
import { runsFirmware, stopProcessor } from "../remoteproc/control.ts";
import { readExitReport } from "../store/container_store.ts";
import type { ContainerRecord } from "../store/record.ts";
import { waitForSync, WaitTimeout } from "../util/wait.ts";

const STOP_POLL_MS = 1;
const KILL_WAIT_MS = 5_000;

/**
 * Waits until the proxy has exited or, given its container directory `dir`, has reported its exit code: the
 * report is the last thing a proxy does (after it stopped the processor) before its process ends, and
 * waiting for the end as well would only add the teardown of a Deno process to every `kill`. Returns the
 * exit code reported, if any.
 *
 * @throws {RuntimeError} "timeout" when it is still alive at the deadline.
 */
export function waitForProxyExit(
  id: string,
  proxy: ProcessIdentity | null,
  timeoutMs: number,
  dir?: string,
): number | undefined {
  let code: number | undefined;
  const reported = () => {
    code = dir === undefined ? undefined : orUndefined(() => readExitReport(dir))?.code;
    return code !== undefined;
  };
  try {
    waitForSync(() => reported() || !isAlive(proxy), {
      timeoutMs,
      intervalMs: STOP_POLL_MS,
      what: "the proxy",
    });
  } catch (err) {
    if (err instanceof WaitTimeout) {
      throw new RuntimeError(
        "timeout",
        `the proxy of container ${id} (pid ${proxy?.pid}) did not exit within ${timeoutMs} ms; try kill ${id} KILL`,
      );
    }
    throw err;
  }
  return code;
}

/**
 * Kills the proxy with SIGKILL and waits for it to be gone.
 *
 * @throws {RuntimeError} "timeout" when it does not die.
 */
export function killProxy(id: string, proxy: ProcessIdentity | null): void {
  if (signalIfAlive(proxy, "SIGKILL")) waitForProxyExit(id, proxy, KILL_WAIT_MS);
}

/**
 * Stops the container's processor if it still runs this container's firmware, so a remote processor never
 * outlives its container. Another container's firmware, or an idle processor, is left alone.
 *
 * @throws {RuntimeError} when the processor does not stop.
 */
export function stopOwnProcessor(record: ContainerRecord | undefined): void {
  if (!record?.processor || !record.firmware) return;
  if (!runsFirmware(record.processor.dir, record.firmware.name)) return;
  stopProcessor(record.processor.dir, {
    timeoutMs: record.timings.stopTimeoutMs,
    pollMs: STOP_POLL_MS,
  });
}
