// What cells reach of the model registry: `session.models` (the resident models as a map, plus
// register / budget / list / ensure), and the reload-on-demand and routing that `session.generate`
// and `session.route` do. Loads started here show the progress bar in the running cell's output.
import { startLoadProgress } from "../display/load-progress.js";
import type { FileEntryError, RegisterInput, Registration } from "../engine/registration.js";
import { registryOf, type Loader, type ModelRow } from "../engine/registry.js";
import type { Engine, LoadedModel } from "../engine/types.js";
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

export function cellModels(engine: Engine): CellModels {
  const reg = registryOf(engine);
  const map = engine.models;
  const models: CellModels = {
    get size() { return map.size; },
    get: (k: string) => map.get(k),
    has: (k: string) => map.has(k),
    keys: () => map.keys(),
    values: () => map.values(),
    entries: () => map.entries(),
    forEach: (cb: (v: LoadedModel, k: string, m: ReadonlyMap<string, LoadedModel>) => void) => {
      for (const [k, m] of map) cb(m, k, models);
    },
    [Symbol.iterator]: () => map.entries(),
    register: (entry) => reg.register(entry, "session.models.register"),
    registerFile: (path) => reg.registerFile(path),
    unregister: (name) => reg.unregister(name),
    get budget() { return reg.budget; },
    set budget(bytes: number | undefined) {
      if (bytes === undefined) reg.resetBudget();
      else reg.budget = bytes;
    },
    get evictWaitMs() { return reg.evictWaitMs; },
    set evictWaitMs(ms: number) { reg.evictWaitMs = ms; },
    list: () => reg.rows(),
    ensure: async (name) => {
      await residentFor(engine, { model: name });
      return engine.get(name);
    },
    explainRoute: (role) => reg.route(role),
  };
  return models;
}
