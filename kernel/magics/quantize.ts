// %quantize: quantize a loaded model (in place, or a second copy with --as), report the size before
// and after and a quality check against the unquantized weights on a fixed text.
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Engine, LoadedModel, QuantizeOptions } from "../engine/types.js";
import { MlxTsError } from "../engine/types.js";
import { escapeHtml } from "../util/html.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "../display/mime.js";
import { MagicArgError } from "../util/args.js";
import { formatBytes } from "../util/bytes.js";
import { bool, defineMagic, num, str } from "./define.js";
import { loadWithProgress, summarize } from "./load.js";
import { modelCardBundle } from "../display/model-card.js";
import { makeReference, scoreAgainst, type QualityScore } from "./quality.js";
import { noteLoaded, noteUnloaded, stateOf } from "./state.js";
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

async function quantizeCopy(ctx: MagicContext, engine: Engine, source: LoadedModel, as: string, q: Required<QuantizeOptions>, cardId: string): Promise<LoadedModel> {
  const how = stateOf(engine).loadedWith.get(source.name);
  return loadWithProgress(ctx, engine, how?.idOrPath ?? source.source, { as, ...(how?.opts.dtype ? { dtype: how.opts.dtype } : {}), quant: q }, undefined, cardId);
}

/** A --save target must be new, an empty directory, or replaced on purpose (--overwrite). */
function checkSaveTarget(dir: string, overwrite: boolean): void {
  const target = resolve(dir);
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new MagicArgError(`%quantize: --save ${dir} is a file. Pass a directory path (new or empty).`);
  if (readdirSync(target).length > 0 && !overwrite) {
    throw new MagicArgError(`%quantize: --save ${dir} is not empty; nothing was quantized. Add --overwrite to replace what it holds, or choose another directory.`);
  }
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
      { name: "as", type: "string", help: "keep the original and load a quantized copy under this name (a model loaded under it is replaced)", metavar: "NEW" },
      { name: "save", type: "string", help: "save the quantized model to this directory (mlx-lm layout); it must be empty or new unless --overwrite", metavar: "DIR" },
      { name: "overwrite", type: "bool", help: "with --save: replace what the directory holds" },
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
    const dir = str(a, "save");
    const overwrite = bool(a, "overwrite");
    if (overwrite && dir === undefined) throw new MagicArgError("%quantize: --overwrite only applies with --save DIR.");
    // Before any work: quantizing a large model only to find the target taken wastes minutes.
    if (dir !== undefined) checkSaveTarget(dir, overwrite);
    const engine = await ctx.engine();
    const model = engine.get(a.positional[0]!);
    const as = str(a, "as");
    if (as === model.name) throw new MagicArgError(`%quantize: --as ${as} names the model being quantized. Drop --as to quantize it in place, or pick a new name.`);
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

    const cardId = `mlx-ts-load-${randomUUID()}`;
    const finish = async (target: LoadedModel): Promise<void> => {
      const after = await scoreAgainst(target, ref, ctx.signal);
      const summary: QuantizeSummary = {
        model: as === undefined ? `${model.name} (before)` : model.name,
        quantized: target.name, bits, groupSize, mode, bytesBefore, bytesAfter: target.info().weightBytes, original, after,
      };
      if (dir !== undefined) {
        await target.save(dir, { overwrite });
        summary.savedTo = target.source;
        // the copy's card (shown above when it loaded) now names the folder its weights are in
        if (target !== model) ctx.sink.updateDisplay(modelCardBundle(summarize(engine, target, `quantized copy of ${model.name}, saved to ${target.source}`)), { displayId: cardId });
      }
      const t = summaryTable(summary);
      const saved = summary.savedTo ? `saved to ${summary.savedTo}` : "";
      ctx.sink.display({ "text/plain": tableText(t) + (saved ? `\n${saved}` : ""), "text/html": tableHtml(t) + (saved ? `<div>${escapeHtml(saved)}</div>` : ""), [TABLE_MIME]: t });
      ctx.globals.lastQuantize = summary;
    };

    if (as === undefined) {
      step(`Quantizing ${model.name} in place to ${mode} ${bits}-bit, group ${groupSize}…`);
      const report = await model.quantize(q);
      if (report.skippedLayers.length) step(`Left unquantized (a dimension does not divide by ${groupSize}): ${report.skippedLayers.join(", ")}`);
      model.resetCache();
      const prev = stateOf(engine).loadedWith.get(model.name);
      noteLoaded(engine, model.name, prev?.idOrPath ?? model.source, { ...prev?.opts, quant: q });
      await finish(model);
      return undefined;
    }
    const copy = await quantizeCopy(ctx, engine, model, as, q, cardId);
    try {
      await finish(copy);
    } catch (e) {
      // A failed run leaves nothing loaded under the new name, so running the cell again just works.
      if (engine.models.has(as)) {
        engine.unload(as);
        noteUnloaded(engine, as);
      }
      step(`${as} was unloaded again because the run failed.`);
      throw e;
    }
    return undefined;
  },
});
