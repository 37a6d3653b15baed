// One chart description rendered three ways: Vega-Lite (JupyterLab renders it natively), a static SVG
// (nbconvert/HTML and front ends without Vega), and text (the REPL). Nothing is fetched at render time.
import { chartSvg } from "./chart-svg.js";
import { chartText } from "./chart-text.js";
import type { ChartSpec } from "./chart-types.js";

export type { ChartRow, ChartSpec } from "./chart-types.js";

export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

export function chartVegaLite(spec: ChartSpec): Record<string, unknown> {
  const xType = spec.kind === "line" && spec.data.every((r) => typeof r[spec.x.field] === "number") ? "quantitative" : "nominal";
  const encoding: Record<string, unknown> = {
    // sort: null keeps the data's order (prefill, decode, other), which Vega-Lite would make alphabetical
    x: { field: spec.x.field, type: xType, title: spec.x.title ?? spec.x.field, ...(xType === "nominal" ? { sort: null } : {}) },
    y: { field: spec.y.field, type: "quantitative", title: spec.y.title ?? spec.y.field },
    tooltip: Object.keys(spec.data[0] ?? {}).map((field) => ({ field })),
  };
  if (spec.series) {
    // Below the plot and without Vega-Lite's 160 px label limit, so long series names ("smollm2 (affine
    // 4-bit g32) generation") stay whole and the series can be told apart.
    encoding.color = {
      field: spec.series.field, type: "nominal", title: spec.series.title ?? spec.series.field, sort: null,
      legend: { orient: "bottom", direction: "vertical", labelLimit: 0 },
    };
    if (spec.kind === "bar") encoding.xOffset = { field: spec.series.field, sort: null };
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: spec.title,
    width: 480,
    height: 240,
    data: { values: spec.data },
    mark: spec.kind === "bar" ? { type: "bar" } : { type: "line", point: true },
    encoding,
    // vega-embed (JupyterLab's renderer) reads this: SVG keeps axis and legend text as text, selectable and readable
    usermeta: { embedOptions: { renderer: "svg" } },
  };
}

/** The mime bundle for display(): every front end picks the richest type it renders. */
export function chartBundle(spec: ChartSpec): Record<string, unknown> {
  return {
    [VEGALITE_MIME]: chartVegaLite(spec),
    "image/svg+xml": chartSvg(spec),
    "text/plain": chartText(spec),
  };
}
