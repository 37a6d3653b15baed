// The chart description shared by the Vega-Lite, SVG and text renderers, and the scale helpers they share.

export type ChartRow = Record<string, string | number>;

export interface ChartSpec {
  kind: "bar" | "line";
  title: string;
  /** category (bar) or position (line) field */
  x: { field: string; title?: string };
  y: { field: string; title?: string };
  /** splits rows into series (grouped bars / one line per series) */
  series?: { field: string; title?: string };
  data: ChartRow[];
}

/** Distinct values of a field in first-seen order. */
export function distinct(rows: ChartRow[], field: string): string[] {
  const seen = new Set<string>();
  for (const r of rows) seen.add(String(r[field]));
  return [...seen];
}

/** "Nice" upper bound for an axis so ticks land on round numbers. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  const f = max / exp;
  const step = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return step * exp;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(2);
}
