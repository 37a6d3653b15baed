// The generations running on one engine's models, wherever they were started (a cell, a magic, plain
// code): what an interrupt cancels and then waits for, so the next cell finds the models idle.
import type { GenerationStream } from "./types.js";

export class Generations {
  private readonly active = new Set<GenerationStream>();

  get size(): number {
    return this.active.size;
  }

  track(s: GenerationStream): void {
    this.active.add(s);
    const drop = (): void => void this.active.delete(s);
    s.result.then(drop, drop);
  }

  cancelAll(): void {
    for (const s of this.active) s.cancel();
  }

  /** A cancel stops the native loop only after the step in progress, so callers wait here (at most `ms`). */
  async settle(ms: number): Promise<void> {
    const results = [...this.active].map((s) => s.result.catch(() => undefined));
    if (!results.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(results), new Promise((r) => { timer = setTimeout(r, ms); })]);
    clearTimeout(timer);
  }
}
