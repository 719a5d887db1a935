/**
 * The latency-over-time series of a report: results counted into windows by due time, each window with its
 * request and failure counts and a latency histogram. Windows sit at whole multiples of their width since the
 * epoch, so series from several runs line up and merge exactly; a width doubles while there are more than
 * `maxPoints` windows. Synchronous, no I/O.
 */
import { HdrHistogram } from "./hdr-histogram.ts";

/** One window of the series. */
export interface SeriesPoint {
  /** Window start, seconds since the series start. */
  t: number;
  requests: number;
  /** Responses outside 200..399, including status 0. */
  failures: number;
  p50: number;
  p99: number;
  max: number;
  /** The window's latencies (ns, 2 significant digits). */
  histogram: HdrHistogram;
}

export interface Series {
  /** Epoch ms where the first window starts (a multiple of windowMs); undefined when empty. */
  startMs: number | undefined;
  windowMs: number;
  points: SeriesPoint[];
}

/** Points a series keeps at most: 1000 one-second windows cover a run of a quarter of an hour. */
export const MAX_SERIES_POINTS = 1000;

/** The open windows of a series, by absolute index (epoch ms / width). */
export interface Window {
  requests: number;
  failures: number;
  histogram: HdrHistogram;
}

/** Collects results into windows; `close()` gives the points. */
export class TimeSeries {
  #windowMs: number;
  #maxPoints: number;
  #windows = new Map<number, Window>();
  #first = Infinity;
  #last = -Infinity;

  constructor(windowMs = 1000, maxPoints = MAX_SERIES_POINTS) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs))
      throw new RangeError(`'windowMs' must be positive, got ${windowMs}`);
    this.#windowMs = windowMs;
    this.#maxPoints = maxPoints;
  }

  add(dueMs: number, latencyNs: number, ok: boolean): void {
    const w = this.#window(Math.floor(dueMs / this.#windowMs));
    w.requests++;
    if (!ok) w.failures++;
    w.histogram.record(latencyNs);
  }

  /** Adds a window of another series with the same or a smaller width that divides this one's. */
  addWindow(startMs: number, window: Window): void {
    const w = this.#window(Math.floor(startMs / this.#windowMs));
    w.requests += window.requests;
    w.failures += window.failures;
    w.histogram.merge(window.histogram);
  }

  #window(index: number): Window {
    let w = this.#windows.get(index);
    if (w === undefined) {
      w = { requests: 0, failures: 0, histogram: seriesHistogram() };
      this.#windows.set(index, w);
      if (index < this.#first) this.#first = index;
      if (index > this.#last) this.#last = index;
      // memory stays bounded whatever the run's length: twice the points kept, then wider windows
      if (this.#last - this.#first + 1 > 2 * this.#maxPoints) {
        const startMs = index * this.#windowMs;
        this.#widen();
        return this.#window(Math.floor(startMs / this.#windowMs));
      }
    }
    return w;
  }

  /** Doubles the width, folding window pairs together. */
  #widen(): void {
    const old = this.#windows;
    const oldWidth = this.#windowMs;
    this.#windowMs *= 2;
    this.#windows = new Map();
    this.#first = Infinity;
    this.#last = -Infinity;
    for (const [index, w] of old) this.addWindow(index * oldWidth, w);
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  close(): Series {
    while (this.#windows.size > 0 && this.#last - this.#first + 1 > this.#maxPoints) this.#widen();
    if (this.#windows.size === 0) return { startMs: undefined, windowMs: this.#windowMs, points: [] };
    const points: SeriesPoint[] = [];
    for (let i = this.#first; i <= this.#last; i++) {
      const w = this.#windows.get(i) ?? { requests: 0, failures: 0, histogram: seriesHistogram() };
      const h = w.histogram;
      points.push({
        t: ((i - this.#first) * this.#windowMs) / 1000,
        requests: w.requests,
        failures: w.failures,
        p50: w.requests === 0 ? 0 : Math.round(h.quantile(0.5)),
        p99: w.requests === 0 ? 0 : Math.round(h.quantile(0.99)),
        max: w.requests === 0 ? 0 : Math.round(h.max),
        histogram: h,
      });
    }
    return { startMs: this.#first * this.#windowMs, windowMs: this.#windowMs, points };
  }
}

/** Two significant digits: 1% is plenty for a chart and keeps a long run's windows small. */
export function seriesHistogram(): HdrHistogram {
  return new HdrHistogram({ significantDigits: 2 });
}

/**
 * One series from several (pure: the inputs are not changed): windows summed at the widest width, which must be a
 * multiple of every other. Throws RangeError otherwise.
 */
export function mergeSeries(series: readonly Series[]): Series {
  const width = Math.max(1, ...series.map((s) => s.windowMs));
  for (const s of series) {
    if (width % s.windowMs !== 0) throw new RangeError(`Cannot merge windows of ${s.windowMs} ms into ${width} ms`);
  }
  const merged = new TimeSeries(width);
  for (const s of series) {
    const start = s.startMs;
    if (start === undefined) continue;
    s.points.forEach((p, i) => {
      if (p.requests === 0) return;
      const copy = seriesHistogram();
      copy.merge(p.histogram);
      merged.addWindow(start + i * s.windowMs, { requests: p.requests, failures: p.failures, histogram: copy });
    });
  }
  return merged.close();
}
