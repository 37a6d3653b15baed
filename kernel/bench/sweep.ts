// The benchmark sweep shared by %bench and `npm run bench`, after mlx_lm.benchmark: for each model and
// each (prompt tokens, generation tokens), run n times from a fresh cache and report the median prompt
// tok/s, generation tok/s and peak memory. Every row names what produced it.
import type { Engine, GenerateOptions, LoadedModel } from "../engine/types.js";

export interface SweepOptions {
  /** names of loaded models */
  models: string[];
  promptTokens: number[];
  genTokens: number[];
  /** runs per point; the median is reported */
  repeats: number;
  /** also benchmark copies of each model quantized to these bits (loaded, measured, unloaded) */
  compareQuant?: number[];
  /** one untimed run per model first, so the first point does not pay for warm-up */
  warmup?: boolean;
  signal?: AbortSignal;
  onRow?: (row: SweepRow) => void;
  onProgress?: (text: string) => void;
}

export interface SweepRow {
  backend: string;
  device: string;
  mlxVersion: string;
  model: string;
  /** "none", "affine 4-bit g64", … */
  quantization: string;
  attention: string;
  /** asked for */
  promptTokens: number;
  genTokens: number;
  /** what the runs actually used (tokenization may land a token off; EOS may stop early) */
  actualPromptTokens: number;
  actualGenTokens: number;
  promptTps: number;
  generationTps: number;
  ttftMs: number;
  peakMemory: number;
  repeats: number;
}

export const ATTENTION_PATH = "mx.fast.scaled_dot_product_attention (MLX built-in)";

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const FILLER =
  "Unified memory lets the processor and the accelerator share one pool of memory, so arrays move between them without copies. " +
  "Language models spend most of their time reading weights: the prompt is processed in parallel, the answer one token at a time. ";

/** A raw prompt of about `n` tokens for this model (text, so it goes through the same path as users' prompts). */
export function promptOfLength(model: LoadedModel, n: number): string {
  let text = FILLER;
  while (model.tokenize(text).length < n + 8) text += FILLER;
  const ids = model.tokenize(text);
  // tokenize() may add BOS; detokenizing a slice of the rest and re-tokenizing lands on (about) n tokens.
  const bos = ids.length > 1 && model.tokenize("").length > 0 ? 1 : 0;
  let slice = ids.slice(bos, bos + n);
  let out = model.detokenize(slice);
  for (let i = 0; i < 4 && model.tokenize(out).length > n && slice.length > 1; i++) {
    slice = slice.slice(0, -1);
    out = model.detokenize(slice);
  }
  return out;
}

export function quantizationOf(model: LoadedModel): string {
  const q = model.info().quantization;
  return q ? `${q.mode} ${q.bits}-bit g${q.groupSize}` : `none (${model.info().dtype})`;
}

async function measure(engine: Engine, model: LoadedModel, opts: SweepOptions): Promise<SweepRow[]> {
  const rt = engine.runtime();
  const rows: SweepRow[] = [];
  // EOS must not end a benchmark early (mlx_lm.benchmark clears the EOS ids too); rows still report
  // the tokens actually generated.
  const base: GenerateOptions = { raw: true, temperature: 0, reusePrefix: false, ignoreEos: true, signal: opts.signal };
  if (opts.warmup !== false) {
    opts.onProgress?.(`${model.name}: warm-up`);
    await model.generate(promptOfLength(model, 16), { ...base, maxTokens: 4 });
  }
  for (const p of opts.promptTokens) {
    const prompt = promptOfLength(model, p);
    for (const g of opts.genTokens) {
      const runs: { promptTps: number; generationTps: number; ttftMs: number; peak: number; pt: number; gt: number }[] = [];
      for (let i = 0; i < opts.repeats; i++) {
        if (opts.signal?.aborted) return rows;
        opts.onProgress?.(`${model.name}: p=${p} g=${g} run ${i + 1}/${opts.repeats}`);
        engine.resetPeakMemory();
        const r = await model.generate(prompt, { ...base, maxTokens: g });
        if (r.stats.stopReason === "cancelled") return rows;
        runs.push({ promptTps: r.stats.promptTps, generationTps: r.stats.generationTps, ttftMs: r.stats.ttftMs, peak: r.stats.peakMemory, pt: r.stats.promptTokens, gt: r.stats.generatedTokens });
      }
      const row: SweepRow = {
        backend: rt.backend,
        device: rt.device,
        mlxVersion: rt.mlxVersion,
        model: model.name,
        quantization: quantizationOf(model),
        attention: ATTENTION_PATH,
        promptTokens: p,
        genTokens: g,
        actualPromptTokens: median(runs.map((x) => x.pt)),
        actualGenTokens: median(runs.map((x) => x.gt)),
        promptTps: median(runs.map((x) => x.promptTps)),
        generationTps: median(runs.map((x) => x.generationTps)),
        ttftMs: median(runs.map((x) => x.ttftMs)),
        peakMemory: median(runs.map((x) => x.peak)),
        repeats: runs.length,
      };
      rows.push(row);
      opts.onRow?.(row);
    }
  }
  return rows;
}

export interface LoadHow {
  /** how to load a copy of a model (for --compare-quant): the id or path and dtype it was loaded with */
  (name: string): { idOrPath: string; dtype?: "bfloat16" | "float16" | "float32" };
}

export async function runSweep(engine: Engine, opts: SweepOptions, loadHow?: LoadHow): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const name of opts.models) {
    const model = engine.get(name);
    rows.push(...(await measure(engine, model, opts)));
    for (const bits of opts.compareQuant ?? []) {
      if (opts.signal?.aborted) return rows;
      if (model.info().quantization) {
        opts.onProgress?.(`${name} is already quantized; skipping the ${bits}-bit comparison (load an unquantized copy to compare).`);
        continue;
      }
      const how = loadHow?.(name) ?? { idOrPath: model.source };
      const copyName = `${name}-bench-q${bits}`;
      opts.onProgress?.(`${name}: loading a ${bits}-bit copy`);
      const copy = await engine.load(how.idOrPath, { as: copyName, ...(how.dtype ? { dtype: how.dtype } : {}), quant: { bits } });
      try {
        rows.push(...(await measure(engine, copy, opts)));
      } finally {
        engine.unload(copyName);
      }
    }
  }
  return rows;
}

/** A markdown table of the rows, parameters named in every row (as llama-bench does). */
export function sweepMarkdown(rows: SweepRow[]): string {
  const head = "| model | quantization | backend | p | g | prompt tok/s | gen tok/s | TTFT ms | peak memory MB | n |";
  const sep = "|---|---|---|---:|---:|---:|---:|---:|---:|---:|";
  const body = rows.map((r) =>
    `| ${r.model} | ${r.quantization} | ${r.backend}/${r.device} | ${r.actualPromptTokens} | ${r.actualGenTokens} | ${r.promptTps.toFixed(1)} | ${r.generationTps.toFixed(1)} | ${r.ttftMs.toFixed(1)} | ${(r.peakMemory / 1e6).toFixed(1)} | ${r.repeats} |`);
  return [head, sep, ...body].join("\n");
}
