// What cells reach of the model registry: `session.models` (the resident models as a map, plus
// register / budget / list / ensure), and the reload-on-demand and routing that `session.generate`
// and `session.route` do. Loads started here show the progress bar in the running cell's output.
import { startLoadProgress } from "../display/load-progress.js";
import type { FileEntryError, RegisterInput, Registration } from "../engine/registration.js";
import { registryOf, type Loader, type ModelRegistry, type ModelRow } from "../engine/registry.js";
import { MlxTsError, type Engine, type LoadedModel } from "../engine/types.js";
import { cellStorage } from "./cell-state.js";

/** `session.models`: the resident models by name (oldest first), and the registry behind them. */
export interface CellModels extends ReadonlyMap<string, LoadedModel> {
  /** Registers a model (it need not be resident): the same fields as a %register line or a JSON entry. */
  register(entry: RegisterInput): Registration;
  /** Registers every good entry of a JSON file; bad entries come back with their index, name and why. */
  registerFile(path: string): { registered: Registration[]; errors: FileEntryError[] };
  unregister(name: string): void;
  /** The model budget in bytes (%limit models SIZE). Setting undefined goes back to the default share of the device. */
  budget: number | undefined;
  /** Every registered model: role, priority, resident, weight/KV bytes, last used, generations. */
  list(): Promise<ModelRow[]>;
  /** The model, resident (loaded now, evicting by priority then least recent use, if it was not). */
  ensure(name: string): Promise<LoadedModel>;
  /** Which model answers a role, and why, without loading it. */
  explainRoute(role: string): Promise<{ name: string; reason: string }>;
  /** How long a load waits for a generating model in its way before refusing (ms, default 30000). */
  evictWaitMs: number;
}

/** A loader that shows the progress bar in the running cell, if any. */
export function cellLoader(engine: Engine, why: string): Loader {
  return async (idOrPath, opts) => {
    const sink = cellStorage.getStore()?.sink;
    const progress = sink ? startLoadProgress(sink, idOrPath) : undefined;
    try {
      const m = await engine.load(idOrPath, { ...opts, ...(progress ? { onProgress: progress.onProgress } : {}) });
      progress?.end({ "text/plain": `loaded ${m.name} in ${progress.elapsed().toFixed(2)} s (${why})` });
      return m;
    } catch (e) {
      progress?.end({ "text/plain": `loading ${idOrPath} failed` });
      throw e;
    }
  };
}

/** Resolves `{ model, task }` to a resident model name (routing, reloading); `reason` when it was routed. */
export async function residentFor(engine: Engine, o: { model?: string; task?: string }): Promise<{ name?: string; reason?: string }> {
  if (o.model === undefined && o.task === undefined) return {};
  const reg = registryOf(engine);
  let name = o.model;
  let reason: string | undefined;
  if (o.task !== undefined) ({ name, reason } = await reg.route(o.task));
  const signal = cellStorage.getStore()?.controller.signal;
  await reg.ensure(name!, { load: cellLoader(engine, reason ?? "reloaded on demand"), ...(signal ? { signal } : {}) });
  return { name, ...(reason ? { reason } : {}) };
}

/**
 * A Map (cells and tests may check `instanceof Map`) that reads through to the engine's own model map,
 * so it is always current; writing to it is refused: models come and go by load, unload and eviction.
 */
class ModelsView extends Map<string, LoadedModel> implements CellModels {
  private readonly reg: ModelRegistry;

  constructor(private readonly engine: Engine) {
    super();
    this.reg = registryOf(engine);
  }

  override get size(): number { return this.engine.models.size; }
  override get(k: string): LoadedModel | undefined { return this.engine.models.get(k); }
  override has(k: string): boolean { return this.engine.models.has(k); }
  override keys(): MapIterator<string> { return this.engine.models.keys(); }
  override values(): MapIterator<LoadedModel> { return this.engine.models.values(); }
  override entries(): MapIterator<[string, LoadedModel]> { return this.engine.models.entries(); }
  override [Symbol.iterator](): MapIterator<[string, LoadedModel]> { return this.engine.models.entries(); }
  override forEach(cb: (v: LoadedModel, k: string, m: Map<string, LoadedModel>) => void): void {
    for (const [k, m] of this.engine.models) cb(m, k, this);
  }
  override set(): this { throw readOnly(); }
  override delete(): boolean { throw readOnly(); }
  override clear(): void { throw readOnly(); }

  register(entry: RegisterInput): Registration { return this.reg.register(entry, "session.models.register"); }
  registerFile(path: string): { registered: Registration[]; errors: FileEntryError[] } { return this.reg.registerFile(path); }
  unregister(name: string): void { this.reg.unregister(name); }
  get budget(): number | undefined { return this.reg.budget; }
  set budget(bytes: number | undefined) {
    if (bytes === undefined) this.reg.resetBudget();
    else this.reg.budget = bytes;
  }
  get evictWaitMs(): number { return this.reg.evictWaitMs; }
  set evictWaitMs(ms: number) { this.reg.evictWaitMs = ms; }
  list(): Promise<ModelRow[]> { return this.reg.rows(); }
  async ensure(name: string): Promise<LoadedModel> {
    await residentFor(this.engine, { model: name });
    return this.engine.get(name);
  }
  explainRoute(role: string): Promise<{ name: string; reason: string }> { return this.reg.route(role); }
}

const readOnly = (): MlxTsError => new MlxTsError("E_BAD_ARGUMENT", "session.models is read-only: load with %load or session.load(), unload with %unload or engine.unload(), register with session.models.register().");

export function cellModels(engine: Engine): CellModels {
  return new ModelsView(engine);
}
