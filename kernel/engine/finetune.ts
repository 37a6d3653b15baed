// LoRA / QLoRA fine-tuning of a loaded model (mlx_lm.lora's training, in process): the data through
// finetune-data.ts, the batch order through finetune-order.ts, the loop in native/src/train/, adapters in
// mlx-lm's layout (adapters.safetensors + adapter_config.json) that mlx_lm.generate --adapter-path loads.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { fromNative } from "./errors.js";
import { loadTrainingData, type DataFormat } from "./finetune-data.js";
import { trainAddon, type NativeLoraConfig, type NativeTrainEvent } from "./finetune-native.js";
import { trainingOrder } from "./finetune-order.js";
import { EngineModel } from "./model.js";
import { loadNative } from "./native.js";
import type { LoadedModel } from "./types.js";
import { MlxTsError } from "./types.js";

/** mlx_lm/lora.py CONFIG_DEFAULTS, where it has the option. */
export const FINETUNE_DEFAULTS = {
  rank: 8,
  scale: 20,
  layers: 16,
  learningRate: 1e-5,
  iters: 1000,
  batchSize: 4,
  gradAccum: 1,
  maxSeqLength: 2048,
  every: 100,
  valBatches: 25,
  stepsPerEval: 200,
  optimizer: "adam" as const,
  weightDecay: 0.01,
  seed: 0,
};

export interface FinetuneOptions {
  /** JSONL text (one example per line) */
  data?: string;
  /** a .jsonl file, or a directory with train.jsonl (as mlx_lm.lora --data); a directory's valid.jsonl is the validation set */
  dataPath?: string;
  /** validation JSONL text */
  valData?: string;
  /** a validation .jsonl file (instead of the data directory's valid.jsonl) */
  valDataPath?: string;
  /** batches per evaluation, -1 = the whole validation set (mlx-lm --val-batches, default 25) */
  valBatches?: number;
  /** evaluate before step 1, every N steps and before the last (mlx-lm --steps-per-eval, default 200) */
  stepsPerEval?: number;
  rank?: number;
  /** multiplier of the low-rank update, mlx-lm's lora_parameters.scale (default 20) */
  scale?: number;
  /** instead of scale: scale = alpha / rank (the PEFT convention) */
  alpha?: number;
  /** the last N blocks get adapters (mlx-lm --num-layers; -1 = all) */
  layers?: number;
  /** module paths inside a block ("self_attn.q_proj"); default: every linear layer, as mlx-lm */
  targets?: string[];
  learningRate?: number;
  iters?: number;
  batchSize?: number;
  gradAccum?: number;
  maxSeqLength?: number;
  /** leave bad data lines out (each reported in the result's `skipped`) instead of refusing the data */
  skipBadLines?: boolean;
  /** train only on the completion / last assistant message (mlx-lm --mask-prompt) */
  maskPrompt?: boolean;
  optimizer?: "adam" | "adamw";
  weightDecay?: number;
  /** the batch order's numpy seed (mlx-lm --seed) and the LoRA init's */
  seed?: number;
  /** directory for adapters.safetensors + adapter_config.json (and checkpoints) */
  save?: string;
  /** checkpoint every N steps (mlx-lm --save-every) */
  every?: number;
  /** initial lora_a / lora_b from this adapters.safetensors (resume, or the same init as another run) */
  initAdapter?: string;
  signal?: AbortSignal;
  /** called once the data is read, before the first step: example counts and the bad lines skipped */
  onStart?: (info: { examples: number; valExamples: number; skipped: string[] }) => void;
  onStep?: (s: FinetuneStep) => void;
}

export interface FinetuneStep {
  step: number;
  loss: number;
  /** trained (unmasked) tokens in this step's batch */
  tokens: number;
  trainedTokens: number;
  elapsedS: number;
  tokensPerSec: number;
  peakMemory: number;
  /** checkpoint written after this step */
  saved?: string;
  /** validation loss evaluated before this step's update (mlx-lm's "Iter N: Val loss"), when one was due */
  valLoss?: number;
}

export interface Validation {
  /** evaluated before this step's update (step 1: the untrained adapter) */
  step: number;
  loss: number;
  /** seconds the evaluation took (not part of the training tokens/s) */
  seconds: number;
}

/** adapter_config.json: what mlx-lm's load_adapters reads (fine_tune_type, num_layers, lora_parameters), plus the run's settings. */
export interface AdapterConfig {
  fine_tune_type: "lora";
  num_layers: number;
  lora_parameters: { rank: number; scale: number; dropout: number; keys?: string[] };
  [key: string]: unknown;
}

export interface FinetuneResult {
  model: string;
  steps: FinetuneStep[];
  cancelled: boolean;
  /** the training step ran as one compiled MLX graph (as mlx-lm's); false after a graph could not be traced or with MLX_TS_TRAIN_COMPILE=0 */
  compiled: boolean;
  /** why the step was not compiled: "disabled by MLX_TS_TRAIN_COMPILE=0", or the error the graph trace threw (the run then fell back to the plain step) */
  uncompiledReason?: string;
  /** number of layers with an adapter */
  layers: number;
  format: DataFormat;
  examples: number;
  /** the example indices of each step's batch, in order */
  schedule: number[][];
  /** the validation losses, when there was a validation set */
  validation: Validation[];
  /** validation examples (0 without a validation set) */
  valExamples: number;
  /** with skipBadLines: the lines left out, "FILE: line N: why" */
  skipped: string[];
  config: AdapterConfig;
  adapterDir?: string;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: ${name} must be a positive integer, got ${v}.`);
  return x;
}

function readData(opts: FinetuneOptions): { text: string; source: string } {
  if (opts.data !== undefined && opts.dataPath !== undefined) throw new MlxTsError("E_BAD_ARGUMENT", "finetune: give data (JSONL text) or dataPath, not both.");
  if (opts.data !== undefined) return { text: opts.data, source: "the data" };
  if (opts.dataPath === undefined) throw new MlxTsError("E_BAD_ARGUMENT", "finetune: no data. Pass dataPath (a .jsonl file or a directory with train.jsonl) or data (JSONL text).");
  let file = resolvePath(opts.dataPath);
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "train.jsonl");
  if (!existsSync(file)) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: ${file} does not exist. Give a .jsonl file, or a directory holding train.jsonl (as mlx_lm.lora --data).`);
  return { text: readFileSync(file, "utf8"), source: file };
}

/** The validation JSONL: valData, valDataPath, or valid.jsonl beside a data directory's train.jsonl (as mlx-lm's load_dataset). */
function readValData(opts: FinetuneOptions): { text: string; source: string } | undefined {
  if (opts.valData !== undefined && opts.valDataPath !== undefined) throw new MlxTsError("E_BAD_ARGUMENT", "finetune: give valData (JSONL text) or valDataPath, not both.");
  if (opts.valData !== undefined) return { text: opts.valData, source: "the validation data" };
  if (opts.valDataPath !== undefined) {
    const file = resolvePath(opts.valDataPath);
    if (!existsSync(file) || statSync(file).isDirectory()) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: the validation file ${file} does not exist (give a .jsonl file).`);
    return { text: readFileSync(file, "utf8"), source: file };
  }
  if (opts.dataPath !== undefined) {
    const dir = resolvePath(opts.dataPath);
    const file = join(dir, "valid.jsonl");
    if (existsSync(dir) && statSync(dir).isDirectory() && existsSync(file)) return { text: readFileSync(file, "utf8"), source: file };
  }
  return undefined;
}

function engineModel(model: LoadedModel): EngineModel {
  if (!(model instanceof EngineModel)) throw new MlxTsError("E_BAD_ARGUMENT", "finetune: the model must be one loaded by this engine (session.models.get(name)).");
  return model;
}

/** The lora settings of a run or an adapter_config.json, as the addon takes them. */
function nativeLora(c: AdapterConfig): NativeLoraConfig {
  return { rank: c.lora_parameters.rank, scale: c.lora_parameters.scale, numLayers: c.num_layers, keys: c.lora_parameters.keys ?? [] };
}

/** Trains a LoRA adapter on `model` (quantized bases train as QLoRA). The adapter stays set on the model afterwards, also when cancelled. */
export async function finetune(model: LoadedModel, opts: FinetuneOptions): Promise<FinetuneResult> {
  const m = engineModel(model);
  const rank = positiveInt("rank", opts.rank, FINETUNE_DEFAULTS.rank);
  if (opts.alpha !== undefined && opts.scale !== undefined) throw new MlxTsError("E_BAD_ARGUMENT", "finetune: give scale or alpha (scale = alpha / rank), not both.");
  const scale = opts.alpha !== undefined ? opts.alpha / rank : (opts.scale ?? FINETUNE_DEFAULTS.scale);
  if (!Number.isFinite(scale)) throw new MlxTsError("E_BAD_ARGUMENT", "finetune: scale / alpha must be a finite number.");
  const layers = opts.layers ?? FINETUNE_DEFAULTS.layers;
  if (!Number.isInteger(layers)) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: layers must be an integer (-1 = all), got ${opts.layers}.`);
  const iters = positiveInt("iters", opts.iters, FINETUNE_DEFAULTS.iters);
  const batchSize = positiveInt("batch size", opts.batchSize, FINETUNE_DEFAULTS.batchSize);
  const gradAccum = positiveInt("grad accumulation", opts.gradAccum, FINETUNE_DEFAULTS.gradAccum);
  const maxSeqLength = positiveInt("max sequence length", opts.maxSeqLength, FINETUNE_DEFAULTS.maxSeqLength);
  const every = positiveInt("every", opts.every, FINETUNE_DEFAULTS.every);
  const lr = opts.learningRate ?? FINETUNE_DEFAULTS.learningRate;
  if (!(lr > 0 && Number.isFinite(lr))) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: learning rate must be a positive number, got ${opts.learningRate}.`);
  const seed = opts.seed ?? FINETUNE_DEFAULTS.seed;
  const { text, source } = readData(opts);
  const data = loadTrainingData(text, m.tokenizer, { maxSeqLength, maskPrompt: opts.maskPrompt, modelName: m.name, source, skipBad: opts.skipBadLines ?? false });
  if (data.examples.length < batchSize) {
    throw new MlxTsError("E_BAD_ARGUMENT", `finetune: ${source} has ${data.examples.length} example(s), fewer than the batch size ${batchSize}. Add examples or lower the batch size.`);
  }
  const valText = readValData(opts);
  const val = valText ? loadTrainingData(valText.text, m.tokenizer, { maxSeqLength, maskPrompt: opts.maskPrompt, modelName: m.name, source: valText.source, skipBad: opts.skipBadLines ?? false }) : undefined;
  const valBatches = opts.valBatches ?? FINETUNE_DEFAULTS.valBatches;
  if (!Number.isInteger(valBatches) || (valBatches < 1 && valBatches !== -1)) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: val batches must be a positive integer or -1 (all), got ${opts.valBatches}.`);
  const stepsPerEval = positiveInt("steps per eval", opts.stepsPerEval, FINETUNE_DEFAULTS.stepsPerEval);
  if (val && val.examples.length < batchSize) {
    throw new MlxTsError("E_BAD_ARGUMENT", `finetune: ${valText!.source} has ${val.examples.length} example(s), fewer than the batch size ${batchSize}. Add validation examples or lower the batch size.`);
  }
  const order = trainingOrder(data.examples.map((e) => e.keys), batchSize, iters, seed, val ? { sortKeys: val.examples.map((e) => e.keys), valBatches, stepsPerEval } : undefined);
  const flat = order.train;
  const config: AdapterConfig = {
    fine_tune_type: "lora",
    num_layers: layers,
    lora_parameters: { rank, scale, dropout: 0, ...(opts.targets?.length ? { keys: opts.targets } : {}) },
    model: m.source,
    batch_size: batchSize,
    iters,
    learning_rate: lr,
    grad_accumulation_steps: gradAccum,
    max_seq_length: maxSeqLength,
    mask_prompt: opts.maskPrompt ?? false,
    optimizer: opts.optimizer ?? FINETUNE_DEFAULTS.optimizer,
    seed,
    save_every: every,
    ...(val ? { val_batches: valBatches, steps_per_eval: stepsPerEval } : {}),
  };
  const adapterDir = opts.save === undefined ? undefined : resolvePath(opts.save);
  if (adapterDir) {
    mkdirSync(adapterDir, { recursive: true });
    writeFileSync(join(adapterDir, "adapter_config.json"), `${JSON.stringify(config, null, 4)}\n`);
  }
  if (opts.initAdapter !== undefined && !existsSync(opts.initAdapter)) throw new MlxTsError("E_BAD_ARGUMENT", `finetune: initAdapter ${opts.initAdapter} does not exist.`);
  const skipped = [...data.skipped.map((p) => `${source}: ${p}`), ...(val?.skipped ?? []).map((p) => `${valText!.source}: ${p}`)];
  opts.onStart?.({ examples: data.examples.length, valExamples: val?.examples.length ?? 0, skipped });
  const addon = trainAddon(loadNative());
  const steps: FinetuneStep[] = [];
  const validation: Validation[] = [];
  let handle: { cancel(): void } | undefined;
  const run = new Promise<Extract<NativeTrainEvent, { type: "done" }>>((resolve, reject) => {
    const onAbort = (): void => handle?.cancel();
    const onEvent = (ev: NativeTrainEvent): void => {
      if (ev.type === "step") {
        const s: FinetuneStep = { step: ev.step, loss: ev.loss, tokens: ev.tokens, trainedTokens: ev.trainedTokens, elapsedS: ev.elapsedS, tokensPerSec: ev.tokensPerSec, peakMemory: ev.peakMemory, ...(ev.saved ? { saved: ev.saved } : {}), ...(ev.valLoss !== undefined ? { valLoss: ev.valLoss } : {}) };
        steps.push(s);
        if (ev.valLoss !== undefined) validation.push({ step: ev.step, loss: ev.valLoss, seconds: ev.valS ?? 0 });
        try {
          opts.onStep?.(s);
        } catch {
          // a failing progress callback must not stop training
        }
        return;
      }
      opts.signal?.removeEventListener("abort", onAbort);
      if (ev.type === "done") resolve(ev);
      else reject(fromNative(Object.assign(new Error(ev.message), { code: ev.code }), `Fine-tuning ${m.name}`));
    };
    try {
      handle = addon.train(m.nativeModel, {
        lora: nativeLora(config),
        examples: data.examples.map((e) => Int32Array.from(e.tokens)),
        offsets: Int32Array.from(data.examples.map((e) => e.offset)),
        schedule: Int32Array.from(flat),
        iters, batchSize, gradAccum, maxSeqLength, learningRate: lr,
        optimizer: opts.optimizer ?? FINETUNE_DEFAULTS.optimizer,
        weightDecay: opts.weightDecay ?? FINETUNE_DEFAULTS.weightDecay,
        seed,
        ...(opts.initAdapter !== undefined ? { initAdapter: resolvePath(opts.initAdapter) } : {}),
        ...(adapterDir ? { adapterDir } : {}),
        saveEvery: every,
        ...(val ? {
          valExamples: val.examples.map((e) => Int32Array.from(e.tokens)),
          valOffsets: Int32Array.from(val.examples.map((e) => e.offset)),
          evals: order.evals.map((e) => ({ step: e.step, batches: e.batches.map((b) => Int32Array.from(b)) })),
        } : {}),
      }, onEvent);
    } catch (e) {
      reject(fromNative(e, `Starting fine-tuning on ${m.name}`));
      return;
    }
    if (opts.signal?.aborted) handle.cancel();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
  // an interrupt cancels the run through the engine and waits for it, as for a generation
  m.track({ cancel: () => handle?.cancel(), result: run });
  let done: Extract<NativeTrainEvent, { type: "done" }>;
  try {
    done = await run;
  } catch (e) {
    // the engine took the previous adapter off before training, and a failed run leaves none
    adapters.delete(m);
    throw e;
  }
  adapters.set(m, adapterDir ?? "(in memory)");
  const schedule: number[][] = [];
  for (let i = 0; i < done.steps; i++) schedule.push(flat.slice(i * batchSize, (i + 1) * batchSize));
  return { model: m.name, steps, cancelled: done.cancelled, compiled: done.compiled ?? false, ...(done.uncompiledReason ? { uncompiledReason: done.uncompiledReason } : {}), layers: done.layers, format: data.format, examples: data.examples.length, schedule, validation, valExamples: val?.examples.length ?? 0, skipped, config, ...(adapterDir ? { adapterDir } : {}) };
}

/** Which adapter each model carries: its directory, "(in memory)" after an unsaved run. */
const adapters = new WeakMap<EngineModel, string>();

export function adapterOf(model: LoadedModel): string | undefined {
  return model instanceof EngineModel ? adapters.get(model) : undefined;
}

/** Reads adapter_config.json of an mlx-lm adapter directory. */
export function readAdapterConfig(dir: string): AdapterConfig {
  const file = join(dir, "adapter_config.json");
  if (!existsSync(file)) throw new MlxTsError("E_BAD_ARGUMENT", `${dir} has no adapter_config.json; give a directory written by mlx_lm.lora or %%finetune --save.`);
  let c: Partial<AdapterConfig>;
  try {
    c = JSON.parse(readFileSync(file, "utf8")) as Partial<AdapterConfig>;
  } catch (e) {
    throw new MlxTsError("E_BAD_ARGUMENT", `${file} is not valid JSON: ${(e as Error).message}.`);
  }
  const type = c.fine_tune_type ?? "lora";
  if (type !== "lora") throw new MlxTsError("E_BAD_ARGUMENT", `${file}: fine_tune_type "${type}" is not supported (only "lora").`);
  const lp = c.lora_parameters;
  if (typeof c.num_layers !== "number" || !lp || typeof lp.rank !== "number" || typeof lp.scale !== "number") {
    throw new MlxTsError("E_BAD_ARGUMENT", `${file} needs num_layers and lora_parameters {rank, scale}, as mlx-lm writes them.`);
  }
  return { ...c, fine_tune_type: "lora", num_layers: c.num_layers, lora_parameters: lp } as AdapterConfig;
}

/** Sets the adapter in `dir` (mlx-lm's layout) on the model: generation uses it until removed or replaced. */
export async function applyAdapter(model: LoadedModel, dir: string): Promise<number> {
  const m = engineModel(model);
  const abs = resolvePath(dir);
  const config = readAdapterConfig(abs);
  const file = join(abs, "adapters.safetensors");
  if (!existsSync(file)) throw new MlxTsError("E_BAD_ARGUMENT", `${abs} has no adapters.safetensors.`);
  try {
    const n = await trainAddon(loadNative()).setAdapter(m.nativeModel, file, nativeLora(config));
    adapters.set(m, abs);
    return n;
  } catch (e) {
    adapters.delete(m);
    throw fromNative(e, `Loading the adapter ${abs} onto ${m.name}`);
  }
}

/** Makes `adapter` the model's adapter before a generation: a directory is set unless it already is, null removes it, undefined leaves it. */
export async function useAdapter(model: LoadedModel, adapter: string | null | undefined): Promise<void> {
  if (adapter === null && adapterOf(model) !== undefined) await removeAdapter(model);
  else if (typeof adapter === "string" && adapterOf(model) !== resolvePath(adapter)) await applyAdapter(model, adapter);
}

export async function removeAdapter(model: LoadedModel): Promise<void> {
  const m = engineModel(model);
  try {
    await trainAddon(loadNative()).setAdapter(m.nativeModel, null);
  } catch (e) {
    throw fromNative(e, `Removing the adapter of ${m.name}`);
  }
  adapters.delete(m);
}
