// The generations running on one engine's models, wherever they were started (a cell, a magic, plain
// code): what an interrupt cancels and then waits for, so the next cell finds the models idle.
import type { GenerationEvent, GenerationStats } from "./types.js";

export type { GenerationEvent } from "./types.js";

/** What runs on a model and holds it: a generation's stream, or a fine-tuning run. */
export interface ModelJob {
  cancel(): void;
  readonly result: Promise<unknown>;
}

export class Generations {
  private readonly active = new Map<ModelJob, string>();
  /** the speculative draft a generation also holds, by job */
  private readonly drafts = new Map<ModelJob, string>();
  private readonly listeners = new Set<(e: GenerationEvent) => void>();

  get size(): number {
    return this.active.size;
  }

  /** `draft`: a second model the generation holds (speculative decoding); it counts as generating too. */
  track(s: ModelJob, model: string, draft?: string): void {
    this.active.set(s, model);
    if (draft !== undefined) this.drafts.set(s, draft);
    this.emit({ model, phase: "start" });
    s.result.then(
      (r) => { this.active.delete(s); this.drafts.delete(s); this.emit({ model, phase: "end", stats: (r as { stats?: GenerationStats } | undefined)?.stats }); },
      () => { this.active.delete(s); this.drafts.delete(s); this.emit({ model, phase: "end" }); },
    );
  }

  /** whether a generation runs on the model `name` now */
  running(name: string): boolean {
    for (const m of this.active.values()) if (m === name) return true;
    for (const m of this.drafts.values()) if (m === name) return true;
    return false;
  }

  /** Calls `fn` for every generation start and end; returns the unsubscribe. */
  watch(fn: (e: GenerationEvent) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private emit(e: GenerationEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  cancelAll(): void {
    for (const s of this.active.keys()) s.cancel();
  }

  /** A cancel stops the native loop only after the step in progress, so callers wait here (at most `ms`). */
  async settle(ms: number): Promise<void> {
    const results = [...this.active.keys()].map((s) => s.result.catch(() => undefined));
    if (!results.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(results), new Promise((r) => { timer = setTimeout(r, ms); })]);
    clearTimeout(timer);
  }
}
