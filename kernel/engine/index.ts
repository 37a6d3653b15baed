// The engine façade's entry point: createEngine() and the types front ends use.
import { MlxEngine, type EngineOptions } from "./engine.js";
import { loadNative } from "./native.js";

/** The engine over the native addon (loaded on first use; E_NATIVE_UNAVAILABLE when it is not built). */
export function createEngine(opts: EngineOptions = {}): MlxEngine {
  return new MlxEngine({ loadNative, ...opts });
}

export { MlxEngine, type EngineOptions } from "./engine.js";
export { EngineModel, type SaveOptions } from "./model.js";
export { ModelTokenizer } from "./tokenizer.js";
export { readGgufMetadata, type GgufHeader } from "./gguf-meta.js";
export { tokenizerFilesFromGguf } from "./gguf-tokenizer.js";
export { resolveModel, ALIASES, type ResolvedModel } from "./resolve.js";
export { hubCacheDir, parseHfId, lookupInCache } from "./hf-cache.js";
export * from "./types.js";
