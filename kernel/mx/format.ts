// The HTML form of an array: a table of (at most) the first and last few rows and columns, with shape
// and dtype. The text form is MLX's own printer (NativeArray.repr), the same text Python shows.
import { escapeHtml } from "../util/html.js";
import type { Dtype } from "./dtype.js";

export const EDGE = 10;


/** One element as MLX prints it: integers plainly, floats with 6 significant digits. */
export function formatValue(v: number | bigint | boolean, dtype: Dtype): string {
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "bigint") return v.toString();
  if (dtype === "bool") return v ? "True" : "False";
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return String(v);
  return String(Number(v.toPrecision(6)));
}

/** Source indices kept along an axis of size n: all, or the first and last EDGE with a gap marker (-1). */
export function keptIndices(n: number): number[] {
  if (n <= 2 * EDGE) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: EDGE }, (_, i) => i), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)];
}

export interface SummaryTable {
  /** row labels: the index of every axis but the last, e.g. "(0, 3)"; "⋮" for a gap */
  rowLabels: string[];
  colLabels: string[];
  cells: string[][];
}

/**
 * Lays out the values of a summarised array (each axis already cut to keptIndices) as rows over the
 * last axis. `values` is row-major over the summarised shape; `kept` holds each axis's source indices.
 */
export function summaryTable(values: ArrayLike<number | bigint | boolean>, kept: number[][], dtype: Dtype): SummaryTable {
  const ndim = kept.length;
  if (ndim === 0) return { rowLabels: [""], colLabels: [""], cells: [[formatValue(values[0]!, dtype)]] };
  const cols = kept[ndim - 1]!;
  const lead = kept.slice(0, -1);
  const colLabels = cols.map((c) => (c < 0 ? "…" : String(c)));
  const rowLabels: string[] = [];
  const cells: string[][] = [];
  const idx = lead.map(() => 0);
  const rowCount = lead.reduce((n, k) => n * k.length, 1);
  let offset = 0;
  for (let r = 0; r < rowCount; r++) {
    const src = idx.map((p, ax) => lead[ax]![p]!);
    const gap = src.some((s) => s < 0);
    const previousWasGap = rowLabels.length > 0 && rowLabels[rowLabels.length - 1] === "⋮";
    if (!(gap && previousWasGap)) rowLabels.push(gap ? "⋮" : lead.length === 0 ? "" : lead.length === 1 ? String(src[0]) : `(${src.join(", ")})`);
    const row: string[] = [];
    for (const c of cols) {
      if (c < 0 || gap) row.push(c < 0 && !gap ? "…" : "⋮");
      else row.push(formatValue(values[offset++]!, dtype));
    }
    if (!(gap && previousWasGap)) cells.push(row);
    for (let ax = idx.length - 1; ax >= 0; ax--) {
      idx[ax]!++;
      if (idx[ax]! < lead[ax]!.length) break;
      idx[ax] = 0;
    }
  }
  return { rowLabels, colLabels, cells };
}

export function tableHtml(t: SummaryTable, shape: readonly number[], dtype: Dtype): string {
  const caption = `array of shape (${shape.join(", ")}${shape.length === 1 ? "," : ""}), dtype ${dtype}`;
  const showRowLabels = shape.length > 1;
  const head = shape.length === 0 ? "" :
    `<thead><tr>${showRowLabels ? "<th></th>" : ""}${t.colLabels.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`;
  const body = t.cells.map((row, i) =>
    `<tr>${showRowLabels ? `<th>${escapeHtml(t.rowLabels[i]!)}</th>` : ""}${row.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  return `<div class="mlx-ts-array"><table style="font-family: monospace"><caption style="caption-side: bottom; text-align: left">${escapeHtml(caption)}</caption>${head}<tbody>${body}</tbody></table></div>`;
}
