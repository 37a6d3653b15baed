// Types of the globals every cell sees, for completion and inspect. Written as a module with exported
// interfaces so that compiling the project itself is not affected; the language service adds the
// `declare var` lines that bind them (see language-service.ts).
import type { Engine, GenerateOptions, GenerationResult, GenerationStream, ChatMessage, LoadOptions, LoadedModel, PromptCacheInfo } from "../engine/types.js";
import type { CellModels } from "./session-models.js";

export interface CellDisplayHandle {
  readonly id: string;
  /** Replaces this output in place (update_display_data). */
  update(obj: unknown, opts?: { raw?: boolean }): void;
  /** Empties this output. */
  clear(): void;
}

export interface CellDisplayOptions {
  /** display_id to use */
  id?: string;
  metadata?: Record<string, unknown>;
  /** the object is already a mime bundle ({ "text/html": ... }) */
  raw?: boolean;
  /** update the display with `id` instead of adding one */
  update?: boolean;
}

export interface CellDisplay {
  /** Shows a value richly (its Symbol.for("Jupyter.display") bundle, a table for rows, else text). Returns a handle to update it. */
  (obj: unknown, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows HTML. */
  html(html: string, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows Markdown. */
  markdown(md: string, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows an SVG image. */
  svg(svg: string, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows a PNG image (bytes or base64). */
  png(data: string | Uint8Array | ArrayBuffer, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows a JPEG image (bytes or base64). */
  jpeg(data: string | Uint8Array | ArrayBuffer, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows JSON as a tree. */
  json(value: unknown, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows a Vega-Lite v5 chart. */
  vegalite(spec: Record<string, unknown>, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows LaTeX. */
  latex(tex: string, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Shows plain text. */
  text(text: string, opts?: CellDisplayOptions): CellDisplayHandle;
  /** Replaces the output with this display id. */
  update(id: string, obj: unknown, opts?: { raw?: boolean }): void;
}

/** The `session` global: the loaded models and the engine of this kernel. */
export interface CellSession {
  /** Resident models by name, oldest first, plus the registry: register, budget, list, ensure. */
  readonly models: CellModels;
  /** The MLX engine (its addon loads on first use). */
  readonly engine: Engine;
  /** Loads a model: an alias ("smollm2"), a local directory, a .gguf file, or an HF id in the HF cache. */
  load(idOrPath: string, opts?: LoadOptions & { role?: string; priority?: number; context?: number }): Promise<LoadedModel>;
  /** Generates with `opts.model` (reloaded if it was evicted), or the model routed for `opts.task` (a role), else the default model (the most recently loaded one still loaded; the same as %%generate's). */
  generate(prompt: string | ChatMessage[], opts?: GenerateOptions & { model?: string; task?: string; /** a LoRA adapter directory (mlx-lm layout) set on the model first, and kept; null removes the model's adapter */ adapter?: string | null }): Promise<GenerationResult & { answeredBy?: { model: string; reason: string } }>;
  /** Generates one result per prompt (in order), the prompts run as rows of one batch: one forward pass over all rows per step, each row stopping on its own. Generations started on the model meanwhile join the batch. Not with draft; kvBits and maxKvSize give each row its own KV-cache kind. */
  generateBatch(prompts: (string | ChatMessage[])[], opts?: GenerateOptions & { model?: string; task?: string }): Promise<(GenerationResult & { answeredBy?: { model: string; reason: string } })[]>;
  /** LoRA fine-tunes a loaded model (QLoRA when it is quantized); the adapter stays set on it. See %%finetune --help for the options. */
  finetune(model: string | LoadedModel, opts: import("../engine/finetune.js").FinetuneOptions): Promise<import("../engine/finetune.js").FinetuneResult>;
  /** Merges the model's LoRA adapter (or opts.adapter's) into its weights and saves a checkpoint mlx-lm loads (as mlx_lm.fuse); with `as`, loads it under that name. See %fuse --help. */
  fuse(model: string | LoadedModel, opts: import("../engine/finetune-fuse.js").FuseOptions & { as?: string }): Promise<import("../engine/finetune-fuse.js").FuseResult & { loaded?: LoadedModel }>;
  /** The registered model for a role, made resident (its best model if it fits the budget, else a smaller one or its fallback). */
  route(role: string): Promise<LoadedModel>;
  /** Streams tokens from `opts.model`, else the default model (as generate). It cannot load or route: see session.models.ensure, session.route. */
  stream(prompt: string | ChatMessage[], opts?: GenerateOptions & { model?: string; task?: string }): GenerationStream;
  /** Execution count of the running cell. */
  readonly executionCount: number;
  /** Writes MODEL's KV cache (of its last generation or chat turn) to FILE, a .safetensors in mlx-lm's prompt-cache layout (mlx_lm.generate --prompt-cache-file reads it). */
  savePromptCache(model: string, file: string): Promise<PromptCacheInfo>;
  /** Makes FILE (ours, or mlx-lm's save_prompt_cache / mlx_lm.cache_prompt) MODEL's KV cache: the next generation with reusePrefix (the default) continues from it. */
  loadPromptCache(model: string, file: string): Promise<PromptCacheInfo>;
}

/** What the magics leave behind for later cells (see language-service.ts for the bindings). */
export interface CellMagicResults {
  /** The last %%generate or %%chat result: text, answer, thinking, tokens, stats. Set by the first one that runs. */
  lastGeneration: GenerationResult;
  /** The user and assistant turns of the last %%chat conversation. */
  chatHistory: ChatMessage[];
  /** The last %quantize summary: sizes before/after, quality scores, where it was saved. */
  lastQuantize: import("../magics/quantize.js").QuantizeSummary;
  /** The last %%finetune run: per-step losses, tokens/s, peak memory, where the adapter went. */
  lastFinetune: import("../engine/finetune.js").FinetuneResult;
  /** The last %fuse: where the fused checkpoint went, how many layers were merged. */
  lastFuse: import("../engine/finetune-fuse.js").FuseResult;
  /** The rows of the last %bench sweep. */
  lastBench: import("../bench/sweep.js").SweepRow[];
}
