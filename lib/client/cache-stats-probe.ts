/**
 * Reads the caches' groupcache-style `/stats` before and after an attack, and derives the hit ratio the
 * caches saw over the run (sum of CacheHits deltas over sum of Gets deltas). Network I/O, never throws.
 */

export type StatsByCache = Record<string, Record<string, unknown> | null>;

/** GET `<url>/stats` for each cache; a cache that does not answer with JSON maps to null. */
export async function fetchCacheStats(urls: readonly string[], timeoutMs = 2000): Promise<StatsByCache> {
  const entries = await Promise.all(
    urls.map(async (url): Promise<[string, Record<string, unknown> | null]> => {
      try {
        const res = await fetch(`${url.replace(/\/+$/, "")}/stats`, { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) return [url, null];
        const body: unknown = await res.json();
        return [url, typeof body === "object" && body !== null ? (body as Record<string, unknown>) : null];
      } catch {
        return [url, null];
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** Hits / gets across all caches between two snapshots; null when no cache reported both times or nothing was got. */
export function hitRatioBetween(before: StatsByCache, after: StatsByCache): number | null {
  let gets = 0;
  let hits = 0;
  let seen = false;
  for (const [url, end] of Object.entries(after)) {
    const start = before[url];
    if (!end || !start) continue;
    const g = num(end.Gets) - num(start.Gets);
    const h = num(end.CacheHits) - num(start.CacheHits);
    if (!Number.isFinite(g) || !Number.isFinite(h)) continue;
    gets += g;
    hits += h;
    seen = true;
  }
  return seen && gets > 0 ? hits / gets : null;
}

function num(v: unknown): number {
  return typeof v === "number" ? v : NaN;
}
