/**
 * Tightens Linux's timer slack for the calling thread (prctl PR_SET_TIMERSLACK) so that a timed
 * Atomics.wait wakes within tens of microseconds of its deadline instead of the default 50 µs slack plus
 * scheduling: the load generator then sleeps closer to a due time and spins less. Best effort: false where
 * the call is not available (not Linux, no libc found).
 */
import { dlopen, FFIType } from "bun:ffi";

const PR_SET_TIMERSLACK = 29;

/** The same call as source text, for a worker thread (slack is per thread). */
export const TIGHTEN_TIMER_SLACK_SOURCE = `
try {
  const { dlopen } = require("bun:ffi");
  const libc = dlopen("libc.so.6", { prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" } });
  libc.symbols.prctl(${PR_SET_TIMERSLACK}, 1n, 0n, 0n, 0n);
} catch {}
`;

let tightened: boolean | undefined;

/** Sets this thread's timer slack to 1 ns; returns whether it took. Once per process is enough. */
export function tightenTimerSlack(): boolean {
  if (tightened !== undefined) return tightened;
  tightened = false;
  if (process.platform !== "linux") return tightened;
  try {
    const u64 = FFIType.u64;
    const libc = dlopen("libc.so.6", { prctl: { args: [FFIType.i32, u64, u64, u64, u64], returns: FFIType.i32 } });
    tightened = libc.symbols.prctl(PR_SET_TIMERSLACK, 1n, 0n, 0n, 0n) === 0;
  } catch {
    // no libc.so.6 (musl, another OS): keep the default slack
  }
  return tightened;
}
