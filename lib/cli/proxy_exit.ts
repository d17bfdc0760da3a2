/**
 * Carries the proxy's exit code to the top without printing an error. In its own file so that lib/cli/main.ts
 * can recognise it without loading the proxy's module graph into every command.
 *
 * @example
 * ```ts
 * if (code !== 0) throw new ProxyExit(code);
 * ```
 */
export class ProxyExit extends Error {
  constructor(readonly code: number) {
    super(`proxy exit ${code}`);
  }
}
