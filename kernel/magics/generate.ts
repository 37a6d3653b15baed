// %%generate: the cell body is the prompt; tokens stream live into one output, then the stats line.
import { useAdapter } from "../engine/finetune.js";
import type { GenerateOptions } from "../engine/types.js";
import type { FlagSpec } from "../util/args.js";
import { MagicArgError } from "../util/args.js";
import { bool, defineMagic, num, str } from "./define.js";
import { KV_CACHE_FLAGS, kvCacheOptions } from "./kv-flags.js";
import { residentModel } from "./resident.js";
import { publishResult, streamIntoView } from "./stream-view.js";
import { batchPrompts, streamBatchIntoViews } from "./batch-view.js";
import type { ParsedArgs } from "../util/args.js";

/** Sampling flags shared by %%generate and %%chat. */
export const SAMPLING_FLAGS: FlagSpec[] = [
  { name: "max-tokens", type: "int", min: 1, help: "tokens to generate at most (default 256)", metavar: "N" },
  { name: "temp", type: "number", min: 0, help: "sampling temperature; 0 = greedy (default 0)", metavar: "T" },
  { name: "top-p", type: "number", min: 0, max: 1, help: "nucleus sampling mass (default 1 = off)", metavar: "P" },
  { name: "top-k", type: "int", min: 0, help: "sample among the K most likely tokens (default 0 = off)", metavar: "K" },
  { name: "min-p", type: "number", min: 0, max: 1, help: "drop tokens below P × the top probability (default 0 = off)", metavar: "P" },
  { name: "repetition-penalty", type: "number", min: 0, help: "penalize recent tokens (default 1 = off)", metavar: "R" },
  { name: "seed", type: "int", min: 0, help: "random seed for sampling", metavar: "S" },
  { name: "no-think", type: "bool", help: "Qwen3: disable thinking (enable_thinking=false in the chat template)" },
];

/** Speculative-decoding flags shared by %%generate and %%chat. */
export const DRAFT_FLAGS: FlagSpec[] = [
  { name: "draft", type: "string", help: "speculative decoding: a loaded model with the same tokenizer proposes tokens, this one checks them (greedy output unchanged)", metavar: "NAME" },
  { name: "num-draft", type: "int", min: 1, help: "tokens the draft proposes per step (default 2; needs --draft)", metavar: "K" },
];

export function draftOptions(a: ParsedArgs): GenerateOptions {
  const o: GenerateOptions = {};
  const draft = str(a, "draft");
  const k = num(a, "num-draft");
  if (k !== undefined && draft === undefined) throw new MagicArgError("--num-draft K needs --draft NAME (the model that proposes the tokens).");
  if (draft !== undefined) o.draft = draft;
  if (k !== undefined) o.numDraft = k;
  return o;
}

export function samplingOptions(a: ParsedArgs): GenerateOptions {
  const o: GenerateOptions = {};
  const set = <K extends keyof GenerateOptions>(k: K, v: GenerateOptions[K] | undefined): void => {
    if (v !== undefined) o[k] = v;
  };
  set("maxTokens", num(a, "max-tokens"));
  set("temperature", num(a, "temp"));
  set("topP", num(a, "top-p"));
  set("topK", num(a, "top-k"));
  set("minP", num(a, "min-p"));
  set("repetitionPenalty", num(a, "repetition-penalty"));
  set("seed", num(a, "seed"));
  if (bool(a, "no-think")) o.enableThinking = false;
  return o;
}

defineMagic({
  spec: {
    name: "generate",
    kind: "cell",
    summary: "Generate from the cell body as the prompt, streaming tokens live, then the stats line",
    flags: [
      { name: "model", type: "string", help: "model to use (default: the most recently loaded); a registered one that is not resident is loaded", metavar: "NAME" },
      { name: "task", type: "string", help: "route to the registered model for this role (see %register --role, %models)", metavar: "ROLE" },
      ...SAMPLING_FLAGS,
      ...KV_CACHE_FLAGS,
      ...DRAFT_FLAGS,
      { name: "system", type: "string", help: "system message before the prompt", metavar: "TEXT" },
      { name: "raw", type: "bool", help: "send the body as raw text, without the chat template" },
      { name: "adapter", type: "string", help: "set this LoRA adapter (mlx-lm layout) on the model first; it stays set, as %adapter", metavar: "DIR" },
      // batch: batched generation (engine/batch.ts)
      { name: "batch", type: "bool", help: "one prompt per line, generated as one batch (one forward pass over all rows per step); each row streams into its own output; lastGeneration is the last row" },
    ],
    examples: ["(the result stays in the global lastGeneration: text, answer, thinking, tokens, stats)", "%%generate --max-tokens 64\nWrite a haiku about unified memory.", "%%generate --model qwen --temp 0.7 --top-p 0.9 --seed 1 --no-think\nName three colors.", "%%generate --task code\nWrite fizzbuzz in TypeScript.", "%%generate --batch --max-tokens 32\nName a color.\nName a fruit."],
  },
  modelFlags: ["model", "draft"],
  async run(a, body, ctx) {
    const prompt = (body ?? "").trim();
    if (!prompt) throw new MagicArgError("%%generate: the cell body is the prompt and it is empty. Write the prompt on the lines below %%generate.");
    // batch: the lines are checked before any model is touched
    const batchLines = bool(a, "batch") ? batchPrompts(body ?? "", "%%generate") : undefined;
    const engine = await ctx.engine();
    if (str(a, "model") !== undefined && str(a, "task") !== undefined) throw new MagicArgError("%%generate: give --model NAME or --task ROLE, not both.");
    const { model, note } = await residentModel(ctx, engine, { model: str(a, "model"), task: str(a, "task") }, "%%generate");
    const opts: GenerateOptions = { ...samplingOptions(a), ...draftOptions(a), raw: bool(a, "raw") };
    Object.assign(opts, kvCacheOptions(a));
    const system = str(a, "system");
    if (system !== undefined) opts.system = system;
    await useAdapter(model, str(a, "adapter"));
    if (batchLines) {
      const results = await streamBatchIntoViews(ctx, model, batchLines, opts, note);
      publishResult(ctx, results[results.length - 1]!);
      return undefined;
    }
    const result = await streamIntoView(ctx, model, prompt, opts, note);
    publishResult(ctx, result);
    return undefined;
  },
});
