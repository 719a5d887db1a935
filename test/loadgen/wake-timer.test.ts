import { describe, expect, test } from "bun:test";
import { epochNow, WakeTimer } from "../../lib/loadgen/wake-timer.ts";

function wakeOnce(calls: number[]) {
  return new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (calls.length > 0) {
        clearInterval(check);
        resolve();
      }
    }, 1);
  });
}

describe("WakeTimer", () => {
  test("calls back once, not before the time set", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    for (const delayMs of [0.3, 2, 0.7]) {
      calls.length = 0;
      const at = epochNow() + delayMs;
      timer.set(at);
      await wakeOnce(calls);
      await Bun.sleep(5);
      expect(calls.length).toBe(1);
      expect(calls[0]!).toBeGreaterThanOrEqual(at);
    }
    timer.close();
  });

  test("fires at once for a time already past", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    timer.set(epochNow() - 1000);
    await wakeOnce(calls);
    expect(calls.length).toBe(1);
    timer.close();
  });

  test("cancel() drops the pending wake-up and set() re-arms it", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    timer.set(epochNow() + 5);
    timer.cancel();
    await Bun.sleep(20);
    expect(calls.length).toBe(0);
    timer.set(epochNow() + 200); // re-armed earlier below: only the last setting counts
    const at = epochNow() + 3;
    timer.set(at);
    await wakeOnce(calls);
    await Bun.sleep(250);
    expect(calls.length).toBe(1);
    expect(calls[0]!).toBeGreaterThanOrEqual(at);
    timer.close();
  });

  test("set() to a later time moves a pending wake-up there (the worker finds it when it wakes)", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    timer.set(epochNow() + 2);
    const later = epochNow() + 8;
    timer.set(later); // no notification: the worker wakes at +2 ms, sees the change and sleeps on
    await wakeOnce(calls);
    await Bun.sleep(20);
    expect(calls.length).toBe(1);
    expect(calls[0]!).toBeGreaterThanOrEqual(later);
    timer.close();
  });

  test("set() after the worker posted but before its message was read still wakes it", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    timer.set(epochNow() - 1); // due at once: the worker posts and parks
    const spinUntil = epochNow() + 20;
    while (epochNow() < spinUntil); // hold the event loop so that message stays unread
    const later = epochNow() + 3;
    timer.set(later); // the posted message is now stale; the parked worker must be woken for this one
    await wakeOnce(calls);
    await Bun.sleep(20);
    expect(calls.length).toBe(1);
    expect(calls[0]!).toBeGreaterThanOrEqual(later);
    timer.close();
  });

  test("setBy() keeps an earlier pending wake-up and moves a later one forward", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    const early = epochNow() + 3;
    timer.set(early);
    timer.setBy(early + 500); // later: the pending one stays
    await wakeOnce(calls);
    expect(calls[0]!).toBeLessThan(early + 500);
    calls.length = 0;
    timer.set(epochNow() + 10_000);
    const sooner = epochNow() + 3;
    timer.setBy(sooner); // earlier: re-armed
    await wakeOnce(calls);
    expect(calls[0]!).toBeGreaterThanOrEqual(sooner);
    expect(calls[0]!).toBeLessThan(sooner + 10_000);
    timer.close();
  });

  test("works again after close()", async () => {
    const calls: number[] = [];
    const timer = new WakeTimer(() => calls.push(epochNow()));
    timer.set(epochNow() + 1);
    timer.close();
    await Bun.sleep(10);
    expect(calls.length).toBe(0);
    timer.set(epochNow() + 1);
    await wakeOnce(calls);
    expect(calls.length).toBe(1);
    timer.close();
  });
});
