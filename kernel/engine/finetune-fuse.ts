// Fusing a LoRA adapter into its base, as mlx_lm.fuse does: the merged weights (re-quantized with the
// base's bits / group size unless dequantize) from native/src/train/fuse.cpp, then config.json,
// model.safetensors.index.json and the tokenizer files beside them, into a directory mlx-lm loads.
// The session's model is not changed: it keeps its base weights and its adapter.
import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { fromNative } from "./errors.js";
import { adapterOf, useAdapter } from "./finetune.js";
import { trainAddon } from "./finetune-native.js";
import { EngineModel } from "./model.js";
import { loadNative } from "./native.js";
import type { LoadedModel } from "./types.js";
import { MlxTsError } from "./types.js";

export interface FuseOptions {
  /** where the fused checkpoint goes (mlx_lm.fuse --save-path); must not exist or be empty unless overwrite */
  save: string;
  /** an adapter directory (mlx-lm layout) to fuse; default: the adapter the model carries (after finetune or %adapter). It stays set on the model, as session.generate({ adapter }) leaves it. */
  adapter?: string;
  /** write plain weights: the base's quantized layers dequantized, no "quantization" in config.json (mlx_lm.fuse --dequantize) */
  dequantize?: boolean;
  overwrite?: boolean;
}

export interface FuseResult {
  model: string;
  /** the adapter fused: its directory, or "(in memory)" after an unsaved training run */
  adapter: string;
  dir: string;
  fusedLayers: number;
  /** layers without an adapter that --dequantize turned into plain weights */
  dequantizedLayers: number;
  /** whether the fused checkpoint is quantized */
  quantized: boolean;
  bytes: number;
}

/** mlx-lm's save copies the tokenizer (save_pretrained) and the *.py / generation_config.json of the source. */
const SIDE_FILES = [
  "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt",
  "tokenizer.model", "chat_template.jinja", "chat_template.json", "generation_config.json",
];

function writeSideFiles(m: EngineModel, dir: string): void {
  const src = m.source;
  if (existsSync(src) && statSync(src).isDirectory()) {
    for (const f of readdirSync(src)) if (SIDE_FILES.includes(f) || f.endsWith(".py")) copyFileSync(join(src, f), join(dir, f));
    return;
  }
  // a GGUF: the tokenizer it carried, as HF files
  writeFileSync(join(dir, "tokenizer.json"), `${JSON.stringify(m.tokenizer.files.tokenizerJson, null, 2)}\n`);
  writeFileSync(join(dir, "tokenizer_config.json"), `${JSON.stringify(m.tokenizer.files.tokenizerConfig, null, 2)}\n`);
}

/** The checkpoint config: the model's config.json as the addon keeps it, without "quantization" when dequantized. */
function fusedConfig(m: EngineModel, dequantize: boolean): Record<string, unknown> {
  const c = { ...m.nativeModel.info().config };
  delete c._name_or_path;
  delete c.vision_config; // save_config drops it for text models
  // mlx-lm's load_config takes eos_token_id from generation_config.json, and save writes the config it loaded
  const gen = join(m.source, "generation_config.json");
  if (existsSync(gen)) {
    try {
      const eos = (JSON.parse(readFileSync(gen, "utf8")) as { eos_token_id?: unknown }).eos_token_id;
      if (eos) c.eos_token_id = eos;
    } catch {
      // an unreadable generation_config.json leaves config.json's own eos_token_id
    }
  }
  if (dequantize) {
    delete c.quantization;
    delete c.quantization_config;
  }
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(c).sort()) sorted[k] = c[k];
  return sorted;
}

/** Merges the model's adapter (or `opts.adapter`) into its weights and writes the result to `opts.save`. */
export async function fuse(model: LoadedModel, opts: FuseOptions): Promise<FuseResult> {
  if (!(model instanceof EngineModel)) throw new MlxTsError("E_BAD_ARGUMENT", "fuse: the model must be one loaded by this engine (session.models.get(name)).");
  const m = model;
  if (typeof opts?.save !== "string" || !opts.save) throw new MlxTsError("E_BAD_ARGUMENT", "fuse: give save, the directory the fused model goes to.");
  if (opts.adapter !== undefined) await useAdapter(m, opts.adapter);
  const adapter = adapterOf(m);
  if (adapter === undefined) {
    throw new MlxTsError("E_BAD_ARGUMENT", `fuse: ${m.name} has no adapter. Train one (%%finetune ${m.name} ...), set one (%adapter ${m.name} DIR), or pass the adapter directory (--adapter DIR).`);
  }
  const target = resolvePath(opts.save);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new MlxTsError("E_BAD_ARGUMENT", `fuse: ${target} exists and is a file. Choose a directory path for the fused model.`);
    if (readdirSync(target).length > 0 && !opts.overwrite) throw new MlxTsError("E_BAD_ARGUMENT", `fuse: ${target} exists and is not empty; nothing was written. Choose another directory or pass overwrite (--overwrite).`);
  }
  const dequantize = opts.dequantize ?? false;
  mkdirSync(dirname(target), { recursive: true });
  // written beside the target and renamed in, so a failed fuse never leaves half a checkpoint
  const tmp = join(dirname(target), `${basename(target)}.tmp-${randomUUID().slice(0, 8)}`);
  mkdirSync(tmp);
  try {
    let rep;
    try {
      rep = await trainAddon(loadNative()).fuse(m.nativeModel, tmp, { dequantize });
    } catch (e) {
      throw fromNative(e, `Fusing the adapter of ${m.name} into ${target}`);
    }
    const index = { metadata: { total_size: rep.totalBytes, total_parameters: rep.totalParameters }, weight_map: Object.fromEntries(Object.entries(rep.weightMap).sort(([a], [b]) => a.localeCompare(b))) };
    writeFileSync(join(tmp, "model.safetensors.index.json"), `${JSON.stringify(index, null, 4)}\n`);
    const config = fusedConfig(m, dequantize);
    writeFileSync(join(tmp, "config.json"), `${JSON.stringify(config, null, 4)}\n`);
    writeSideFiles(m, tmp);
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
    return { model: m.name, adapter, dir: target, fusedLayers: rep.fusedLayers, dequantizedLayers: rep.dequantizedLayers, quantized: "quantization" in config, bytes: rep.totalBytes };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
