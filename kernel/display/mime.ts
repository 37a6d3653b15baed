// Values to Jupyter mime bundles. Any object can choose its own rich form through the display protocol
// (as in Deno): a method under Symbol.for("Jupyter.display") returning a mime bundle.
import { inspect, types } from "node:util";
import type { MimeBundle } from "../protocol.js";
import { escapeHtml } from "../util/html.js";
import { generationResultBundle, isGenerationResult } from "./generation-result.js";

export const DISPLAY_SYMBOL: unique symbol = Symbol.for("Jupyter.display") as never;
/** Rows of an array of plain objects, for front ends that draw their own tables (the REPL). */
export const TABLE_MIME = "application/vnd.mlx-ts.table+json";
const MAX_TABLE_ROWS = 1000;

export interface TableData {
  columns: string[];
  rows: unknown[][];
}

export function plainText(value: unknown): string {
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 100 });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  // objects from the cell's vm context have that realm's Object.prototype, so compare by shape, not identity
  return proto === null || Object.getPrototypeOf(proto) === null;
}

export function tableOf(value: unknown): TableData | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_TABLE_ROWS) return undefined;
  if (!value.every(isPlainObject)) return undefined;
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of value as Record<string, unknown>[]) {
    for (const k of Object.keys(row)) if (!seen.has(k)) { seen.add(k); columns.push(k); }
  }
  return { columns, rows: (value as Record<string, unknown>[]).map((r) => columns.map((c) => r[c])) };
}

function cellText(v: unknown): string {
  return typeof v === "string" ? v : v === undefined ? "" : inspect(v, { colors: false, depth: 1, breakLength: Infinity });
}

export function tableHtml(t: TableData): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = t.rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(cellText(v))}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A fixed-width text table (the REPL's rendering of TABLE_MIME). */
export function tableText(t: TableData): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map(cellText))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join(" │ ").trimEnd();
  return [line(cells[0]!), widths.map((w) => "─".repeat(w)).join("─┼─"), ...cells.slice(1).map(line)].join("\n");
}

function hasDisplayMethod(v: unknown): v is { [DISPLAY_SYMBOL](): unknown } {
  return (typeof v === "object" || typeof v === "function") && v !== null &&
    typeof (v as Record<symbol, unknown>)[DISPLAY_SYMBOL] === "function";
}

function asBundle(v: unknown): MimeBundle | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.includes("/")) ? (v as MimeBundle) : undefined;
}

/** `Promise { value }`: inspect would also list async-hook bookkeeping that Node attaches to promises of other realms. */
async function promiseText(p: Promise<unknown>): Promise<string> {
  let state: { s: "fulfilled" | "rejected"; v: unknown } | undefined;
  p.then((v) => { state = { s: "fulfilled", v }; }, (v: unknown) => { state = { s: "rejected", v }; });
  await new Promise((r) => setImmediate(r));
  if (!state) return "Promise { <pending> }";
  return `Promise { ${state.s === "rejected" ? "<rejected> " : ""}${plainText(state.v)} }`;
}

/** The mime bundle for a value: its display protocol if it has one, else text/plain (+ an HTML table for rows). */
export async function toMimeBundle(value: unknown): Promise<MimeBundle> {
  if (types.isPromise(value)) return { "text/plain": await promiseText(value) };
  if (hasDisplayMethod(value)) {
    const b = asBundle(await value[DISPLAY_SYMBOL]());
    if (b) return b["text/plain"] === undefined ? { ...b, "text/plain": plainText(value) } : b;
  }
  if (isGenerationResult(value)) return generationResultBundle(value);
  const bundle: MimeBundle = { "text/plain": plainText(value) };
  const table = tableOf(value);
  if (table) {
    bundle["text/html"] = tableHtml(table);
    bundle[TABLE_MIME] = table;
  }
  return bundle;
}

function toBase64(data: string | Uint8Array | ArrayBuffer): string {
  if (typeof data === "string") return data;
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString("base64");
}

const sizeNote = (mime: string, n: number): string => `[${mime} output: ${n} bytes]`;

/** Bundles for display.html(...), display.png(...), ... */
export const bundles = {
  html: (html: string): MimeBundle => ({ "text/html": html, "text/plain": html.replace(/<[^>]*>/g, "").trim() || "[HTML]" }),
  markdown: (md: string): MimeBundle => ({ "text/markdown": md, "text/plain": md }),
  svg: (svg: string): MimeBundle => ({ "image/svg+xml": svg, "text/plain": sizeNote("image/svg+xml", Buffer.byteLength(svg)) }),
  png: (data: string | Uint8Array | ArrayBuffer): MimeBundle => {
    const b64 = toBase64(data);
    return { "image/png": b64, "text/plain": sizeNote("image/png", Buffer.from(b64, "base64").length) };
  },
  jpeg: (data: string | Uint8Array | ArrayBuffer): MimeBundle => {
    const b64 = toBase64(data);
    return { "image/jpeg": b64, "text/plain": sizeNote("image/jpeg", Buffer.from(b64, "base64").length) };
  },
  json: (value: unknown): MimeBundle => ({ "application/json": value, "text/plain": JSON.stringify(value, null, 2) ?? "undefined" }),
  vegalite: (spec: Record<string, unknown>): MimeBundle => ({
    "application/vnd.vegalite.v5+json": spec,
    "text/plain": `[Vega-Lite chart${typeof spec.title === "string" ? `: ${spec.title}` : ""}]`,
  }),
  latex: (tex: string): MimeBundle => ({ "text/latex": tex, "text/plain": tex }),
  text: (text: string): MimeBundle => ({ "text/plain": text }),
};
