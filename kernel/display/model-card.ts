// A loaded model as an HTML card (+ text/plain), and the %models table (HTML + text + rows for the REPL).
import type { NativeModelInfo } from "../engine/native-types.js";
import type { MimeBundle } from "../protocol.js";
import { formatBytes } from "../util/bytes.js";
import { escapeHtml } from "../util/html.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "./mime.js";

export interface ModelSummary {
  name: string;
  source: string;
  info: NativeModelInfo;
  /** MLX default device the model runs on */
  device: string;
  /** e.g. "loaded in 1.23 s" */
  note?: string;
}

export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function quantLabel(info: NativeModelInfo): string {
  const q = info.quantization;
  if (!q) return `none (${info.dtype})`;
  return q.mode === "affine" ? `${q.bits}-bit, group ${q.groupSize}` : `${q.mode} (${q.bits}-bit, group ${q.groupSize})`;
}

function facts(m: ModelSummary): [string, string][] {
  const i = m.info;
  return [
    ["architecture", i.architecture === i.modelType ? i.architecture : `${i.architecture} (${i.modelType})`],
    ["parameters", formatParams(i.numParameters)],
    ["quantization", quantLabel(i)],
    ["weights", formatBytes(i.weightBytes)],
    ["layers", String(i.numLayers)],
    ["hidden size", String(i.hiddenSize)],
    ["vocabulary", String(i.vocabSize)],
    ["context length", String(i.contextLength)],
    ["device", m.device],
    ["source", m.source],
  ];
}

export function modelCardBundle(m: ModelSummary): MimeBundle {
  const f = facts(m);
  const width = Math.max(...f.map(([k]) => k.length));
  const text = [`${m.name}${m.note ? ` — ${m.note}` : ""}`, ...f.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join("\n");
  const rows = f.map(([k, v]) => `<tr><th style="text-align:left;padding-right:1em;font-weight:normal;opacity:0.7">${escapeHtml(k)}</th><td style="text-align:left">${escapeHtml(v)}</td></tr>`).join("");
  const html =
    `<div class="mlx-ts-model-card" style="border:1px solid rgba(128,128,128,0.4);border-radius:6px;padding:8px 12px;display:inline-block">` +
    `<div style="font-weight:bold;font-size:1.1em">${escapeHtml(m.name)}</div>` +
    (m.note ? `<div style="opacity:0.7;font-size:smaller">${escapeHtml(m.note)}</div>` : "") +
    `<table style="margin-top:4px">${rows}</table></div>`;
  return { "text/plain": text, "text/html": html };
}

export function modelsTableData(models: ModelSummary[]): TableData {
  return {
    columns: ["name", "architecture", "parameters", "quantization", "bytes", "device", "context length"],
    rows: models.map((m) => [m.name, m.info.architecture, formatParams(m.info.numParameters), quantLabel(m.info), formatBytes(m.info.weightBytes), m.device, String(m.info.contextLength)]),
  };
}

export function modelsTableBundle(models: ModelSummary[]): MimeBundle {
  if (models.length === 0) return { "text/plain": "No models loaded. Load one with %load smollm2 (or a directory, a .gguf, an HF id)." };
  const t = modelsTableData(models);
  return { "text/plain": tableText(t), "text/html": tableHtml(t), [TABLE_MIME]: t };
}
