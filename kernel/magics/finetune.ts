// %%finetune: LoRA / QLoRA training of a loaded model from a cell (engine/finetune.ts), with a progress
// line and a live loss chart updated in place; %adapter sets or removes an adapter on a loaded model.
import { chartBundle } from "../display/chart.js";
import { adapterOf, applyAdapter, finetune, FINETUNE_DEFAULTS, removeAdapter, type FinetuneStep } from "../engine/finetune.js";
import { formatBytes } from "../util/bytes.js";
import { escapeHtml } from "../util/html.js";
import { MagicArgError } from "../util/args.js";
import { bool, defineMagic, num, str } from "./define.js";

function progressBar(step: number, iters: number, width = 20): string {
  const full = Math.round((Math.min(step, iters) / iters) * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
}

function progressLine(s: FinetuneStep, iters: number, lastVal?: number): string {
  const val = lastVal === undefined ? "" : `  val ${lastVal.toFixed(4)}`;
  return `${progressBar(s.step, iters)} step ${s.step}/${iters}  loss ${s.loss.toFixed(4)}${val}  ${s.tokensPerSec.toFixed(1)} tok/s  peak ${formatBytes(s.peakMemory)}${s.saved ? `  saved ${s.saved}` : ""}`;
}

defineMagic({
  spec: {
    name: "finetune",
    kind: "cell",
    summary: "LoRA fine-tune a loaded model (QLoRA on a quantized one) with a live loss chart; adapters in mlx-lm's layout",
    positional: [{ name: "MODEL", help: "a loaded model (see %models)", required: true }],
    flags: [
      { name: "data", type: "string", help: "a .jsonl file or a directory with train.jsonl, and valid.jsonl for validation (default: the cell body is the JSONL)", metavar: "PATH" },
      { name: "val-data", type: "string", help: "a validation .jsonl file (default: valid.jsonl in the --data directory, if there)", metavar: "FILE" },
      { name: "val-batches", type: "int", min: -1, help: `validation batches per evaluation, -1 = all (default ${FINETUNE_DEFAULTS.valBatches})`, metavar: "N" },
      { name: "steps-per-eval", type: "int", min: 1, help: `evaluate before step 1, every N steps and before the last (default ${FINETUNE_DEFAULTS.stepsPerEval})`, metavar: "N" },
      { name: "rank", type: "int", min: 1, help: `LoRA rank (default ${FINETUNE_DEFAULTS.rank})`, metavar: "R" },
      { name: "scale", type: "number", help: `multiplier of the LoRA update, mlx-lm's lora_parameters.scale (default ${FINETUNE_DEFAULTS.scale})`, metavar: "S" },
      { name: "alpha", type: "number", help: "instead of --scale: scale = alpha / rank", metavar: "A" },
      { name: "layers", type: "int", help: `adapt the last N blocks, -1 = all (default ${FINETUNE_DEFAULTS.layers}, as mlx-lm --num-layers)`, metavar: "N" },
      { name: "targets", type: "string", help: "comma-separated module paths in a block, e.g. self_attn.q_proj,self_attn.v_proj (default: every linear layer)", metavar: "KEYS" },
      { name: "lr", type: "number", help: `learning rate (default ${FINETUNE_DEFAULTS.learningRate})`, metavar: "LR" },
      { name: "iters", type: "int", min: 1, help: `training steps (default ${FINETUNE_DEFAULTS.iters})`, metavar: "N" },
      { name: "batch", type: "int", min: 1, help: `batch size (default ${FINETUNE_DEFAULTS.batchSize})`, metavar: "B" },
      { name: "grad-accum", type: "int", min: 1, help: "steps whose gradients are summed before an update (default 1)", metavar: "K" },
      { name: "max-seq-len", type: "int", min: 2, help: `longest example in tokens (default ${FINETUNE_DEFAULTS.maxSeqLength}); longer lines are reported`, metavar: "L" },
      { name: "skip-bad", type: "bool", help: "leave bad data lines out (each reported) instead of refusing the data" },
      { name: "mask-prompt", type: "bool", help: "train only on completions / the last assistant message (mlx-lm --mask-prompt)" },
      { name: "optimizer", type: "string", choices: ["adam", "adamw"], help: "optimizer (default adam, as mlx-lm)" },
      { name: "seed", type: "int", min: 0, help: "numpy seed of the batch order, and of the LoRA init (default 0)", metavar: "N" },
      { name: "save", type: "string", help: "write adapters.safetensors + adapter_config.json here (mlx_lm.generate --adapter-path loads it)", metavar: "DIR" },
      { name: "every", type: "int", min: 1, help: `with --save: a checkpoint every N steps (default ${FINETUNE_DEFAULTS.every})`, metavar: "N" },
      { name: "init-adapter", type: "string", help: "start from this adapters.safetensors", metavar: "FILE" },
    ],
    examples: [
      '%%finetune qwen3 --iters 100 --batch 2 --save adapters/qwen3\n{"text": "..."}',
      "%%finetune qwen3-4bit --data data/ --rank 8 --layers 8 --targets self_attn.q_proj,self_attn.v_proj --lr 1e-4",
    ],
  },
  modelPositionals: [0],
  async run(a, body, ctx) {
    const engine = await ctx.engine();
    const model = engine.get(a.positional[0]!);
    const dataPath = str(a, "data");
    if (dataPath === undefined && !body?.trim()) throw new MagicArgError("%%finetune: no data. Put JSONL in the cell body (one example per line) or pass --data PATH.");
    const iters = num(a, "iters") ?? FINETUNE_DEFAULTS.iters;
    const id = `mlx-ts-finetune-${Date.now()}`;
    const rows: { step: number; loss: number; series: string }[] = [];
    let last = "starting…";
    let lastVal: number | undefined;
    const show = (): void => {
      const hasVal = lastVal !== undefined;
      const title = `${model.name}: ${hasVal ? "training and validation loss" : "training loss"}`;
      const chart = rows.length ? chartBundle({ kind: "line", title, x: { field: "step" }, y: { field: "loss" }, ...(hasVal ? { series: { field: "series" } } : {}), data: rows }) : {};
      ctx.sink.updateDisplay({ ...chart, "text/plain": `${rows.length ? `${chart["text/plain"] as string}\n` : ""}${last}` }, { displayId: id });
    };
    ctx.sink.display({ "text/plain": `fine-tuning ${model.name}: ${last}` }, { displayId: id });
    const targets = str(a, "targets")?.split(",").map((t) => t.trim()).filter(Boolean);
    const res = await finetune(model, {
      ...(dataPath !== undefined ? { dataPath } : { data: body! }),
      ...(str(a, "val-data") !== undefined ? { valDataPath: str(a, "val-data") } : {}),
      ...(num(a, "val-batches") !== undefined ? { valBatches: num(a, "val-batches") } : {}),
      ...(num(a, "steps-per-eval") !== undefined ? { stepsPerEval: num(a, "steps-per-eval") } : {}),
      ...(num(a, "rank") !== undefined ? { rank: num(a, "rank") } : {}),
      ...(num(a, "scale") !== undefined ? { scale: num(a, "scale") } : {}),
      ...(num(a, "alpha") !== undefined ? { alpha: num(a, "alpha") } : {}),
      ...(num(a, "layers") !== undefined ? { layers: num(a, "layers") } : {}),
      ...(targets?.length ? { targets } : {}),
      ...(num(a, "lr") !== undefined ? { learningRate: num(a, "lr") } : {}),
      iters,
      ...(num(a, "batch") !== undefined ? { batchSize: num(a, "batch") } : {}),
      ...(num(a, "grad-accum") !== undefined ? { gradAccum: num(a, "grad-accum") } : {}),
      ...(num(a, "max-seq-len") !== undefined ? { maxSeqLength: num(a, "max-seq-len") } : {}),
      maskPrompt: bool(a, "mask-prompt"),
      skipBadLines: bool(a, "skip-bad"),
      ...(str(a, "optimizer") !== undefined ? { optimizer: str(a, "optimizer") as "adam" | "adamw" } : {}),
      ...(num(a, "seed") !== undefined ? { seed: num(a, "seed") } : {}),
      ...(str(a, "save") !== undefined ? { save: str(a, "save") } : {}),
      ...(num(a, "every") !== undefined ? { every: num(a, "every") } : {}),
      ...(str(a, "init-adapter") !== undefined ? { initAdapter: str(a, "init-adapter") } : {}),
      signal: ctx.signal,
      onStart: ({ skipped }) => {
        if (skipped.length) ctx.sink.stream("stderr", `skipped ${skipped.length} bad line(s):\n  ${skipped.slice(0, 20).join("\n  ")}${skipped.length > 20 ? `\n  … and ${skipped.length - 20} more` : ""}\n`);
      },
      onStep: (s) => {
        // the validation loss is of the adapter before this step's update, as mlx-lm reports it
        if (s.valLoss !== undefined) {
          lastVal = s.valLoss;
          rows.push({ step: s.step, loss: Number(s.valLoss.toFixed(5)), series: "validation" });
        }
        rows.push({ step: s.step, loss: Number(s.loss.toFixed(5)), series: "train" });
        last = progressLine(s, iters, lastVal);
        show();
      },
    });
    const where = res.adapterDir ? `adapter saved to ${res.adapterDir}` : "adapter not saved (no --save)";
    last = `${res.cancelled ? `interrupted after step ${res.steps.length}/${iters}` : `done: ${res.steps.length} steps`}; ${res.layers} layers adapted; ${where}. ` +
      `${model.name} generates with it now (%adapter ${model.name} --remove drops it; %fuse ${model.name} --save DIR merges it into a checkpoint).` + (res.steps.length ? `\n${progressLine(res.steps[res.steps.length - 1]!, iters, lastVal)}` : "");
    show();
    ctx.globals.lastFinetune = res;
    return undefined;
  },
});

defineMagic({
  spec: {
    name: "adapter",
    kind: "line",
    summary: "Set a LoRA adapter (mlx-lm layout) on a loaded model, remove it, or show which it has",
    positional: [{ name: "MODEL", help: "a loaded model", required: true }, { name: "DIR", help: "directory with adapters.safetensors + adapter_config.json" }],
    flags: [{ name: "remove", type: "bool", help: "remove the model's adapter" }],
    examples: ["%adapter qwen3 adapters/qwen3", "%adapter qwen3 --remove", "%adapter qwen3"],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const model = engine.get(a.positional[0]!);
    const dir = a.positional[1];
    let line: string;
    if (bool(a, "remove")) {
      await removeAdapter(model);
      line = `${model.name}: adapter removed.`;
    } else if (dir !== undefined) {
      const n = await applyAdapter(model, dir);
      line = `${model.name}: adapter ${dir} set on ${n} layers; generation uses it.`;
    } else line = `${model.name}: ${adapterOf(model) ?? "no adapter"}.`;
    ctx.sink.display({ "text/plain": line, "text/html": `<div>${escapeHtml(line)}</div>` });
    return undefined;
  },
});
