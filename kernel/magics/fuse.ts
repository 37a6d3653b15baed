// %fuse: merge a LoRA adapter into its base and save a checkpoint mlx-lm loads (engine/finetune-fuse.ts),
// optionally loading the fused model into the session under a name.
import { fuse } from "../engine/finetune-fuse.js";
import { registryOf } from "../engine/registry.js";
import { formatBytes } from "../util/bytes.js";
import { escapeHtml } from "../util/html.js";
import { MagicArgError } from "../util/args.js";
import { bool, defineMagic, str } from "./define.js";
import { progressLoader } from "./load.js";

defineMagic({
  spec: {
    name: "fuse",
    kind: "line",
    summary: "Merge a LoRA adapter into its base model and save a checkpoint mlx-lm loads (as mlx_lm.fuse)",
    positional: [{ name: "MODEL", help: "a loaded model (its adapter, or --adapter's, is fused)", required: true }],
    flags: [
      { name: "save", type: "string", help: "(required) directory for the fused model (mlx_lm.fuse --save-path)", metavar: "DIR" },
      { name: "adapter", type: "string", help: "adapter directory (adapters.safetensors + adapter_config.json); default: the adapter MODEL carries", metavar: "DIR" },
      { name: "dequantize", type: "bool", help: "write plain weights (a quantized base is otherwise re-quantized with its bits and group size)" },
      { name: "as", type: "string", help: "then load the fused model into the session under this name", metavar: "NAME" },
      { name: "overwrite", type: "bool", help: "replace a non-empty --save directory" },
    ],
    examples: ["%fuse qwen3 --save fused/qwen3", "%fuse qwen3-4bit --adapter adapters/qwen3 --save fused/qwen3-4bit --as qwen3-fused", "%fuse qwen3-4bit --save fused/plain --dequantize"],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const model = engine.get(a.positional[0]!);
    const adapter = str(a, "adapter");
    const save = str(a, "save");
    if (save === undefined) throw new MagicArgError("%fuse: --save DIR is required: the directory the fused model goes to. Example: %fuse qwen3 --save fused/qwen3");
    const res = await fuse(model, {
      save,
      ...(adapter !== undefined ? { adapter } : {}),
      dequantize: bool(a, "dequantize"),
      overwrite: bool(a, "overwrite"),
    });
    const kind = res.quantized ? "re-quantized as the base" : "plain weights";
    let line = `${model.name}: adapter ${res.adapter} fused into ${res.fusedLayers} layers (${kind}); saved ${formatBytes(res.bytes)} to ${res.dir}` +
      `${res.dequantizedLayers ? `, ${res.dequantizedLayers} other layers dequantized` : ""}.`;
    const as = str(a, "as");
    if (as !== undefined) {
      const loaded = await registryOf(engine).load(res.dir, { as }, progressLoader(ctx, engine, "%fuse --as"));
      line += ` Loaded as ${loaded.model.name}.`;
    }
    ctx.sink.display({ "text/plain": line, "text/html": `<div>${escapeHtml(line)}</div>` });
    ctx.globals.lastFuse = res;
    return undefined;
  },
});
