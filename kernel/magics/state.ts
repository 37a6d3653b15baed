// What the magics remember between cells, per engine: how each model was loaded (so %quantize --as can
// load a faithful copy), the %%chat conversations, and the %memtrace sampler. The default model is the
// engine's (Engine.model()), the same one session.generate() uses.
import type { ChatMessage, Engine, LoadOptions } from "../engine/types.js";
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
  loadedWith: Map<string, { idOrPath: string; opts: Pick<LoadOptions, "dtype" | "quant"> }>;
  chats: Map<string, Conversation>;
  memtrace: MemTrace;
  /** %kernels: whether the user asked for custom attention kernels (none exist yet) */
  customKernelsRequested: boolean;
  /** MLX's limits as a magic first saw them, for %limit memory|cache default */
}

const states = new WeakMap<Engine, MagicState>();

export function stateOf(engine: Engine): MagicState {
  let s = states.get(engine);
  if (!s) {
    s = {
      loadedWith: new Map(),
      chats: new Map(),
      memtrace: { timer: undefined, startedAt: 0, intervalMs: 50, samples: [] },
      customKernelsRequested: false,
    };
    states.set(engine, s);
  }
  return s;
}

export function noteLoaded(engine: Engine, name: string, idOrPath: string, opts: Pick<LoadOptions, "dtype" | "quant">): void {
  const s = stateOf(engine);
  s.loadedWith.set(name, { idOrPath, opts });
  s.chats.delete(name);
}

export function noteUnloaded(engine: Engine, name: string): void {
  const s = stateOf(engine);
  s.loadedWith.delete(name);
  s.chats.delete(name);
}

/** MLX's limits as they were before the first change, so `%limit ... default` can put them back. */
export function noteDefaultLimits(engine: Engine): { memory: number; cache: number } {
  return engine.defaultLimits();
}
