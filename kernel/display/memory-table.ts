// MLX memory as a table (HTML + text), and the %memtrace timeline as a line chart.
import type { NativeMemory, NativeRuntimeInfo } from "../engine/native-types.js";
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

/** What the memory limit does, per backend (mlx/memory.h: a guideline; the CPU allocator does not check it). */
export function memoryLimitMeaning(backend: NativeRuntimeInfo["backend"] | undefined): string {
  const ours = "%load refuses weights that would pass it";
  if (backend === "cpu") return `not enforced by MLX on the CPU backend (allocations past it succeed while RAM lasts); ${ours} (%limit memory SIZE|default)`;
  return `a guideline: past it MLX waits for running work and frees its cache, and fails only when RAM runs out; ${ours} (%limit memory SIZE|default)`;
}

export function memoryTableData(mem: NativeMemory, models: { name: string; weightBytes: number }[], backend?: NativeRuntimeInfo["backend"]): TableData {
  const rows: string[][] = [
    ["active", formatBytes(mem.active), "MLX arrays alive now (mx::get_active_memory)"],
    ["peak", formatBytes(mem.peak), "highest active since the last reset (mx::get_peak_memory)"],
    ["cache", formatBytes(mem.cache), "freed buffers kept for reuse (mx::get_cache_memory)"],
    ["memory limit", limitText(mem.limit), memoryLimitMeaning(backend)],
    ["cache limit", limitText(mem.cacheLimit), "cache kept at most this (%limit cache SIZE|default)"],
  ];
  for (const m of models) rows.push([`weights: ${m.name}`, formatBytes(m.weightBytes), "model weight arrays as stored"]);
  return { columns: ["memory", "bytes", "what"], rows };
}

export function memoryTableBundle(mem: NativeMemory, models: { name: string; weightBytes: number }[], backend?: NativeRuntimeInfo["backend"]): MimeBundle {
  const t = memoryTableData(mem, models, backend);
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
