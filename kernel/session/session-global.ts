// The `session` global of cells. The engine is imported only when first used, so the kernel starts (and
// plain TypeScript cells run) even when the native addon is not built; using it then fails with a
// clear E_NATIVE_UNAVAILABLE. Models handed to cells are wrapped so an interrupt stops their generations.
import { MlxTsError, type Engine, type GenerateOptions, type GenerationStream, type LoadedModel, type ChatMessage, type LoadOptions, type GenerationResult } from "../engine/types.js";
import { cellStorage } from "./cell-state.js";
import type { CellSession } from "./globals.js";

export type EngineSource = Engine | (() => Promise<Engine>) | undefined;

interface EngineModule { createEngine(): Engine | Promise<Engine> }

async function importEngine(): Promise<Engine> {
  // a computed specifier: this file must compile (and the kernel start) without the engine being present
  const spec = "../engine/index.js";
  let mod: EngineModule;
  try {
    mod = (await import(spec)) as EngineModule;
  } catch (e) {
    throw new MlxTsError("E_NATIVE_UNAVAILABLE",
      `The MLX engine could not be loaded: ${(e as Error).message}. Plain TypeScript cells still work; ` +
      "to use models, build the engine with `npm run build:native` (or `npm run setup`) and restart the kernel.", { cause: e });
  }
  return mod.createEngine();
}

export class EngineHolder {
  private promise: Promise<Engine> | undefined;
  private value: Engine | undefined;
  /** streams started from cells that have not finished: interrupt() cancels them */
  readonly activeStreams = new Set<GenerationStream>();
  private lastLoaded: string | undefined;

  constructor(private readonly source: EngineSource) {
    if (source && typeof source !== "function") this.value = source;
  }

  get loaded(): Engine | undefined {
    return this.value;
  }

  get(): Promise<Engine> {
    if (this.value) return Promise.resolve(this.value);
    this.promise ??= (typeof this.source === "function" ? this.source() : importEngine()).then((e) => (this.value = e));
    // a failed load may be retried after the user builds the addon
    this.promise.catch(() => { this.promise = undefined; });
    return this.promise;
  }

  cancelAll(): void {
    for (const s of this.activeStreams) s.cancel();
  }

  /**
   * Waits (at most `ms`) until the generations started from cells have ended. A cancel stops the native
   * loop after the token (or prefill chunk) in progress, so right after an interrupt the model may still
   * be busy; waiting here means the next cell finds it idle instead of failing with E_BUSY.
   */
  async settle(ms: number): Promise<void> {
    const results = [...this.activeStreams].map((s) => s.result.catch(() => undefined));
    if (!results.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(results), new Promise((r) => { timer = setTimeout(r, ms); })]);
    clearTimeout(timer);
  }

  /** The engine as magics see it: models it hands out are wrapped like the ones cells get. */
  wrapEngine(e: Engine): Engine {
    const holder = this;
    return new Proxy(e, {
      get(target, p) {
        if (p === "get") return (name: string) => holder.wrapModel(target.get(name));
        if (p === "load") return async (idOrPath: string, opts?: LoadOptions) => holder.wrapModel(await target.load(idOrPath, opts));
        const v = Reflect.get(target, p, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  private withCellSignal(opts: GenerateOptions | undefined): GenerateOptions {
    const cellSignal = cellStorage.getStore()?.controller.signal;
    if (!cellSignal) return opts ?? {};
    return { ...opts, signal: opts?.signal ? AbortSignal.any([opts.signal, cellSignal]) : cellSignal };
  }

  wrapModel(m: LoadedModel): LoadedModel {
    const holder = this;
    return new Proxy(m, {
      get(target, p) {
        const stream = (prompt: string | ChatMessage[], opts?: GenerateOptions): GenerationStream => {
          const s = target.stream(prompt, holder.withCellSignal(opts));
          holder.activeStreams.add(s);
          s.result.then(() => holder.activeStreams.delete(s), () => holder.activeStreams.delete(s));
          return s;
        };
        if (p === "stream") return stream;
        if (p === "generate") {
          // as the engine does it (stream().result), but through the registry so an interrupt can wait for it
          return (prompt: string | ChatMessage[], opts?: GenerateOptions): Promise<GenerationResult> => {
            try {
              return stream(prompt, opts).result;
            } catch (e) {
              return Promise.reject(e);
            }
          };
        }
        const v = Reflect.get(target, p, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  private pick(name: string | undefined): LoadedModel {
    const e = this.value;
    if (!e || e.models.size === 0) {
      throw new MlxTsError("E_NOT_LOADED", "No model is loaded. Load one first: `%load smollm2` or `await session.load(\"smollm2\")`.");
    }
    const n = name ?? (this.lastLoaded && e.models.has(this.lastLoaded) ? this.lastLoaded : [...e.models.keys()].pop()!);
    return this.wrapModel(e.get(n));
  }

  /** The object cells see as `session`. */
  cellSession(executionCount: () => number): CellSession {
    const holder = this;
    const models: ReadonlyMap<string, LoadedModel> = {
      get size() { return holder.value?.models.size ?? 0; },
      get: (k: string) => { const m = holder.value?.models.get(k); return m ? holder.wrapModel(m) : undefined; },
      has: (k: string) => holder.value?.models.has(k) ?? false,
      keys: () => (holder.value?.models ?? new Map<string, LoadedModel>()).keys(),
      values: () => [...(holder.value?.models.values() ?? [])].map((m) => holder.wrapModel(m)).values(),
      entries: () => [...(holder.value?.models.entries() ?? [])].map(([k, m]) => [k, holder.wrapModel(m)] as [string, LoadedModel]).values(),
      forEach: (cb: (v: LoadedModel, k: string, map: ReadonlyMap<string, LoadedModel>) => void) => {
        for (const [k, m] of holder.value?.models ?? []) cb(holder.wrapModel(m), k, models);
      },
      [Symbol.iterator]: () => models.entries(),
    };
    return {
      models,
      get engine() { return holder.get(); },
      async load(idOrPath: string, opts?: LoadOptions) {
        const e = await holder.get();
        const m = await e.load(idOrPath, opts);
        holder.lastLoaded = m.name;
        return holder.wrapModel(m);
      },
      async generate(prompt, opts) {
        await holder.get();
        const { model, ...rest } = opts ?? {};
        return holder.pick(model).generate(prompt, rest);
      },
      stream(prompt, opts) {
        const { model, ...rest } = opts ?? {};
        return holder.pick(model).stream(prompt, rest);
      },
      get executionCount() { return executionCount(); },
    };
  }
}
