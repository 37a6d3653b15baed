import { describe, expect, it } from "vitest";
import { chartBundle, chartVegaLite, VEGALITE_MIME } from "../../kernel/display/chart.js";
import { chartSvg } from "../../kernel/display/chart-svg.js";
import { chartText } from "../../kernel/display/chart-text.js";
import { niceMax, type ChartSpec } from "../../kernel/display/chart-types.js";

const bars: ChartSpec = {
  kind: "bar",
  title: "Decode <tok/s>",
  x: { field: "model" },
  y: { field: "tps", title: "tok/s" },
  series: { field: "engine" },
  data: [
    { model: "qwen3", engine: "mlx-ts", tps: 40 },
    { model: "qwen3", engine: "mlx-lm", tps: 20 },
    { model: "llama", engine: "mlx-ts", tps: 10 },
  ],
};

describe("chart", () => {
  it("bundles Vega-Lite, SVG and text of the same data", () => {
    const b = chartBundle(bars);
    expect(Object.keys(b).sort()).toEqual(["image/svg+xml", "text/plain", VEGALITE_MIME].sort());
    const vl = b[VEGALITE_MIME] as { data: { values: unknown[] }; mark: { type: string }; encoding: Record<string, unknown> };
    expect(vl.data.values).toEqual(bars.data);
    expect(vl.mark.type).toBe("bar");
    expect(vl.encoding.color).toMatchObject({ field: "engine" });
  });

  it("draws one SVG rect per bar, heights proportional to values, and escapes text", () => {
    const svg = chartSvg(bars);
    const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"/g)].map((m) => Number(m[1]));
    // 3 bars + 2 legend swatches (height 10)
    const barHeights = heights.slice(0, 3);
    expect(barHeights[0] / barHeights[1]).toBeCloseTo(2, 1);
    expect(barHeights[0] / barHeights[2]).toBeCloseTo(4, 1);
    expect(svg).toContain("Decode &lt;tok/s&gt;");
    expect(svg).not.toContain("<tok/s>");
  });

  it("draws a path per series for line charts with numeric x", () => {
    const spec: ChartSpec = {
      kind: "line", title: "memory", x: { field: "t" }, y: { field: "bytes" }, series: { field: "kind" },
      data: [0, 1, 2].flatMap((t) => [{ t, kind: "active", bytes: t * 10 }, { t, kind: "peak", bytes: 30 }]),
    };
    expect([...chartSvg(spec).matchAll(/<path /g)]).toHaveLength(2);
    expect((chartVegaLite(spec).encoding as { x: { type: string } }).x.type).toBe("quantitative");
  });

  it("renders text bars whose length follows the value", () => {
    const lines = chartText(bars).split("\n");
    const count = (l: string) => (l.match(/█/g) ?? []).length;
    expect(count(lines[1])).toBe(40);
    expect(count(lines[2])).toBe(20);
    expect(lines[1]).toContain("40");
  });

  it("rounds axis maxima up to round numbers", () => {
    expect(niceMax(37)).toBe(50);
    expect(niceMax(0.8)).toBe(1);
    expect(niceMax(0)).toBe(1);
    expect(niceMax(1200)).toBe(2000);
  });

  it("keeps the data's category order (prefill, decode, other) in Vega-Lite, SVG and text", () => {
    const phases: ChartSpec = {
      kind: "bar", title: "phases", x: { field: "phase" }, y: { field: "ms" },
      data: [{ phase: "prefill", ms: 30 }, { phase: "decode", ms: 50 }, { phase: "other", ms: 5 }],
    };
    const vl = chartVegaLite(phases) as { encoding: { x: { sort?: unknown } } };
    expect(vl.encoding.x.sort).toBeNull();
    const svgOrder = [...chartSvg(phases).matchAll(/>(prefill|decode|other)</g)].map((m) => m[1]);
    expect(svgOrder).toEqual(["prefill", "decode", "other"]);
    const text = chartText(phases);
    expect(text.indexOf("prefill")).toBeLessThan(text.indexOf("decode"));
    expect(text.indexOf("decode")).toBeLessThan(text.indexOf("other"));
  });

  it("shows long series names whole: Vega-Lite without a label limit, the SVG legend under the plot", () => {
    const long = "smollm2 (affine 4-bit g32)";
    const spec: ChartSpec = {
      kind: "bar", title: "Throughput", x: { field: "point" }, y: { field: "tok/s" }, series: { field: "series" },
      data: [{ point: "p32 g16", series: `${long} prompt`, "tok/s": 90 }, { point: "p32 g16", series: `${long} generation`, "tok/s": 9 }],
    };
    const vl = chartVegaLite(spec) as { encoding: { color: { legend: { labelLimit: number; orient: string } } } };
    expect(vl.encoding.color.legend.labelLimit).toBe(0);
    expect(vl.encoding.color.legend.orient).toBe("bottom");
    const svg = chartSvg(spec);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    for (const label of [`${long} prompt`, `${long} generation`]) {
      const m = new RegExp(`<text x="([\\d.]+)" y="([\\d.]+)" font-size="11">${label.replace(/[()]/g, "\\$&")}</text>`).exec(svg)!;
      expect(m, label).not.toBeNull();
      // the label starts far enough left to fit, and lies inside the image
      expect(Number(m[1]) + label.length * 6.5).toBeLessThanOrEqual(width);
      expect(Number(m[2])).toBeLessThanOrEqual(height);
    }
  });
});
