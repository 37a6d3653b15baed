// Custom kernels (metal/): the measured dispatch table, the MLX_TS_KERNELS kill switch, and their native
// configuration. A kernel runs by default only where the table measured on this device shows it at least
// SPEEDUP_TO_USE times faster than MLX's own path; without a table everything takes the fallback.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "../util/repo-root.js";
import type { NativeAddon, NativeKernelBench, NativeKernelRule, NativeKernelStatus, NativeModel, NativeRuntimeInfo } from "./native-types.js";
import { MlxTsError } from "./types.js";

export const KERNEL_NAMES = ["decode_attention"] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];
/** ours must be at least this many times faster than the fallback, on that shape, to be on by default */
export const SPEEDUP_TO_USE = 1.05;
const DTYPES = ["bfloat16", "float16", "float32"] as const;
const KV_MAX = 2 ** 31 - 1;

/** One measured shape: MLX's SDPA against ours, in microseconds per call. */
export interface KernelBenchRow {
  kernel: KernelName;
  dtype: (typeof DTYPES)[number];
  headDim: number;
  nHeads: number;
  nKvHeads: number;
  kvLen: number;
  batch: number;
  sdpaUs: number;
  customUs: number;
  maxError: number;
}

export interface KernelTable {
  version: 1;
  backend: string;
  deviceName: string;
  mlxVersion: string;
  measuredAt: string;
  command: string;
  rows: KernelBenchRow[];
  rules: NativeKernelRule[];
}

export interface KernelsEnv { allow: string[] | null; allOff: boolean; unknown: string[] }

/** MLX_TS_KERNELS: unset or empty = every kernel may run; "off" (or 0/none/false) = none; "a,b" = only those. */
export function parseKernelsEnv(value: string | undefined): KernelsEnv {
  const v = (value ?? "").trim();
  if (!v) return { allow: null, allOff: false, unknown: [] };
  if (/^(off|0|none|false)$/i.test(v)) return { allow: [], allOff: true, unknown: [] };
  const names = v.split(",").map((s) => s.trim()).filter(Boolean);
  return { allow: names, allOff: false, unknown: names.filter((n) => !(KERNEL_NAMES as readonly string[]).includes(n)) };
}

/** The folder of kernel sources (metal/ beside kernel/). */
export function kernelsDir(): string {
  return join(repoRoot(), "metal");
}

/** Where the table measured on this device lives: one file per backend, GPU and MLX version. */
export function kernelTablePath(rt: Pick<NativeRuntimeInfo, "backend" | "deviceName" | "mlxVersion">, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const device = (rt.deviceName || rt.backend).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return join(base, "mlx-ts", "kernels", `${rt.backend}-${device}-mlx-${rt.mlxVersion}.json`);
}

const bad = (file: string, why: string): MlxTsError =>
  new MlxTsError("E_BAD_CONFIG", `The kernel dispatch table ${file} is not valid: ${why}. Delete it or measure it again with %kernels bench; until then every shape takes MLX's own path.`);

function positiveInt(x: unknown): boolean {
  return typeof x === "number" && Number.isInteger(x) && x > 0;
}

/** Parses and checks a saved table; a corrupt or mistyped file is an E_BAD_CONFIG naming the file and the field. */
export function parseKernelTable(text: string, file: string): KernelTable {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(file, `it is not JSON (${(e as Error).message})`);
  }
  if (!j || typeof j !== "object" || Array.isArray(j)) throw bad(file, "it is not a JSON object");
  const t = j as Record<string, unknown>;
  if (t.version !== 1) throw bad(file, `"version" is ${JSON.stringify(t.version)}, not 1`);
  for (const k of ["backend", "deviceName", "mlxVersion"] as const) if (typeof t[k] !== "string") throw bad(file, `"${k}" is not a string`);
  if (!Array.isArray(t.rules)) throw bad(file, `"rules" is not an array`);
  if (!Array.isArray(t.rows)) throw bad(file, `"rows" is not an array`);
  t.rules.forEach((r: unknown, i: number) => {
    const x = r as Record<string, unknown> | null;
    if (!x || typeof x !== "object") throw bad(file, `rules[${i}] is not an object`);
    if (!(KERNEL_NAMES as readonly unknown[]).includes(x.kernel)) throw bad(file, `rules[${i}].kernel ${JSON.stringify(x.kernel)} is not a kernel (${KERNEL_NAMES.join(", ")})`);
    if (!(DTYPES as readonly unknown[]).includes(x.dtype)) throw bad(file, `rules[${i}].dtype ${JSON.stringify(x.dtype)} is not one of ${DTYPES.join(", ")}`);
    for (const k of ["headDim", "gqa", "kvMax", "batchMax"]) if (!positiveInt(x[k])) throw bad(file, `rules[${i}].${k} is not a positive integer`);
    if (typeof x.kvMin !== "number" || !Number.isInteger(x.kvMin) || x.kvMin < 0 || x.kvMin >= (x.kvMax as number)) throw bad(file, `rules[${i}].kvMin is not an integer in [0, kvMax)`);
    if (typeof x.use !== "boolean") throw bad(file, `rules[${i}].use is not true or false`);
  });
  return t as unknown as KernelTable;
}

/**
 * Rules from measured rows: per (kernel, dtype, head_dim, GQA ratio, batch), each measured KV length
 * stands for the lengths from it up to the next one measured (the first from 0, the last upwards), and the
 * kernel is used there only if that row measured it SPEEDUP_TO_USE times faster.
 */
export function rulesFromRows(rows: readonly KernelBenchRow[]): NativeKernelRule[] {
  const groups = new Map<string, KernelBenchRow[]>();
  for (const r of rows) {
    const key = [r.kernel, r.dtype, r.headDim, r.nHeads / r.nKvHeads, r.batch].join("|");
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rules: NativeKernelRule[] = [];
  for (const g of groups.values()) {
    const sorted = [...g].sort((a, b) => a.kvLen - b.kvLen);
    sorted.forEach((r, i) => rules.push({
      kernel: r.kernel, dtype: r.dtype, headDim: r.headDim, gqa: r.nHeads / r.nKvHeads,
      kvMin: i === 0 ? 0 : r.kvLen, kvMax: i + 1 < sorted.length ? sorted[i + 1]!.kvLen : KV_MAX,
      batchMax: r.batch, use: r.sdpaUs / r.customUs >= SPEEDUP_TO_USE,
    }));
  }
  return rules;
}

/** What configureKernels found: the table in use (if any), why a table was refused, the switch. */
export interface KernelsConfig { tableFile: string; table?: KernelTable; tableError?: string; env: KernelsEnv }

/** Reads this device's table (a corrupt one is reported, not used) and hands rules and switches to the addon. */
export function configureKernels(addon: NativeAddon, env: NodeJS.ProcessEnv = process.env): KernelsConfig {
  const rt = addon.runtime();
  const tableFile = kernelTablePath(rt, env);
  const cfg: KernelsConfig = { tableFile, env: parseKernelsEnv(env.MLX_TS_KERNELS) };
  if (existsSync(tableFile)) {
    try {
      cfg.table = parseKernelTable(readFileSync(tableFile, "utf8"), tableFile);
    } catch (e) {
      cfg.tableError = (e as Error).message;
    }
  }
  addon.kernelsConfigure({ dir: kernelsDir(), rules: cfg.table?.rules ?? [], allow: cfg.env.allOff ? [] : cfg.env.allow, allOff: cfg.env.allOff });
  return cfg;
}

/** The shapes %kernels bench measures by default: Qwen3 0.6B/4B/8B/14B and Llama 3 8B attention, head_dim 64 too. */
export const BENCH_SHAPES: ReadonlyArray<{ label: string; nHeads: number; nKvHeads: number; headDim: number }> = [
  { label: "Qwen3-0.6B (16:8, d128)", nHeads: 16, nKvHeads: 8, headDim: 128 },
  { label: "Qwen3-4B/8B, Llama-3-8B (32:8, d128)", nHeads: 32, nKvHeads: 8, headDim: 128 },
  { label: "Qwen3-14B (40:8, d128)", nHeads: 40, nKvHeads: 8, headDim: 128 },
  { label: "32:8, d64", nHeads: 32, nKvHeads: 8, headDim: 64 },
];
export const BENCH_LENGTHS = [1024, 4096, 16384, 32768];

/** Measures every shape × length × dtype (SDPA against ours), on the addon's default device. */
export async function benchKernels(
  addon: NativeAddon,
  opts: { lengths?: number[]; dtypes?: KernelBenchRow["dtype"][]; iters?: number; shapes?: typeof BENCH_SHAPES; onRow?: (r: KernelBenchRow) => void } = {},
): Promise<KernelBenchRow[]> {
  const rows: KernelBenchRow[] = [];
  for (const dtype of opts.dtypes ?? ["bfloat16"]) {
    for (const s of opts.shapes ?? BENCH_SHAPES) {
      for (const kvLen of opts.lengths ?? BENCH_LENGTHS) {
        const r: NativeKernelBench = await addon.kernelsBench({ dtype, headDim: s.headDim, nHeads: s.nHeads, nKvHeads: s.nKvHeads, kvLen, batch: 1, iters: opts.iters ?? 50 });
        const row: KernelBenchRow = { kernel: "decode_attention", dtype, headDim: s.headDim, nHeads: s.nHeads, nKvHeads: s.nKvHeads, kvLen, batch: 1, ...r };
        rows.push(row);
        opts.onRow?.(row);
      }
    }
  }
  return rows;
}

/** Writes the table for this device (atomically) and puts its rules in force. */
export function saveKernelTable(addon: NativeAddon, rows: KernelBenchRow[], command: string, env: NodeJS.ProcessEnv = process.env): KernelTable {
  const rt = addon.runtime();
  const table: KernelTable = {
    version: 1, backend: rt.backend, deviceName: rt.deviceName, mlxVersion: rt.mlxVersion, measuredAt: new Date().toISOString(), command, rows, rules: rulesFromRows(rows),
  };
  const file = kernelTablePath(rt, env);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(table, null, 2));
  renameSync(`${file}.tmp`, file);
  return table;
}

export type { NativeKernelStatus };

/** Decode tok/s after a prompt of one KV length, with decode_attention off and on (trials alternate). */
export interface KernelEndToEndRow { kvLen: number; gen: number; off: number[]; on: number[]; kernelCalls: number }

function promptIds(n: number, vocab: number): Int32Array {
  // a fixed linear congruential sequence: the same prompt for both modes and every run
  const out = new Int32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x % vocab;
  }
  return out;
}

function decodeTps(model: NativeModel, ids: Int32Array, gen: number): Promise<number> {
  return new Promise((resolve, reject) => {
    model.generate(ids, {
      maxTokens: gen, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20, eosTokenIds: [],
      prefillStepSize: 2048, reusePrefix: false,
    }, (ev) => {
      if (ev.type === "done") resolve(ev.stats.generationTps);
      else if (ev.type === "error") reject(new MlxTsError(ev.code, ev.message));
    });
  });
}

/** End-to-end decode with the kernel off and on at each KV length; the kernel's mode is left on auto. */
export async function benchKernelsEndToEnd(
  addon: NativeAddon, model: NativeModel,
  opts: { lengths: number[]; gen?: number; runs?: number; onRow?: (r: KernelEndToEndRow) => void; signal?: AbortSignal },
): Promise<KernelEndToEndRow[]> {
  const gen = opts.gen ?? 32, runs = opts.runs ?? 3;
  const vocab = model.info().vocabSize;
  const rows: KernelEndToEndRow[] = [];
  try {
    for (const kvLen of opts.lengths) {
      const ids = promptIds(kvLen, vocab);
      const row: KernelEndToEndRow = { kvLen, gen, off: [], on: [], kernelCalls: 0 };
      for (const mode of ["off", "on"] as const) {
        addon.kernelsSetMode("decode_attention", mode);
        await decodeTps(model, ids, 4); // warm-up at this length
      }
      for (let r = 0; r < runs; r++) {
        for (const mode of r % 2 ? (["on", "off"] as const) : (["off", "on"] as const)) {
          if (opts.signal?.aborted) return rows;
          addon.kernelsSetMode("decode_attention", mode);
          addon.kernelsResetCounts();
          row[mode].push(await decodeTps(model, ids, gen));
          if (mode === "on") row.kernelCalls += addon.kernelsStatus()[0]?.calls ?? 0;
        }
      }
      rows.push(row);
      opts.onRow?.(row);
    }
  } finally {
    addon.kernelsSetMode("decode_attention", "auto");
  }
  return rows;
}
