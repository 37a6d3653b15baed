// The HTML form of an array: a table of (at most) the first and last few rows and columns, with shape
// and dtype. The text form is MLX's own printer (NativeArray.repr) with the elements padded into
// columns the way numpy prints them.
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
  // The caption sits under the table as a line of its own: inside <table> it would wrap to the width of a small table.
  return `<div class="mlx-ts-array"><table style="font-family: monospace">${head}<tbody>${body}</tbody></table>` +
    `<div class="mlx-ts-array-caption" style="white-space: nowrap; font-size: smaller; opacity: 0.8">${escapeHtml(caption)}</div></div>`;
}

/** An element in MLX's text form: between `[`, a space or `,` and the next `,` or `]` (the "..." gap is not one). */
const ELEMENT = /(?<=[[\s,])(?!\.\.\.)([^[\],\s]+)(?=[,\]])/g;
const DECIMAL = /^-?\d+(\.\d*)?$/;

/**
 * MLX's repr with every element padded to one width, as numpy does: integers and words right-aligned
 * (`[ 8,  9, 10, 11]`, `[ True, False]`), decimals aligned on the point (`[1.5 , 2.25]`).
 */
export function alignRepr(text: string): string {
  const end = text.lastIndexOf("]");
  if (end < 0) return text;
  const body = text.slice(0, end + 1);
  const tokens = [...body.matchAll(ELEMENT)].map((m) => m[1]!);
  if (tokens.length < 2) return text;
  let pad: (t: string) => string;
  if (tokens.some((t) => t.includes(".")) && tokens.every((t) => DECIMAL.test(t))) {
    const split = (t: string): [string, string] => {
      const i = t.indexOf(".");
      return i < 0 ? [t, ""] : [t.slice(0, i), t.slice(i)];
    };
    const intW = Math.max(...tokens.map((t) => split(t)[0].length));
    const fracW = Math.max(...tokens.map((t) => split(t)[1].length));
    pad = (t) => {
      const [i, f] = split(t);
      return i.padStart(intW) + f.padEnd(fracW);
    };
  } else {
    const w = Math.max(...tokens.map((t) => t.length));
    pad = (t) => t.padStart(w);
  }
  return body.replace(ELEMENT, (t) => pad(t)) + text.slice(end + 1);
}
