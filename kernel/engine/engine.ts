// The engine: the loaded models (in load order, which gives the one default-model rule) and the
// generations running on them, over one native addon. Memory/device calls go to runtime.ts.
import { resolve as resolvePath } from "node:path";
import { nativeLoadOptions } from "./checkpoint.js";
import { readGgufMetadata } from "./gguf-meta.js";
import { fromNative } from "./errors.js";
import { Generations, type GenerationEvent } from "./generations.js";
import { warmUp, warmUpWanted } from "./gpu-warmup.js";
import { EngineModel } from "./model.js";
import { mergeEosIds, readSideFiles } from "./model-config.js";
import type { GgufMetadata, NativeAddon, NativeMemory, NativeModel, NativeRuntimeInfo } from "./native-types.js";
import { resolveModel } from "./resolve.js";
import { loadSharded, ShardedModel } from "./shards.js";
import { RuntimeControls } from "./runtime.js";
import { ModelTokenizer } from "./tokenizer.js";
import { MlxTsError, type Engine, type LoadedModel, type LoadOptions } from "./types.js";

export interface EngineOptions {
  /** the addon to use; default: the loader's result on first use */
  native?: NativeAddon;
  /** how to load the addon when `native` is not given (index.ts passes native.ts's loadNative) */
  loadNative?: () => NativeAddon;
  /** environment for HF cache / offline / alias overrides; default process.env */
  env?: Record<string, string | undefined>;
  /** repository root holding .venv (for aliases); default: found upward from this module */
  repoRoot?: string;
}

export class MlxEngine implements Engine {
  /** insertion order is load order: a reload moves the name to the end */
  private readonly registry = new Map<string, EngineModel>();
  private readonly generations = new Generations();
  private addon: NativeAddon | undefined;
  private readonly controls = new RuntimeControls(() => this.native);
  private startLimits?: { memory: number; cache: number };

  constructor(private readonly opts: EngineOptions = {}) {
    this.addon = opts.native;
  }

  get models(): ReadonlyMap<string, LoadedModel> {
    return this.registry;
  }

  get nativeLoaded(): boolean {
    return this.addon !== undefined;
  }

  get activeGenerations(): number {
    return this.generations.size;
  }

  /** The addon, loaded on first use so that an engine can be created (and paths resolved) without it. */
  get native(): NativeAddon {
    if (this.addon === undefined) {
      try {
        if (!this.opts.loadNative) throw new Error("no addon loader was given to the engine");
        this.addon = this.opts.loadNative();
      } catch (e) {
        if (e instanceof MlxTsError) throw e;
        throw new MlxTsError(
          "E_NATIVE_UNAVAILABLE",
          `The native MLX addon could not be loaded: ${(e as Error).message}. Plain TypeScript cells still work; to use models, ` +
            "build it with `npm run build:native` (or `npm run setup`) and restart the kernel.",
          { cause: e },
        );
      }
    }
    return this.addon as NativeAddon;
  }

  async load(idOrPath: string, opts: LoadOptions = {}): Promise<LoadedModel> {
    const resolved = await resolveModel(idOrPath, { env: this.opts.env, repoRoot: this.opts.repoRoot, onProgress: opts.onProgress });
    const name = (opts.as ?? resolved.name).trim();
    if (name.length === 0) throw new MlxTsError("E_BAD_ARGUMENT", `The name to load ${idOrPath} as is empty. Pass a non-empty "as".`);

    // Text side first: it is cheap, and a broken tokenizer should not cost a weight load.
    let tokenizer: ModelTokenizer;
    let gguf: GgufMetadata | undefined;
    let eosIds: number[];
    if (resolved.kind === "gguf") {
      gguf = readGgufMetadata(resolved.path).metadata;
      tokenizer = ModelTokenizer.fromGguf(gguf, resolved.path);
      eosIds = mergeEosIds({ tokenizerEosId: tokenizer.eosTokenId, gguf });
    } else {
      const side = readSideFiles(resolved.path);
      tokenizer = ModelTokenizer.fromDirectory(resolved.path);
      eosIds = mergeEosIds({ generationConfig: side.generationConfig, config: side.config, tokenizerEosId: tokenizer.eosTokenId });
    }

    opts.onProgress?.({ phase: "load", done: 0, total: 1, file: resolved.path });
    const addon = this.native;
    let nm: NativeModel;
    try {
      const native = nativeLoadOptions(resolved.path, { dtype: opts.dtype, gguf });
      // dist: rank processes each holding a shard (shards.ts), or this process
      nm = opts.shards !== undefined && opts.shards !== 1
        ? await loadSharded(native, { shards: opts.shards, backend: opts.backend, hosts: opts.hosts, mode: opts.mode, timeoutMs: opts.shardTimeoutMs })
        : await addon.loadModel(native);
    } catch (e) {
      // Name what the user loaded: an alias as typed; a path the registry loads by, as the name it was given.
      const what = resolvePath(idOrPath) === resolved.path && opts.as ? opts.as : idOrPath;
      throw fromNative(e, resolvePath(what) === resolved.path ? `Loading ${resolved.path}` : `Loading ${what} from ${resolved.path}`);
    }
    const model = new EngineModel({
      name, source: resolved.path, kind: resolved.kind, native: nm, tokenizer, eosIds, gguf, generations: this.generations,
      lookup: (n) => this.registry.get(n),
      loadedNames: () => [...this.registry.keys()],
    });
    if (opts.quant) {
      try {
        await model.quantize({ bits: opts.quant.bits, groupSize: opts.quant.groupSize, mode: opts.quant.mode });
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    if (!(nm instanceof ShardedModel) && warmUpWanted(addon.runtime().backend)) {
      try {
        await warmUp(nm, (done, total) => opts.onProgress?.({ phase: "warmup", done, total, file: resolved.path }));
      } catch (e) {
        model.dispose();
        throw fromNative(e, `Warming up ${idOrPath} on the GPU (JIT-compiling its kernels)`);
      }
    }
    // Only now that the new model works does it replace one of the same name.
    if (this.registry.has(name)) this.unload(name);
    this.registry.set(name, model);
    opts.onProgress?.({ phase: "load", done: 1, total: 1, file: resolved.path });
    return model;
  }

  unload(name: string): void {
    const m = this.registry.get(name);
    if (!m) throw this.notLoaded(name);
    this.registry.delete(name);
    m.dispose();
    // Freed weights otherwise stay in MLX's buffer cache, and memory() would not show the drop.
    try {
      this.addon?.clearCache();
    } catch {
      // clearing the cache is an optimisation; the unload itself succeeded
    }
  }

  get(name: string): LoadedModel {
    const m = this.registry.get(name);
    if (!m) throw this.notLoaded(name);
    return m;
  }

  model(name?: string, user = "This"): LoadedModel {
    if (name !== undefined) return this.get(name);
    const last = [...this.registry.values()].pop();
    if (!last) {
      throw new MlxTsError("E_NOT_LOADED", `${user} needs a model and none is loaded. Load one first: \`%load smollm2\` or \`await session.load("smollm2")\`.`);
    }
    return last;
  }

  isGenerating(name: string): boolean {
    return this.generations.running(name);
  }

  watchGenerations(fn: (e: GenerationEvent) => void): () => void {
    return this.generations.watch(fn);
  }

  cancelAll(): void {
    this.generations.cancelAll();
  }

  settle(ms: number): Promise<void> {
    return this.generations.settle(ms);
  }

  runtime(): NativeRuntimeInfo {
    return this.controls.runtime();
  }

  memory(): NativeMemory {
    return this.controls.memory();
  }

  resetPeakMemory(): void {
    this.controls.resetPeakMemory();
  }

  setMemoryLimit(bytes: number): number {
    this.defaultLimits();
    return this.controls.setMemoryLimit(bytes);
  }

  setCacheLimit(bytes: number): number {
    this.defaultLimits();
    return this.controls.setCacheLimit(bytes);
  }

  /** MLX's memory and cache limits before this engine first changed them (`%limit ... default`, the model budget's basis). */
  defaultLimits(): { memory: number; cache: number } {
    if (!this.startLimits) {
      const m = this.controls.memory();
      this.startLimits = { memory: m.limit, cache: m.cacheLimit };
    }
    return this.startLimits;
  }

  clearCache(): void {
    this.controls.clearCache();
  }

  setDevice(device: "cpu" | "gpu"): void {
    this.controls.setDevice(device);
  }

  /** Unloads every model (frees native memory). */
  dispose(): void {
    for (const name of [...this.registry.keys()]) this.unload(name);
  }

  private notLoaded(name: string): MlxTsError {
    const loaded = [...this.registry.keys()];
    return new MlxTsError(
      "E_NOT_LOADED",
      `No model named "${name}" is loaded (${loaded.length ? `loaded: ${loaded.join(", ")}` : "none loaded"}). Load it with %load ID_OR_PATH in a cell, or await session.load(ID_OR_PATH).`,
    );
  }
}
