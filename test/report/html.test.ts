import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { renderHtml } from "../../lib/report/html.ts";
import { evaluateThresholds, parseThreshold, withDefaultThresholds } from "../../lib/report/thresholds.ts";
import { verdict } from "../../lib/report/verdict.ts";
import { requireTool } from "../support/requires.ts";

const T0 = Date.UTC(2026, 10, 25, 15, 0, 0);

/** 10 s at 100/s with a 1 s stall at second 5 and a few errors: something worth drawing. */
function sampleSummary() {
  const m = new AttackMetrics();
  for (let i = 0; i < 1000; i++) {
    const due = T0 + i * 10;
    const stalled = i >= 500 && i < 600;
    const status = i % 97 === 0 ? 503 : i === 777 ? 0 : 200;
    const r: ShotResult = {
      seq: i,
      target: { method: "GET", url: "http://x/" },
      due,
      sent: due,
      latencyNs: stalled ? (600 - i) * 10e6 : 400_000 + (i % 13) * 50_000,
      sendLagNs: 30_000,
      status,
      bytesIn: status === 200 ? 25_000 : 0,
      bytesOut: 0,
      ...(status === 0 && { error: "connection reset <by peer>" }),
    };
    m.add(r);
  }
  return m.close();
}

test("renderHtml() is one self-contained page: inline SVG charts, no scripts, nothing fetched", () => {
  const html = renderHtml(sampleSummary(), {
    description: "GET http://127.0.0.1/cas/<hash> at 100/s for 10s",
    extras: { hitRatio: 0.9, cacheStats: null },
  });
  expect(html.startsWith("<!doctype html>")).toBe(true);
  expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(2);
  expect(html).toContain("<polyline");
  expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
  expect(html).not.toMatch(/\b(src|href)=/i);
  // user-controlled text is escaped
  expect(html).toContain("connection reset &#60;by peer&#62;");
  expect(html).toContain("&#60;hash&#62;");
  for (const label of ["Latency over time", "Latency by percentile", "Status codes", "503", "90.00%"]) {
    expect(html).toContain(label);
  }
});

test("renderHtml() shows the rates, the per-target and X-Cache tables, and the thresholds with the verdict", () => {
  const summary = sampleSummary();
  const thresholds = evaluateThresholds(withDefaultThresholds([parseThreshold("p99<5ms")]), summary);
  const html = renderHtml(summary, {
    extras: { hitRatio: null, cacheStats: null, thresholds, verdict: verdict(summary, thresholds) },
  });
  expect(html).toContain("<th>Rate target / achieved</th>");
  expect(html).toContain("<h2>Per target</h2>");
  expect(html).toContain('<th>GET http://x/</th><td class="num">1000</td>');
  expect(html).toContain("<h2>Thresholds</h2>");
  expect(html).toContain('<th class="bad">FAIL</th><td>p99&#60;5ms</td>');
  expect(html).toContain("<th>PASS</th><td>integrity_failures==0</td>");
  expect(html).toContain('<p class="bad">Exit 1: the system under test broke 1 threshold: p99&#60;5ms</p>');
  expect(renderHtml(summary)).not.toContain("<h2>Thresholds</h2>");
});

test("renderHtml() with no requests still renders", () => {
  const html = renderHtml(new AttackMetrics().close());
  expect(html).toContain("no requests");
  expect(html).not.toContain("NaN");
});

const hasChromium = requireTool("chromium", "apt-get install chromium");

test.skipIf(!hasChromium)(
  "the HTML report renders in headless Chromium (screenshot)",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "cas-html-"));
    try {
      const page = join(dir, "report.html");
      const png = join(dir, "report.png");
      writeFileSync(page, renderHtml(sampleSummary(), { description: "sample run" }));
      const proc = Bun.spawn(
        [
          "chromium",
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${join(dir, "profile")}`,
          `--screenshot=${png}`,
          "--window-size=1200,900",
          `file://${page}`,
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      const code = await proc.exited;
      expect(code).toBe(0);
      expect(existsSync(png)).toBe(true);
      // A blank page compresses to a few kB; text and two charts take tens of kB.
      expect(statSync(png).size).toBeGreaterThan(20_000);
      const bytes = readFileSync(png);
      expect([...bytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
      expect(bytes.readUInt32BE(16)).toBe(1200); // IHDR width
      if (process.env.KEEP_SCREENSHOT) writeFileSync(process.env.KEEP_SCREENSHOT, bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  60_000,
);
