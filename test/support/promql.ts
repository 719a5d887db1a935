/**
 * Just enough PromQL and exposition-format reading for the monitoring tests: which metric names an
 * expression selects, which names a /metrics page exposes, and the dashboard's queries.
 */
import { DASHBOARD_PATH } from "../../scripts/dashboard-configmap.ts";

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "group_left", "group_right", "atan2"]);

/** Metric names selected by `expr`: identifiers that are not functions, keywords, labels or strings. */
export function metricNamesInExpr(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\boffset\s+-?\S+/g, " ");
  const names = new Set<string>();
  // Not right after a digit or a dot: "5m", "1e3" and "Inf" in "+Inf" are no names.
  for (const m of stripped.matchAll(/(?<![\w.+])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(m[0]) || /^(inf|nan)$/i.test(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Every series name a /metrics page can carry: histograms add _bucket, _sum and _count. */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    names.add(name!);
    if (type === "histogram" || type === "summary") for (const s of ["_bucket", "_sum", "_count"]) names.add(name! + s);
  }
  return names;
}

export interface DashboardQuery {
  panel: string;
  expr: string;
}

// `any`: Grafana's dashboard JSON; the dashboard test checks the parts it relies on.
export type DashboardJson = Record<string, any>;

export async function loadDashboard(): Promise<DashboardJson> {
  return (await Bun.file(DASHBOARD_PATH).json()) as DashboardJson;
}

/** Every query of every panel, rows' nested panels included. */
export function dashboardQueries(dashboard: DashboardJson): DashboardQuery[] {
  const panels: DashboardJson[] = dashboard.panels.flatMap((p: DashboardJson) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) => (p.targets ?? []).map((t: DashboardJson) => ({ panel: p.title, expr: t.expr })));
}

/** A dashboard query made runnable outside Grafana: its interval variables become a fixed range. */
export function withFixedInterval(expr: string, range = "1m"): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, range);
}
