import { describe, expect, test } from "bun:test";
import { Singleflight } from "../lib/singleflight.ts";

/** A promise resolved or rejected by hand, so a test decides when a call settles. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return { promise, resolve, reject };
}

/** Lets queued promise callbacks run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Singleflight.do", () => {
  test("Singleflight.do() returns fn's value", async () => {
    const group = new Singleflight<string>();
    expect(await group.do("key", async () => "bar")).toBe("bar");
    expect(group.inFlight).toBe(0);
  });

  test("Singleflight.do() passes fn's rejection through", async () => {
    const group = new Singleflight<string>();
    const error = new Error("some error");
    await expect(group.do("key", async () => Promise.reject(error))).rejects.toBe(error);
    expect(group.inFlight).toBe(0);
  });

  test("Singleflight.do() turns a synchronous throw into a rejection and frees the key", async () => {
    const group = new Singleflight<string>();
    const error = new TypeError("sync");
    const result = group.do("key", () => {
      throw error;
    });
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBe(error);
    expect(group.inFlight).toBe(0);
    expect(await group.do("key", async () => "again")).toBe("again");
  });

  test("Singleflight.do() runs fn once for many concurrent callers, all get the value", async () => {
    const group = new Singleflight<number>();
    const gate = deferred<number>();
    let calls = 0;
    const fn = () => {
      calls++;
      return gate.promise;
    };
    const waiters = Array.from({ length: 1000 }, () => group.do("key", fn));
    expect(calls).toBe(1);
    expect(group.inFlight).toBe(1);
    expect(new Set(waiters).size).toBe(1); // every caller holds the one shared promise
    await tick();
    expect(calls).toBe(1);
    gate.resolve(42);
    expect(await Promise.all(waiters)).toEqual(Array(1000).fill(42));
    expect(calls).toBe(1);
    expect(group.inFlight).toBe(0);
  });

  test("Singleflight.do() delivers one rejection to every waiter and frees the key", async () => {
    const group = new Singleflight<number>();
    const gate = deferred<number>();
    let calls = 0;
    const waiters = Array.from({ length: 10 }, () =>
      group.do("key", () => {
        calls++;
        return gate.promise;
      }),
    );
    const error = new Error("origin down");
    gate.reject(error);
    const outcomes = await Promise.allSettled(waiters);
    expect(calls).toBe(1);
    for (const outcome of outcomes) expect(outcome).toEqual({ status: "rejected", reason: error });
    expect(group.inFlight).toBe(0);
  });

  test("Singleflight.do() runs fn again after the previous call settled (nothing cached)", async () => {
    const group = new Singleflight<number>();
    let calls = 0;
    const fn = async () => ++calls;
    expect(await group.do("key", fn)).toBe(1);
    expect(await group.do("key", fn)).toBe(2);
    await expect(group.do("key", async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    expect(await group.do("key", fn)).toBe(3);
  });

  test("Singleflight.do() frees the key before callers see the outcome", async () => {
    const group = new Singleflight<string>();
    const gate = deferred<string>();
    const first = group.do("key", () => gate.promise);
    // A caller retrying in its continuation must start a new call, not get the settled one.
    const retried = first.then(() => group.do("key", async () => "second"));
    gate.resolve("first");
    expect(await first).toBe("first");
    expect(await retried).toBe("second");
  });

  test("Singleflight.do() keeps keys independent", async () => {
    const group = new Singleflight<string>();
    const a = deferred<string>();
    const b = deferred<string>();
    let calls = 0;
    const pa = group.do("a", () => (calls++, a.promise));
    const pb = group.do("b", () => (calls++, b.promise));
    expect(calls).toBe(2);
    expect(group.inFlight).toBe(2);
    b.resolve("B");
    expect(await pb).toBe("B");
    expect(group.inFlight).toBe(1);
    a.reject(new Error("A failed"));
    await expect(pa).rejects.toThrow("A failed");
    expect(group.inFlight).toBe(0);
  });

  test("Singleflight.do() calls fn synchronously", () => {
    const group = new Singleflight<void>();
    let called = false;
    void group.do("key", async () => {
      called = true;
    });
    expect(called).toBe(true);
  });

  test("Singleflight.do() frees the key when fn returns an already-settled promise", async () => {
    const group = new Singleflight<number>();
    await expect(group.do("key", () => Promise.reject(new Error("early")))).rejects.toThrow("early");
    expect(await group.do("key", () => Promise.resolve(7))).toBe(7);
    expect(group.inFlight).toBe(0);
  });
});
