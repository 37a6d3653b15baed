// %load, %unload: loading into the registry from a cell (%models is in models.ts). A load shows a
// progress display that is replaced in place (same display_id) by the model's card once the weights are in.
import type { Engine, LoadedModel, LoadOptions } from "../engine/types.js";
import { modelCardBundle, type ModelSummary } from "../display/model-card.js";
import { registryOf, type Loader } from "../engine/registry.js";
import { startLoadProgress } from "../display/load-progress.js";
import { MagicArgError } from "../util/args.js";
import { defineMagic, num, str } from "./define.js";
import { modelSourceCandidates } from "./complete-models.js";
import { noteLoaded, noteUnloaded } from "./state.js";
import type { MagicContext } from "./registry.js";

const DTYPES = { bf16: "bfloat16", f16: "float16", f32: "float32" } as const;

export function summarize(engine: Engine, m: LoadedModel, note?: string): ModelSummary {
  return { name: m.name, source: m.source, info: m.info(), device: engine.runtime().device, note };
}

/** Loads with a live progress display that ends as the model card. Shared with %quantize --as and reloads. */
export async function loadWithProgress(ctx: Pick<MagicContext, "sink">, engine: Engine, idOrPath: string, opts: LoadOptions, why?: string, displayId?: string): Promise<LoadedModel> {
  const progress = startLoadProgress(ctx.sink, idOrPath, displayId);
  // One rule for %load --as and %quantize --as: a new model replaces a loaded one of the same name, and the card says so.
  const before = new Map(engine.models);
  try {
    const model = await engine.load(idOrPath, { ...opts, onProgress: progress.onProgress });
    const secs = progress.elapsed().toFixed(2);
    const how = [opts.quant ? `quantized to ${opts.quant.bits} bits` : "", opts.dtype ?? ""].filter(Boolean).join(", ");
    const replaced = before.has(model.name) && before.get(model.name) !== engine.models.get(model.name) ? `; replaced the ${model.name} loaded before` : "";
    progress.end(modelCardBundle(summarize(engine, model, `loaded in ${secs} s${how ? ` (${how})` : ""}${replaced}${why ? `; ${why}` : ""}`)));
    noteLoaded(engine, model.name, idOrPath, { dtype: opts.dtype, quant: opts.quant });
    return model;
  } catch (e) {
    progress.end({ "text/plain": `${idOrPath}: not loaded (the error says why)` });
    throw e;
  }
}

/** The registry's loader for a cell: each (re)load shows the progress bar and then the card. */
export function progressLoader(ctx: Pick<MagicContext, "sink">, engine: Engine, why?: string): Loader {
  return (idOrPath, opts) => loadWithProgress(ctx, engine, idOrPath, opts, why);
}

/** dist: --shards, --backend, --hosts, --mode as LoadOptions; the three others need --shards. */
function shardFlags(a: Parameters<typeof str>[0]): Pick<LoadOptions, "shards" | "backend" | "hosts" | "mode"> {
  const shards = num(a, "shards");
  const rest = { backend: str(a, "backend"), hosts: str(a, "hosts"), mode: str(a, "mode") };
  const given = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
  if (shards === undefined) {
    if (given.length) throw new MagicArgError(`%load: ${given.join(", ")} only apply with --shards N. Add --shards, or drop them.`);
    return {};
  }
  return {
    shards,
    ...(rest.backend ? { backend: rest.backend as LoadOptions["backend"] } : {}),
    ...(rest.hosts ? { hosts: rest.hosts } : {}),
    ...(rest.mode ? { mode: rest.mode as LoadOptions["mode"] } : {}),
  };
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
      { name: "role", type: "string", help: "register it with this role (see %register)", metavar: "ROLE" },
      { name: "priority", type: "int", help: "register it with this priority (higher stays resident longer; default 0)", metavar: "N" },
      { name: "context", type: "int", min: 1, help: "KV positions the model budget reserves for it (default min(its context, 4096))", metavar: "TOKENS" },
      // dist: a model sharded over rank processes (kernel/engine/shards.ts)
      { name: "shards", type: "int", min: 1, help: "split the model over N rank processes (MLX distributed, tensor parallel as mlx-lm's shard())", metavar: "N" },
      { name: "backend", type: "string", choices: ["ring", "nccl", "mpi"], help: "MLX distributed backend for --shards (default ring: TCP)" },
      { name: "hosts", type: "string", help: "hostfile for --shards: MLX's ring hostfile, JSON [[\"ip:port\"], ...] in rank order, or mlx.launch's [{\"ssh\": host, \"ips\": [...], \"node\", \"checkout\"}, ...]; other hosts' ranks start over ssh (default: free ports on 127.0.0.1)", metavar: "FILE" },
      { name: "mode", type: "string", choices: ["tensor", "pipeline"], help: "how --shards splits the model: tensor (each layer's projections, default) or pipeline (whole layers per rank)" },
    ],
    examples: ["%load smollm2", "%load ./models/Qwen3-0.6B --as qwen --quant 4", "%load mlx-community/SmolLM2-135M-Instruct", "%load ./models/Qwen3-0.6B --as qwen2r --shards 2"],
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
      ...shardFlags(a),
    };
    const role = str(a, "role");
    const priority = num(a, "priority");
    const context = num(a, "context");
    // Through the registry: %load registers the model and evicts others when the model budget needs it.
    const res = await registryOf(engine).load(a.positional[0]!, { ...opts, ...(role ? { role } : {}), ...(priority !== undefined ? { priority } : {}), ...(context ? { context } : {}) }, progressLoader(ctx, engine));
    if (res.evicted.length) ctx.sink.stream("stdout", `Evicted ${res.evicted.join(", ")} to stay within the model budget (%models shows it).\n`);
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
