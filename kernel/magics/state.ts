// What the magics remember between cells, per engine: which model was loaded last (the default for
// %%generate), how each model was loaded (so %quantize --as can load a faithful copy), the %%chat
// conversations, and the %memtrace sampler.
import type { ChatMessage, Engine, LoadedModel, LoadOptions } from "../engine/types.js";
import { MlxTsError } from "../engine/types.js";
import type { MemorySample } from "../display/memory-table.js";

export interface Conversation {
  system?: string;
  messages: ChatMessage[];
}

export interface MemTrace {
  timer: ReturnType<typeof setInterval> | undefined;
  startedAt: number;
  intervalMs: number;
  samples: MemorySample[];
}

export interface MagicState {
  loadOrder: string[];
  loadedWith: Map<string, { idOrPath: string; opts: Pick<LoadOptions, "dtype" | "quant"> }>;
  chats: Map<string, Conversation>;
  memtrace: MemTrace;
  /** %kernels: whether the user asked for custom attention kernels (none exist yet) */
  customKernelsRequested: boolean;
}

// Keyed by the engine's model registry, not the engine object: front ends may hand magics a wrapper
// (a Proxy per cell) around one engine, and the registry is the same object behind every wrapper.
const states = new WeakMap<object, MagicState>();

export function stateOf(engine: Engine): MagicState {
  const key = engine.models;
  let s = states.get(key);
  if (!s) {
    s = {
      loadOrder: [],
      loadedWith: new Map(),
      chats: new Map(),
      memtrace: { timer: undefined, startedAt: 0, intervalMs: 50, samples: [] },
      customKernelsRequested: false,
    };
    states.set(key, s);
  }
  return s;
}

/** Models loaded from code (engine.load) enter the order when a magic first sees them. */
function syncOrder(engine: Engine, except?: string): MagicState {
  const s = stateOf(engine);
  s.loadOrder = s.loadOrder.filter((n) => engine.models.has(n) || n === except);
  for (const n of engine.models.keys()) if (n !== except && !s.loadOrder.includes(n)) s.loadOrder.push(n);
  return s;
}

export function noteLoaded(engine: Engine, name: string, idOrPath: string, opts: Pick<LoadOptions, "dtype" | "quant">): void {
  const s = syncOrder(engine, name);
  s.loadOrder = [...s.loadOrder.filter((n) => n !== name), name];
  s.loadedWith.set(name, { idOrPath, opts });
  s.chats.delete(name);
}

export function noteUnloaded(engine: Engine, name: string): void {
  const s = stateOf(engine);
  s.loadOrder = s.loadOrder.filter((n) => n !== name);
  s.loadedWith.delete(name);
  s.chats.delete(name);
}

/** The model named, or the default: the most recently loaded one still loaded (models loaded from code count too). */
export function pickModel(engine: Engine, name: string | undefined, magic: string): LoadedModel {
  if (name !== undefined) return engine.get(name);
  const loaded = [...engine.models.keys()];
  if (loaded.length === 0) {
    throw new MlxTsError("E_NOT_LOADED", `%${magic} needs a model and none is loaded. Load one first, e.g. \`%load smollm2\`.`);
  }
  const order = syncOrder(engine).loadOrder;
  return engine.get(order[order.length - 1]!);
}
