// Text rendering of a ChartSpec for the terminal REPL: horizontal bars for bar charts, one sparkline
// per series for line charts, with the numbers printed so nothing depends on reading the bars.
import { distinct, formatNumber, type ChartSpec } from "./chart-types.js";

const BAR_WIDTH = 40;
const SPARKS = "▁▂▃▄▅▆▇█";

export function chartText(spec: ChartSpec): string {
  const lines = [spec.title];
  const yTitle = spec.y.title ?? spec.y.field;
  const label = (r: Record<string, string | number>) =>
    spec.series ? `${r[spec.x.field]} · ${r[spec.series.field]}` : String(r[spec.x.field]);
  if (spec.kind === "bar") {
    const max = Math.max(0, ...spec.data.map((r) => Number(r[spec.y.field])).filter(Number.isFinite));
    const width = Math.max(...spec.data.map((r) => label(r).length), 1);
    for (const r of spec.data) {
      const v = Number(r[spec.y.field]);
      const n = max > 0 && Number.isFinite(v) ? Math.round((v / max) * BAR_WIDTH) : 0;
      lines.push(`${label(r).padEnd(width)} │${"█".repeat(n)}${" ".repeat(BAR_WIDTH - n)}│ ${formatNumber(v)}`);
    }
    lines.push(`${" ".repeat(width)}  ${yTitle}`);
    return lines.join("\n");
  }
  const series = spec.series ? distinct(spec.data, spec.series.field) : [""];
  const width = Math.max(...series.map((s) => s.length), 1);
  for (const s of series) {
    const vals = spec.data
      .filter((r) => !spec.series || String(r[spec.series.field]) === s)
      .map((r) => Number(r[spec.y.field]))
      .filter(Number.isFinite);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const spark = vals.map((v) => SPARKS[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * (SPARKS.length - 1))]).join("");
    lines.push(`${s.padEnd(width)} ${spark}  ${yTitle} ${formatNumber(lo)} … ${formatNumber(hi)}`);
  }
  return lines.join("\n");
}
