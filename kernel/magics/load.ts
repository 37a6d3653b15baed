// %load, %models, %unload: the model registry from a cell. A load shows a progress display that is
// replaced in place (same display_id) by the model's card once the weights are in.
import { randomUUID } from "node:crypto";
import type { Engine, LoadedModel, LoadOptions } from "../engine/types.js";
import { modelCardBundle, modelsTableBundle, type ModelSummary } from "../display/model-card.js";
import { escapeHtml } from "../util/html.js";
import type { MimeBundle } from "../protocol.js";
import { MagicArgError } from "../util/args.js";
import { defineMagic, num, str } from "./define.js";
import { modelSourceCandidates } from "./complete-models.js";
import { noteLoaded, noteUnloaded } from "./state.js";
import type { MagicContext } from "./registry.js";

const DTYPES = { bf16: "bfloat16", f16: "float16", f32: "float32" } as const;

export function summarize(engine: Engine, m: LoadedModel, note?: string): ModelSummary {
  return { name: m.name, source: m.source, info: m.info(), device: engine.runtime().device, note };
}

function progressBundle(label: string, fraction: number | undefined, elapsed: number): MimeBundle {
  const width = 30;
  const secs = `${elapsed.toFixed(1)} s`;
  if (fraction === undefined) {
    // No byte counts while MLX reads the weights: an honest spinner-like bar with elapsed time.
    const pos = Math.floor(elapsed * 4) % width;
    const bar = Array.from({ length: width }, (_, i) => (Math.abs(i - pos) <= 1 ? "#" : ".")).join("");
    return { "text/plain": `[${bar}] ${label} ${secs}`, "text/html": `<div><progress style="width:20em"></progress> ${escapeHtml(label)} ${secs}</div>` };
  }
  const filled = Math.round(fraction * width);
  return {
    "text/plain": `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${label} ${secs}`,
    "text/html": `<div><progress style="width:20em" value="${fraction.toFixed(3)}" max="1"></progress> ${(fraction * 100).toFixed(0)}% ${escapeHtml(label)} ${secs}</div>`,
  };
}

/** Loads with a live progress display that ends as the model card. Shared with %quantize --as. */
export async function loadWithProgress(ctx: MagicContext, engine: Engine, idOrPath: string, opts: LoadOptions, displayId = `mlx-ts-load-${randomUUID()}`): Promise<LoadedModel> {
  const started = performance.now();
  let label = `loading ${idOrPath}`;
  let fraction: number | undefined;
  const show = (): void => ctx.sink.updateDisplay(progressBundle(label, fraction, (performance.now() - started) / 1000), { displayId });
  ctx.sink.display(progressBundle(label, undefined, 0), { displayId });
  const timer = setInterval(show, 500);
  timer.unref?.();
  // One rule for %load --as and %quantize --as: a new model replaces a loaded one of the same name, and the card says so.
  const before = new Map(engine.models);
  try {
    const model = await engine.load(idOrPath, {
      ...opts,
      onProgress: (p) => {
        label =
          p.phase === "download" ? `downloading ${p.file ?? idOrPath}`
          : p.phase === "warmup" ? `compiling GPU kernels for ${idOrPath} (${p.done}/${p.total} prompt-length buckets; the first load on this machine compiles for up to a minute each, later loads reuse ${process.env.MLX_PTX_CACHE_DIR ?? "MLX's cache"})`
          : `loading ${idOrPath}`;
        fraction = (p.phase === "download" || p.phase === "warmup") && p.total > 0 ? p.done / p.total : undefined;
      },
    });
    clearInterval(timer);
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    const how = [opts.quant ? `quantized to ${opts.quant.bits} bits` : "", opts.dtype ?? ""].filter(Boolean).join(", ");
    const replaced = before.has(model.name) && before.get(model.name) !== engine.models.get(model.name) ? `; replaced the ${model.name} loaded before` : "";
    ctx.sink.updateDisplay(modelCardBundle(summarize(engine, model, `loaded in ${secs} s${how ? ` (${how})` : ""}${replaced}`)), { displayId });
    noteLoaded(engine, model.name, idOrPath, { dtype: opts.dtype, quant: opts.quant });
    return model;
  } catch (e) {
    clearInterval(timer);
    ctx.sink.updateDisplay({ "text/plain": `${idOrPath}: not loaded (the error says why)` }, { displayId });
    throw e;
  }
}

defineMagic({
  spec: {
    name: "load",
    kind: "line",
    summary: "Load a model: an alias (smollm2), a directory, a .gguf file or an HF id",
    positional: [{ name: "ID_OR_PATH", help: "alias, model directory, .gguf file, or HF id org/name", required: true }],
    flags: [
      { name: "as", type: "string", help: "name to register it under (default: alias, repo or file name); a model loaded under that name is replaced", metavar: "NAME" },
      { name: "quant", type: "int", choices: [4, 8], help: "quantize after loading to this many bits" },
      { name: "group-size", type: "int", choices: [32, 64, 128], help: "quantization group size (default 64)", metavar: "N" },
      { name: "dtype", type: "string", choices: ["bf16", "f16", "f32"], help: "cast the unquantized weights to this dtype" },
    ],
    examples: ["%load smollm2", "%load ./models/Qwen3-0.6B --as qwen --quant 4", "%load mlx-community/SmolLM2-135M-Instruct"],
  },
  completePositional: (i, cur) => (i === 0 ? modelSourceCandidates(cur) : []),
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const bits = num(a, "quant");
    const groupSize = num(a, "group-size");
    if (groupSize !== undefined && bits === undefined) throw new MagicArgError("%load: --group-size only applies with --quant 4|8. Add --quant, or drop --group-size.");
    const dtype = str(a, "dtype") as keyof typeof DTYPES | undefined;
    const opts: LoadOptions = {
      ...(str(a, "as") ? { as: str(a, "as") } : {}),
      ...(dtype ? { dtype: DTYPES[dtype] } : {}),
      ...(bits !== undefined ? { quant: { bits, ...(groupSize ? { groupSize } : {}) } } : {}),
    };
    await loadWithProgress(ctx, engine, a.positional[0]!, opts);
    return undefined;
  },
});

defineMagic({
  spec: { name: "models", kind: "line", summary: "List the loaded models (name, architecture, parameters, quantization, bytes, device, context)" },
  async run(_a, _body, ctx) {
    const engine = await ctx.engine();
    ctx.sink.display(modelsTableBundle([...engine.models.values()].map((m) => summarize(engine, m))));
    return undefined;
  },
});

defineMagic({
  spec: {
    name: "unload",
    kind: "line",
    summary: "Unload a model and free its weights",
    positional: [{ name: "NAME", help: "a loaded model's name (see %models)", required: true }],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const name = a.positional[0]!;
    const before = engine.memory().active;
    engine.unload(name);
    noteUnloaded(engine, name);
    const freed = before - engine.memory().active;
    ctx.sink.stream("stdout", `Unloaded ${name}${freed > 0 ? ` (active memory down ${(freed / 1e6).toFixed(1)} MB)` : ""}.\n`);
    return undefined;
  },
});
