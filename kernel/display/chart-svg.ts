// Static SVG rendering of a ChartSpec: self-contained markup, so nbconvert/HTML exports and front ends
// without a Vega renderer still show the chart.
import { distinct, formatNumber, niceMax, type ChartSpec } from "./chart-types.js";

const W = 560;
const H = 300;
const M = { left: 64, right: 120, top: 36, bottom: 56 };
/** average width of an 11 px sans-serif character, for fitting legend labels */
const LABEL_CHAR_PX = 6.5;
const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6"];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

export function chartSvg(spec: ChartSpec): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const ys = spec.data.map((r) => Number(r[spec.y.field])).filter(Number.isFinite);
  const yMax = niceMax(Math.max(0, ...ys));
  const yPos = (v: number) => M.top + plotH - (v / yMax) * plotH;
  const series = spec.series ? distinct(spec.data, spec.series.field) : [""];
  const colour = (s: string) => PALETTE[Math.max(0, series.indexOf(s)) % PALETTE.length];
  const seriesOf = (r: Record<string, string | number>) => (spec.series ? String(r[spec.series.field]) : "");
  const parts: string[] = [];

  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = yPos(v);
    parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${formatNumber(v)}</text>`);
  }
  parts.push(`<text transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.y.title ?? spec.y.field)}</text>`);
  parts.push(`<text x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${escapeXml(spec.x.title ?? spec.x.field)}</text>`);

  if (spec.kind === "bar") {
    const cats = distinct(spec.data, spec.x.field);
    const band = plotW / Math.max(1, cats.length);
    const barW = (band * 0.8) / series.length;
    for (const r of spec.data) {
      const ci = cats.indexOf(String(r[spec.x.field]));
      const si = series.indexOf(seriesOf(r));
      const v = Number(r[spec.y.field]);
      if (!Number.isFinite(v)) continue;
      const x = M.left + ci * band + band * 0.1 + si * barW;
      const y = yPos(v);
      parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${(M.top + plotH - y).toFixed(1)}" fill="${colour(seriesOf(r))}"><title>${escapeXml(`${r[spec.x.field]} ${seriesOf(r)}: ${formatNumber(v)}`)}</title></rect>`);
    }
    cats.forEach((c, i) => parts.push(`<text x="${(M.left + (i + 0.5) * band).toFixed(1)}" y="${M.top + plotH + 16}" text-anchor="middle" font-size="11">${escapeXml(c)}</text>`));
  } else {
    const xs = spec.data.map((r) => Number(r[spec.x.field]));
    const numeric = xs.every(Number.isFinite);
    const cats = distinct(spec.data, spec.x.field);
    const xMin = numeric ? Math.min(...xs) : 0;
    const xMax = numeric ? Math.max(...xs) : Math.max(1, cats.length - 1);
    const xPos = (r: Record<string, string | number>) => {
      const v = numeric ? Number(r[spec.x.field]) : cats.indexOf(String(r[spec.x.field]));
      return M.left + (xMax === xMin ? plotW / 2 : ((v - xMin) / (xMax - xMin)) * plotW);
    };
    for (const s of series) {
      const pts = spec.data.filter((r) => seriesOf(r) === s && Number.isFinite(Number(r[spec.y.field])));
      const d = pts.map((r, i) => `${i ? "L" : "M"}${xPos(r).toFixed(1)},${yPos(Number(r[spec.y.field])).toFixed(1)}`).join(" ");
      if (d) parts.push(`<path d="${d}" fill="none" stroke="${colour(s)}" stroke-width="2"/>`);
    }
    const ticks = numeric ? [xMin, (xMin + xMax) / 2, xMax] : cats.map((_, i) => i);
    for (const t of ticks) {
      const x = M.left + (xMax === xMin ? plotW / 2 : ((t - xMin) / (xMax - xMin)) * plotW);
      const label = numeric ? formatNumber(t) : cats[t];
      parts.push(`<text x="${x.toFixed(1)}" y="${M.top + plotH + 16}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`);
    }
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#333"/>`);
  let height = H;
  if (spec.series) {
    // Names too long for the right margin go in rows under the plot instead of running off the image.
    const below = series.some((s) => s.length * LABEL_CHAR_PX > M.right - 30);
    series.forEach((s, i) => {
      const x = below ? M.left : W - M.right + 12;
      const y = below ? H + 4 + i * 18 : M.top + 8 + i * 18;
      parts.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${colour(s)}"/>`);
      parts.push(`<text x="${x + 16}" y="${y}" font-size="11">${escapeXml(s)}</text>`);
    });
    if (below) height = H + 8 + series.length * 18;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" role="img" aria-label="${escapeXml(spec.title)}">${parts.join("")}</svg>`;
}
