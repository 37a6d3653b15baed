// MLX memory as a table (HTML + text), and the %memtrace timeline as a line chart.
import type { NativeMemory } from "../engine/native-types.js";
import type { MimeBundle } from "../protocol.js";
import { formatBytes } from "../util/bytes.js";
import { chartBundle, type ChartRow } from "./chart.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "./mime.js";

export interface MemorySample {
  /** seconds since tracing started */
  t: number;
  active: number;
  peak: number;
  cache: number;
}

/** MLX reports 0 for "no limit" on some backends; say so instead of "0 B". */
const limitText = (n: number): string => (n > 0 ? formatBytes(n) : "none");

export function memoryTableData(mem: NativeMemory, models: { name: string; weightBytes: number }[]): TableData {
  const rows: string[][] = [
    ["active", formatBytes(mem.active), "MLX arrays alive now (mx::get_active_memory)"],
    ["peak", formatBytes(mem.peak), "highest active since the last reset (mx::get_peak_memory)"],
    ["cache", formatBytes(mem.cache), "freed buffers kept for reuse (mx::get_cache_memory)"],
    ["memory limit", limitText(mem.limit), "allocations beyond it fail (%limit memory SIZE)"],
    ["cache limit", limitText(mem.cacheLimit), "cache kept at most this (%limit cache SIZE)"],
  ];
  for (const m of models) rows.push([`weights: ${m.name}`, formatBytes(m.weightBytes), "model weight arrays as stored"]);
  return { columns: ["memory", "bytes", "what"], rows };
}

export function memoryTableBundle(mem: NativeMemory, models: { name: string; weightBytes: number }[]): MimeBundle {
  const t = memoryTableData(mem, models);
  return { "text/plain": tableText(t), "text/html": tableHtml(t), [TABLE_MIME]: t };
}

/** One line per series (active, cache, peak) over time, in MB. */
export function memoryTimelineBundle(samples: MemorySample[], title = "MLX memory over time"): MimeBundle {
  const data: ChartRow[] = [];
  for (const s of samples) {
    const t = Number(s.t.toFixed(3));
    data.push({ "time (s)": t, series: "active", MB: s.active / 1e6 });
    data.push({ "time (s)": t, series: "cache", MB: s.cache / 1e6 });
    data.push({ "time (s)": t, series: "peak", MB: s.peak / 1e6 });
  }
  return chartBundle({ kind: "line", title, x: { field: "time (s)" }, y: { field: "MB", title: "memory (MB)" }, series: { field: "series" }, data });
}
