// What the addon's loadModel() needs for a model on disk: the weight files in order, the typed config and
// the HF-form config. The JSON side (config.json, the shard index, GGUF metadata) is read here, once.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { readGgufMetadata } from "./gguf-meta.js";
import { configFromGguf } from "./gguf-config.js";
import { nativeModelConfig, readJsonFile } from "./model-config.js";
import type { GgufMetadata, NativeLoadOptions } from "./native-types.js";
import { MlxTsError } from "./types.js";

/** The safetensors files of a model directory: the shards the index names, else model*.safetensors, else any *.safetensors. */
export function safetensorsFiles(dir: string): string[] {
  const index = join(dir, "model.safetensors.index.json");
  const idx = readJsonFile(index);
  if (idx) {
    const map = idx.weight_map;
    if (map === null || typeof map !== "object" || Array.isArray(map)) {
      throw new MlxTsError("E_CORRUPT_WEIGHTS", `${index} has no "weight_map" object. Re-download the index file.`);
    }
    const shards = [...new Set(Object.values(map).filter((v): v is string => typeof v === "string"))].sort();
    for (const f of shards) {
      if (!existsSync(join(dir, f))) {
        throw new MlxTsError("E_CORRUPT_WEIGHTS", `${dir}: shard ${f} named by model.safetensors.index.json is missing. The download is incomplete; fetch the missing shard.`);
      }
    }
    return shards.map((f) => join(dir, f));
  }
  const all = readdirSync(dir).filter((f) => extname(f) === ".safetensors").sort();
  const model = all.filter((f) => f.startsWith("model"));
  return (model.length > 0 ? model : all).map((f) => join(dir, f));
}

function isGgufFile(path: string): boolean {
  if (!statSync(path).isFile()) return false;
  if (extname(path) === ".gguf") return true;
  const fd = openSync(path, "r");
  try {
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.toString("latin1") === "GGUF";
  } finally {
    closeSync(fd);
  }
}

export interface CheckpointOptions {
  dtype?: NativeLoadOptions["dtype"];
  /** the GGUF's metadata when the caller has read it already (it is not read again) */
  gguf?: GgufMetadata;
}

/** loadModel() options for a model directory or a .gguf file; MlxTsError (E_MODEL_NOT_FOUND, E_BAD_CONFIG, ...) says what is wrong. */
export function nativeLoadOptions(path: string, opts: CheckpointOptions = {}): NativeLoadOptions {
  if (path === "" || !existsSync(path)) {
    throw new MlxTsError("E_MODEL_NOT_FOUND", `"${path}" does not exist. Pass a model directory (config.json + *.safetensors) or a .gguf file.`);
  }
  const dtype = opts.dtype ? { dtype: opts.dtype } : {};
  if (isGgufFile(path)) {
    const meta = opts.gguf ?? readGgufMetadata(path).metadata;
    const source = `${path} (GGUF metadata)`;
    const hfConfig = configFromGguf(meta, source);
    return { path, format: "gguf", files: [path], config: nativeModelConfig(hfConfig, source), hfConfig, ...dtype };
  }
  if (!statSync(path).isDirectory()) {
    throw new MlxTsError("E_MODEL_NOT_FOUND", `${path} is not a directory or a .gguf file. Pass a model directory (config.json + *.safetensors) or a .gguf file.`);
  }
  const cfgPath = join(path, "config.json");
  const hfConfig = readJsonFile(cfgPath);
  if (!hfConfig) {
    throw new MlxTsError(
      "E_MODEL_NOT_FOUND",
      `${path} has no config.json, so it is not a Hugging Face/MLX model directory. Point to the folder that holds config.json and the *.safetensors files.`,
    );
  }
  const config = nativeModelConfig(hfConfig, cfgPath);
  const files = safetensorsFiles(path);
  if (files.length === 0) {
    throw new MlxTsError(
      "E_MODEL_NOT_FOUND",
      `${path} has config.json but no *.safetensors weights. Download the weights (model.safetensors or model-*.safetensors) into it.`,
    );
  }
  return { path, format: "safetensors", files, config, hfConfig, ...dtype };
}
