import { RuntimeError } from "../errors.ts";
import { isAlive, type ProcessIdentity, signalIfAlive } from "../process/proc.ts";
import { runsFirmware, stopProcessor } from "../remoteproc/control.ts";
import type { ContainerRecord } from "../store/record.ts";
import { waitFor, WaitTimeout } from "../util/wait.ts";

const STOP_POLL_MS = 2;
const KILL_WAIT_MS = 5_000;

/**
 * Waits until the proxy has exited.
 *
 * @throws {RuntimeError} "timeout" when it is still alive at the deadline.
 */
export async function waitForProxyExit(
  id: string,
  proxy: ProcessIdentity | null,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitFor(async () => !(await isAlive(proxy)), {
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
}

/**
 * Kills the proxy with SIGKILL and waits for it to be gone.
 *
 * @throws {RuntimeError} "timeout" when it does not die.
 */
export async function killProxy(id: string, proxy: ProcessIdentity | null): Promise<void> {
  if (await signalIfAlive(proxy, "SIGKILL")) await waitForProxyExit(id, proxy, KILL_WAIT_MS);
}

/**
 * Stops the container's processor if it still runs this container's firmware, so a remote processor never
 * outlives its container. Another container's firmware, or an idle processor, is left alone.
 *
 * @throws {RuntimeError} when the processor does not stop.
 */
export async function stopOwnProcessor(record: ContainerRecord | undefined): Promise<void> {
  if (!record?.processor || !record.firmware) return;
  if (!(await runsFirmware(record.processor.dir, record.firmware.name))) return;
  await stopProcessor(record.processor.dir, {
    timeoutMs: record.timings.stopTimeoutMs,
    pollMs: STOP_POLL_MS,
  });
}
