// The registry as tables and a chart: %models (every registered model and the budget), the per-model
// part of %memory (weights and KV of each resident model, beside MLX's own counters), and %fit.
import type { FitRow } from "../engine/estimate.js";
import type { ModelRow } from "../engine/registry.js";
import type { MimeBundle } from "../protocol.js";
import { formatBytes } from "../util/bytes.js";
import { chartBundle, type ChartRow } from "./chart.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "./mime.js";

export interface BudgetView {
  bytes: number;
  basis: string;
  used: number;
}

const when = (d: Date | undefined): string => (d ? d.toISOString().slice(11, 19) : "never");

export function fleetTableData(rows: ModelRow[]): TableData {
  return {
    columns: ["name", "architecture", "quantization", "role", "priority", "resident", "weight bytes", "KV bytes", "charged", "context", "last used", "generations"],
    rows: rows.map((r) => [
      r.name,
      r.shards ? `${r.architecture}, sharded: ${r.shards}` : r.architecture, // dist
      r.quantization,
      r.role ?? "",
      String(r.priority),
      r.resident ? (r.generating ? "yes (generating)" : "yes") : "no",
      `${formatBytes(r.weightBytes)}${r.weightsEstimated ? " (est.)" : ""}`,
      formatBytes(r.kvBytes),
      formatBytes(r.charge),
      String(r.context),
      when(r.lastUsed),
      String(r.generations),
    ]),
  };
}

export function budgetLine(b: BudgetView): string {
  return `Model budget ${formatBytes(b.bytes)} (${b.basis}); resident models are charged ${formatBytes(b.used)} (weights from MLX + KV cache at each model's context), ${formatBytes(Math.max(0, b.bytes - b.used))} free.`;
}

export function fleetTableBundle(rows: ModelRow[], b: BudgetView): MimeBundle {
  if (rows.length === 0) return { "text/plain": `No models registered or loaded. %load smollm2, or %register NAME PATH --role ROLE.\n${budgetLine(b)}` };
  const t = fleetTableData(rows);
  const note = `${budgetLine(b)} "(est.)": from the checkpoint's headers, not resident. KV bytes: positions cached × 2 × layers × KV heads × head dim × dtype size, in 256-position steps.`;
  return { "text/plain": `${tableText(t)}\n${note}`, "text/html": `${tableHtml(t)}<div style="opacity:0.7;font-size:smaller">${note}</div>`, [TABLE_MIME]: t };
}

/** %memory's per-model part: what each resident model holds and is charged. */
export function perModelTableBundle(rows: ModelRow[], b: BudgetView): MimeBundle {
  const t: TableData = {
    columns: ["model", "weights", "KV cache", "charged", "share of budget"],
    rows: rows.map((r) => [r.name, formatBytes(r.weightBytes), formatBytes(r.kvBytes), formatBytes(r.charge), `${((r.charge / b.bytes) * 100).toFixed(1)}%`]),
  };
  t.rows.push(["(all resident)", formatBytes(rows.reduce((s, r) => s + r.weightBytes, 0)), formatBytes(rows.reduce((s, r) => s + r.kvBytes, 0)), formatBytes(b.used), `${((b.used / b.bytes) * 100).toFixed(1)}% of ${formatBytes(b.bytes)}`]);
  return { "text/plain": `${tableText(t)}\n${budgetLine(b)}`, "text/html": `${tableHtml(t)}<div style="opacity:0.7;font-size:smaller">${budgetLine(b)}</div>`, [TABLE_MIME]: t };
}

/** Per resident model, weights and KV, as a grouped bar chart. */
export function perModelChartBundle(rows: ModelRow[], b: BudgetView): MimeBundle {
  const data: ChartRow[] = [];
  for (const r of rows.filter((x) => x.resident)) {
    data.push({ model: r.name, part: "weights", MB: r.weightBytes / 1e6 });
    data.push({ model: r.name, part: "KV cache", MB: r.kvBytes / 1e6 });
    data.push({ model: r.name, part: "KV reserved (unused)", MB: Math.max(0, r.charge - r.weightBytes - r.kvBytes) / 1e6 });
  }
  return chartBundle({ kind: "bar", title: `Resident models against the ${formatBytes(b.bytes)} budget`, x: { field: "model" }, y: { field: "MB", title: "memory (MB)" }, series: { field: "part" }, data });
}

export function fitTableBundle(name: string, rows: FitRow[], budget: number, source: string): MimeBundle {
  const t: TableData = {
    columns: ["bits", "context", "weights", "KV cache", "total", `fits ${formatBytes(budget)}`],
    rows: rows.map((r) => [String(r.bits), `${r.context / 1024}k`, formatBytes(r.weightBytes), formatBytes(r.kvBytes), formatBytes(r.total), r.fits ? "yes" : "no"]),
  };
  const note = `${name}: estimated from ${source}'s headers (weights: 16 bits, or packed bits + a 16-bit scale and bias per 64 weights; KV at the model's compute dtype).`;
  return { "text/plain": `${tableText(t)}\n${note}`, "text/html": `${tableHtml(t)}<div style="opacity:0.7;font-size:smaller">${note}</div>`, [TABLE_MIME]: t };
}
