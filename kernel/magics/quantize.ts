// %quantize: quantize a loaded model (in place, or a second copy with --as), report the size before
// and after and a quality check against the unquantized weights on a fixed text.
import type { Engine, LoadedModel, QuantizeOptions } from "../engine/types.js";
import { MlxTsError } from "../engine/types.js";
import { escapeHtml } from "../util/html.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "../display/mime.js";
import { MagicArgError } from "../util/args.js";
import { formatBytes } from "../util/bytes.js";
import { defineMagic, num, str } from "./define.js";
import { loadWithProgress } from "./load.js";
import { makeReference, scoreAgainst, type QualityScore } from "./quality.js";
import { noteLoaded, stateOf } from "./state.js";
import type { MagicContext } from "./registry.js";

export interface QuantizeSummary {
  model: string;
  quantized: string;
  bits: number;
  groupSize: number;
  mode: string;
  bytesBefore: number;
  bytesAfter: number;
  original: QualityScore;
  after: QualityScore;
  savedTo?: string;
}

const pct = (s: QualityScore): string => `${s.agree}/${s.total} (${((100 * s.agree) / Math.max(1, s.total)).toFixed(0)}%)`;

function summaryTable(s: QuantizeSummary): TableData {
  return {
    columns: ["", s.model, s.quantized],
    rows: [
      ["quantization", "none", `${s.mode} ${s.bits}-bit, group ${s.groupSize}`],
      ["weight bytes", formatBytes(s.bytesBefore), `${formatBytes(s.bytesAfter)} (${((100 * s.bytesAfter) / s.bytesBefore).toFixed(0)}%)`],
      ["greedy-token agreement", pct(s.original), pct(s.after)],
      ["perplexity of the reference", s.original.perplexity.toFixed(3), s.after.perplexity.toFixed(3)],
    ],
  };
}

async function quantizeCopy(ctx: MagicContext, engine: Engine, source: LoadedModel, as: string, q: Required<QuantizeOptions>): Promise<LoadedModel> {
  if (engine.models.has(as)) throw new MagicArgError(`%quantize: a model named "${as}" is already loaded. Pick another --as name, or %unload ${as} first.`);
  const how = stateOf(engine).loadedWith.get(source.name);
  return loadWithProgress(ctx, engine, how?.idOrPath ?? source.source, { as, ...(how?.opts.dtype ? { dtype: how.opts.dtype } : {}), quant: q });
}

defineMagic({
  spec: {
    name: "quantize",
    kind: "line",
    summary: "Quantize a loaded model; shows size before/after and a quality check against the original",
    positional: [{ name: "NAME", help: "a loaded model (see %models)", required: true }],
    flags: [
      { name: "bits", type: "int", choices: [2, 3, 4, 5, 6, 8], help: "bits per weight (required)", metavar: "B" },
      { name: "group-size", type: "int", choices: [32, 64, 128], help: "weights per scale (default 64; mxfp4/mxfp8 use 32)", metavar: "G" },
      { name: "mode", type: "string", choices: ["affine", "mxfp4", "mxfp8"], help: "quantization mode (default affine)" },
      { name: "as", type: "string", help: "keep the original and load a quantized copy under this name", metavar: "NEW" },
      { name: "save", type: "string", help: "save the quantized model to this directory (mlx-lm layout)", metavar: "DIR" },
      { name: "check-tokens", type: "int", min: 0, max: 256, help: "reference tokens for the quality check (default 8; 0 skips it)", metavar: "N" },
    ],
    examples: ["%quantize qwen3-tiny --bits 4 --group-size 64", "%quantize smollm2 --bits 8 --as smollm2-8bit --save out/smollm2-8bit"],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const bits = num(a, "bits");
    if (bits === undefined) throw new MagicArgError("%quantize: --bits is required, e.g. %quantize NAME --bits 4.");
    const mode = (str(a, "mode") ?? "affine") as Required<QuantizeOptions>["mode"];
    const groupSize = num(a, "group-size") ?? (mode === "affine" ? 64 : 32);
    if (mode !== "affine" && groupSize !== 32) throw new MagicArgError(`%quantize: --mode ${mode} uses --group-size 32 (got ${groupSize}).`);
    if (mode === "mxfp4" && bits !== 4) throw new MagicArgError(`%quantize: --mode mxfp4 needs --bits 4 (got ${bits}).`);
    if (mode === "mxfp8" && bits !== 8) throw new MagicArgError(`%quantize: --mode mxfp8 needs --bits 8 (got ${bits}).`);
    const engine = await ctx.engine();
    const model = engine.get(a.positional[0]!);
    const info = model.info();
    if (info.quantization) {
      throw new MlxTsError("E_BAD_ARGUMENT", `${model.name} is already quantized (${info.quantization.mode} ${info.quantization.bits}-bit); quantizing it again would compound the error. Load an unquantized copy (e.g. --dtype f16 from safetensors) and quantize that.`);
    }
    const n = num(a, "check-tokens") ?? 8;
    const q = { bits, groupSize, mode };
    const step = (s: string): void => ctx.sink.stream("stdout", `${s}\n`);

    step(n > 0 ? `Reference: ${n} greedy tokens of ${model.name} after a fixed text…` : "Quality check skipped (--check-tokens 0).");
    const { ref, score: original } = await makeReference(model, n, ctx.signal);
    const bytesBefore = info.weightBytes;

    const as = str(a, "as");
    let target: LoadedModel;
    if (as !== undefined) {
      target = await quantizeCopy(ctx, engine, model, as, q);
    } else {
      step(`Quantizing ${model.name} in place to ${mode} ${bits}-bit, group ${groupSize}…`);
      const report = await model.quantize(q);
      if (report.skippedLayers.length) step(`Left unquantized (a dimension does not divide by ${groupSize}): ${report.skippedLayers.join(", ")}`);
      model.resetCache();
      target = model;
      const prev = stateOf(engine).loadedWith.get(model.name);
      noteLoaded(engine, model.name, prev?.idOrPath ?? model.source, { ...prev?.opts, quant: q });
    }
    const after = await scoreAgainst(target, ref, ctx.signal);
    const summary: QuantizeSummary = {
      model: model.name, quantized: target.name, bits, groupSize, mode, bytesBefore, bytesAfter: target.info().weightBytes, original, after,
    };
    if (as === undefined) summary.model = `${model.name} (before)`;
    const dir = str(a, "save");
    if (dir !== undefined) {
      await target.save(dir);
      summary.savedTo = dir;
    }
    const t = summaryTable(summary);
    ctx.sink.display({ "text/plain": tableText(t) + (dir ? `\nsaved to ${dir}` : ""), "text/html": tableHtml(t) + (dir ? `<div>saved to ${escapeHtml(dir)}</div>` : ""), [TABLE_MIME]: t });
    ctx.globals.lastQuantize = summary;
    return undefined;
  },
});
