/** Polls a probe until it returns a value, for tests that wait on real processes, servers or containers. */

/**
 * Calls `probe` every `intervalMs` until it returns something other than `undefined`, and resolves with
 * that; a probe that throws counts as "not yet". Rejects after `timeoutMs`, naming `what` and the last error.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
