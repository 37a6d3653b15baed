// How many bytes a checkpoint will take once loaded, from its headers alone (safetensors JSON headers,
// GGUF tensor infos) and its config: the weights as MLX will hold them, the parameter split that
// quantization acts on, and the KV cache geometry. Reads no tensor data.
import { closeSync, existsSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { kvBytes, weightBytesAt, type Backend, type KvShape, type ParamSplit } from "./budget.js";
import { readGgufTensorInfos } from "./gguf-meta.js";
import { readJsonFile, type Json } from "./model-config.js";
import { MlxTsError } from "./types.js";

export interface CheckpointEstimate {
  path: string;
  kind: "dir" | "gguf";
  /** config.json model_type, or GGUF general.architecture */
  architecture: string;
  parameters: number;
  params: ParamSplit;
  /** the weights as MLX will hold them after this load (with its dtype / quantization options) */
  weightBytes: number;
  /** quantization of the weights as loaded, null when unquantized */
  quantization: { bits: number; groupSize: number } | null;
  kv: KvShape;
  contextLength: number;
}

export interface EstimateOptions {
  backend: Backend;
  dtype?: "bfloat16" | "float16" | "float32";
  quant?: { bits: number; groupSize?: number };
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };
const FLOAT_DTYPES = new Set(["F64", "F32", "F16", "BF16"]);
const CAST_BYTES = { bfloat16: 2, float16: 2, float32: 4 } as const;
/** mlx-lm's default quantization group size (and its quantizable-layer test) */
const GROUP = 64;

interface TensorHeader {
  dtype: string;
  shape: number[];
  bytes: number;
}

function bad(path: string, why: string): MlxTsError {
  return new MlxTsError("E_CORRUPT_WEIGHTS", `${path}: ${why}. The checkpoint is truncated or not a safetensors file; copy it again.`);
}

/** The JSON header of one .safetensors file. */
export function readSafetensorsHeader(path: string): Map<string, TensorHeader> {
  const fd = openSync(path, "r");
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) throw bad(path, "shorter than its 8-byte header length");
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 100_000_000) throw bad(path, `header length ${n} is implausible`);
    const buf = Buffer.alloc(n);
    if (readSync(fd, buf, 0, n, 8) !== n) throw bad(path, "ends inside its header");
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(buf.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw bad(path, "its header is not JSON");
    }
    const out = new Map<string, TensorHeader>();
    for (const [name, v] of Object.entries(json)) {
      if (name === "__metadata__") continue;
      const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const offs = t.data_offsets as number[] | undefined;
      if (typeof t.dtype !== "string" || !Array.isArray(t.shape) || !Array.isArray(offs) || offs.length !== 2) throw bad(path, `tensor ${name} has no dtype/shape/data_offsets`);
      out.set(name, { dtype: t.dtype, shape: t.shape as number[], bytes: offs[1]! - offs[0]! });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const int = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function safetensorsFiles(dir: string): string[] {
  const index = readJsonFile(join(dir, "model.safetensors.index.json"));
  const map = index?.weight_map as Record<string, string> | undefined;
  const files = map ? [...new Set(Object.values(map))] : readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort();
  if (files.length === 0) throw new MlxTsError("E_MODEL_NOT_FOUND", `${dir} has no .safetensors files. Point at a model directory with config.json and weights.`);
  return files.map((f) => join(dir, f));
}

/** KV geometry from an HF-style config.json (or the one the addon derives from GGUF metadata). */
export function kvFromConfig(cfg: Json, dtypeBytes: number): KvShape {
  const heads = int(cfg.num_attention_heads) ?? 1;
  const hidden = int(cfg.hidden_size) ?? 0;
  return {
    layers: int(cfg.num_hidden_layers) ?? 0,
    kvHeads: int(cfg.num_key_value_heads) ?? heads,
    headDim: int(cfg.head_dim) ?? Math.floor(hidden / heads),
    dtypeBytes,
  };
}

function estimateDir(dir: string, o: EstimateOptions): CheckpointEstimate {
  const cfg = readJsonFile(join(dir, "config.json"));
  if (!cfg) throw new MlxTsError("E_MODEL_NOT_FOUND", `${dir} has no config.json. Point at a model directory with config.json and weights.`);
  const tensors = new Map<string, TensorHeader>();
  for (const f of safetensorsFiles(dir)) {
    if (!existsSync(f)) throw new MlxTsError("E_CORRUPT_WEIGHTS", `${f} is named in the index but missing. Copy the checkpoint again.`);
    for (const [k, v] of readSafetensorsHeader(f)) tensors.set(k, v);
  }
  const q = cfg.quantization as { bits?: number; group_size?: number } | undefined;
  const storedQuant = q && int(q.bits) ? { bits: q.bits!, groupSize: int(q.group_size) ?? GROUP } : null;
  const tied = cfg.tie_word_embeddings === true;
  const params: ParamSplit = { quantizable: 0, other: 0 };
  let stored = 0;
  let floatDtype: string | undefined;
  for (const [name, t] of tensors) {
    // The loader drops these (loaded_model.cpp).
    if (name.includes("rotary_emb.inv_freq") || (tied && name.startsWith("lm_head."))) continue;
    const isQuantAux = (name.endsWith(".scales") || name.endsWith(".biases")) && tensors.has(name.replace(/\.(scales|biases)$/, ".weight")) && tensors.get(name.replace(/\.(scales|biases)$/, ".weight"))!.dtype === "U32";
    const packed = name.endsWith(".weight") && t.dtype === "U32" && tensors.has(name.replace(/\.weight$/, ".scales"));
    const cast = o.dtype && FLOAT_DTYPES.has(t.dtype) && !isQuantAux ? CAST_BYTES[o.dtype] * numel(t.shape) : undefined;
    stored += cast ?? t.bytes;
    if (isQuantAux) continue;
    if (packed && storedQuant) {
      params.quantizable += (numel(t.shape) * 32) / storedQuant.bits;
      continue;
    }
    if (FLOAT_DTYPES.has(t.dtype) && !floatDtype && t.shape.length === 1) floatDtype = t.dtype;
    const n = numel(t.shape);
    if (name.endsWith(".weight") && t.shape.length === 2 && t.shape[1]! % GROUP === 0) params.quantizable += n;
    else params.other += n;
  }
  const computeBytes = o.dtype ? CAST_BYTES[o.dtype] : DTYPE_BYTES[floatDtype ?? "BF16"] ?? 2;
  let weightBytes = stored;
  let quantization = storedQuant;
  if (o.quant && !storedQuant) {
    weightBytes = weightBytesAt(params, o.quant.bits, o.quant.groupSize ?? GROUP) + params.other * (computeBytes - 2);
    quantization = { bits: o.quant.bits, groupSize: o.quant.groupSize ?? GROUP };
  }
  return {
    path: dir,
    kind: "dir",
    architecture: typeof cfg.model_type === "string" ? cfg.model_type : "unknown",
    parameters: params.quantizable + params.other,
    params,
    weightBytes,
    quantization,
    kv: kvFromConfig(cfg, computeBytes),
    contextLength: int(cfg.max_position_embeddings) ?? 4096,
  };
}

// ggml types MLX loads as affine-quantized arrays (group 32, a scale and a bias per group); the rest it dequantizes.
const GGUF_QUANT_BITS: Record<number, number> = { 2: 4, 3: 4, 8: 8 };

function estimateGguf(path: string, o: EstimateOptions): CheckpointEstimate {
  const { metadata: md, tensors } = readGgufTensorInfos(path);
  const arch = String(md["general.architecture"] ?? "llama");
  const m = (k: string): number | undefined => int(md[`${arch}.${k}`]);
  // native/: dequantized and float GGUF tensors become float32 on the CPU backend, float16 on a GPU.
  const floatBytes = o.dtype ? CAST_BYTES[o.dtype] : o.backend === "cpu" ? 4 : 2;
  const params: ParamSplit = { quantizable: 0, other: 0 };
  let weightBytes = 0;
  let quantBits: number | undefined;
  for (const t of tensors) {
    const n = numel(t.dims);
    const bits = GGUF_QUANT_BITS[t.type];
    if (bits !== undefined) {
      // the addon casts the scales and biases like every float array: float32 on the CPU backend
      weightBytes += (n * bits) / 8 + (n / 32) * 2 * floatBytes;
      quantBits ??= bits;
    } else weightBytes += n * floatBytes;
    // GGUF writes the innermost dimension first: dims[0] is the input size.
    if (t.name.endsWith(".weight") && t.dims.length === 2 && t.dims[0]! % GROUP === 0) params.quantizable += n;
    else params.other += n;
  }
  const heads = m("attention.head_count") ?? 1;
  const hidden = m("embedding_length") ?? 0;
  const kv: KvShape = {
    layers: m("block_count") ?? 0,
    kvHeads: m("attention.head_count_kv") ?? heads,
    headDim: m("attention.key_length") ?? Math.floor(hidden / heads),
    dtypeBytes: floatBytes,
  };
  let quantization = quantBits === undefined ? null : { bits: quantBits, groupSize: 32 };
  if (o.quant) {
    weightBytes = weightBytesAt(params, o.quant.bits, o.quant.groupSize ?? GROUP) + params.other * (floatBytes - 2);
    quantization = { bits: o.quant.bits, groupSize: o.quant.groupSize ?? GROUP };
  }
  return { path, kind: "gguf", architecture: arch, parameters: params.quantizable + params.other, params, weightBytes: Math.round(weightBytes), quantization, kv, contextLength: m("context_length") ?? 4096 };
}

export function estimateCheckpoint(resolved: { kind: "dir" | "gguf"; path: string }, o: EstimateOptions): CheckpointEstimate {
  return resolved.kind === "gguf" ? estimateGguf(resolved.path, o) : estimateDir(resolved.path, o);
}

export interface FitRow {
  bits: number;
  context: number;
  weightBytes: number;
  kvBytes: number;
  total: number;
  fits: boolean;
}

/** The %fit table: weights at 16/8/4 bits and the KV cache at 4k/32k positions, against the budget. */
export function fitTable(e: Pick<CheckpointEstimate, "params" | "kv">, budget: number, bits: readonly number[] = [16, 8, 4], contexts: readonly number[] = [4096, 32768]): FitRow[] {
  const rows: FitRow[] = [];
  for (const b of bits) {
    for (const c of contexts) {
      const w = weightBytesAt(e.params, b);
      const k = kvBytes(e.kv, c);
      rows.push({ bits: b, context: c, weightBytes: w, kvBytes: k, total: w + k, fits: w + k <= budget });
    }
  }
  return rows;
}
