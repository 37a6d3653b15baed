// Reading a model directory's JSON side files and merging the end-of-sequence ids every source names.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { GgufMetadata } from "./native-types.js";
import { MlxTsError } from "./types.js";

export type Json = Record<string, unknown>;

/** A JSON object file, or undefined when absent. Unparsable files are an E_BAD_CONFIG. */
export function readJsonFile(path: string): Json | undefined {
  if (!existsSync(path)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new MlxTsError("E_BAD_CONFIG", `${path} is not valid JSON (${(e as Error).message}). Restore the file from the model's source.`, { cause: e });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new MlxTsError("E_BAD_CONFIG", `${path} must hold a JSON object. Restore the file from the model's source.`);
  }
  return v as Json;
}

/** eos_token_id as configs write it: a number, a list of numbers, or absent. */
export function idList(v: unknown): number[] {
  if (typeof v === "number" && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === "number" && Number.isInteger(x));
  return [];
}

export interface EosSources {
  generationConfig?: Json;
  config?: Json;
  tokenizerEosId?: number;
  gguf?: GgufMetadata;
}

/** generation_config.json eos_token_id ∪ config.json eos_token_id ∪ the tokenizer's eos ∪ the GGUF's eos/eot ids, in that order. */
export function mergeEosIds(src: EosSources): number[] {
  const ids: number[] = [
    ...idList(src.generationConfig?.eos_token_id),
    ...idList(src.config?.eos_token_id),
    ...(src.tokenizerEosId === undefined ? [] : [src.tokenizerEosId]),
    ...idList(src.gguf?.["tokenizer.ggml.eos_token_id"]),
    ...idList(src.gguf?.["tokenizer.ggml.eot_token_id"]),
  ];
  return [...new Set(ids)];
}

export interface DirectorySideFiles {
  config?: Json;
  generationConfig?: Json;
}

export function readSideFiles(dir: string): DirectorySideFiles {
  return { config: readJsonFile(join(dir, "config.json")), generationConfig: readJsonFile(join(dir, "generation_config.json")) };
}

/** generation_config.json for a GGUF model saved to a directory. */
export function generationConfigFromGguf(meta: GgufMetadata): Json {
  const out: Json = {};
  const bos = meta["tokenizer.ggml.bos_token_id"];
  if (typeof bos === "number") out.bos_token_id = bos;
  const eos = [...new Set([...idList(meta["tokenizer.ggml.eos_token_id"]), ...idList(meta["tokenizer.ggml.eot_token_id"])])];
  if (eos.length > 0) out.eos_token_id = eos.length === 1 ? eos[0] : eos;
  const pad = meta["tokenizer.ggml.padding_token_id"];
  if (typeof pad === "number") out.pad_token_id = pad;
  return out;
}
