// Batched and continuous generation on one model (native/src/batch_loop.cpp, after mlx-lm's
// BatchGenerator). Each row is an ordinary TokenStream (text, stop strings, cancel behave as for one
// generation); the runner multiplexes the native batch's per-row events onto them. Rows added in one
// synchronous run start as one batch; rows added while it runs join it at its next step; a row that comes
// after the native batch stopped taking rows waits for its "end" and starts the next batch.
import { fromNative } from "./errors.js";
import { emptyStats } from "./generation-stream.js";
import type { NativeBatch, NativeBatchEvent, NativeBatchRow, NativeGenerateParams, NativeGenerationEvent, NativeGenerationStats, NativeModel } from "./native-types.js";
import { MlxTsError, type GenerateOptions } from "./types.js";

type RowHandler = (ev: NativeGenerationEvent) => void;

function nativeStats(promptTokens: number, stopReason: "cancelled" | "error"): NativeGenerationStats {
  return { ...emptyStats(promptTokens, stopReason), stopReason };
}

/** Why `o` cannot run in a batch, or undefined when it can. */
export function notBatchable(o: GenerateOptions): string | undefined {
  if (o.draft !== undefined) return "a draft model (speculative decoding) runs one row at a time: its caches are trimmed per proposal, and no batched version is built";
  if (o.maxKvSize !== undefined) return "maxKvSize needs a rotating cache, and no batched rotating cache is built";
  if (o.kvBits !== undefined) return "kvBits needs a quantized cache, and no batched quantized cache is built";
  return undefined;
}

export class BatchRunner {
  private native: NativeBatch | undefined;
  /** the native batch refused a row (it is ending): queued rows start at its "end" */
  private ending = false;
  private readonly handlers = new Map<number, RowHandler>();
  private queued: NativeBatchRow[] = [];
  private nextId = 1;
  private startScheduled = false;
  private endWaiters: (() => void)[] = [];

  constructor(private readonly native_: () => NativeModel, private readonly modelName: string) {}

  /** true while a native batch runs (ending included) or rows wait for one */
  get busy(): boolean {
    return this.native !== undefined || this.queued.length > 0 || this.startScheduled;
  }

  /** rows not yet finished */
  get rows(): number {
    return this.handlers.size;
  }

  /** Adds a row (params already checked); returns its cancel. Events reach `onEvent` asynchronously. */
  add(prompt: readonly number[], params: NativeGenerateParams, onEvent: RowHandler): () => void {
    const id = this.nextId++;
    const row: NativeBatchRow = { id, prompt: Int32Array.from(prompt), params };
    this.handlers.set(id, onEvent);
    if (this.native && !this.ending) {
      let joined: boolean;
      try {
        joined = this.native.add(row);
      } catch (e) {
        this.handlers.delete(id);
        throw fromNative(e, `Adding a row to the batch on ${this.modelName}`);
      }
      if (!joined) {
        this.ending = true;
        this.queued.push(row);
      }
    } else {
      this.queued.push(row);
      if (!this.native) this.scheduleStart();
    }
    return () => this.cancel(id);
  }

  cancelAll(): void {
    for (const id of [...this.handlers.keys()]) this.cancel(id);
  }

  /** Resolves when no native batch runs (at once if none does). */
  ended(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => this.endWaiters.push(r));
  }

  private cancel(id: number): void {
    const i = this.queued.findIndex((r) => r.id === id);
    if (i >= 0) {
      const [row] = this.queued.splice(i, 1);
      const h = this.handlers.get(id);
      this.handlers.delete(id);
      // Never started: it ends as cancelled with nothing generated (delivered after cancel() returns).
      queueMicrotask(() => h?.({ type: "done", stats: nativeStats(row!.prompt.length, "cancelled") }));
      return;
    }
    if (this.handlers.has(id)) this.native?.cancel(id);
  }

  private scheduleStart(): void {
    if (this.startScheduled) return;
    this.startScheduled = true;
    queueMicrotask(() => {
      this.startScheduled = false;
      this.start();
    });
  }

  private start(): void {
    if (this.native || this.queued.length === 0) {
      this.settleIfIdle();
      return;
    }
    const rows = this.queued;
    this.queued = [];
    try {
      this.native = this.native_().generateBatch(rows, (ev) => this.onEvent(ev));
    } catch (e) {
      const err = fromNative(e, `Starting a batched generation on ${this.modelName}`);
      for (const r of rows) {
        const h = this.handlers.get(r.id);
        this.handlers.delete(r.id);
        h?.({ type: "error", code: err.code as never, message: err.message, stats: nativeStats(r.prompt.length, "error") });
      }
      this.settleIfIdle();
    }
  }

  private onEvent(ev: NativeBatchEvent): void {
    if (ev.type === "end") {
      this.native = undefined;
      this.ending = false;
      if (this.queued.length) this.start();
      else this.settleIfIdle();
      return;
    }
    const h = this.handlers.get(ev.row);
    if (ev.type === "tokens") h?.({ type: "tokens", tokens: ev.tokens });
    else {
      this.handlers.delete(ev.row);
      if (ev.type === "done") h?.({ type: "done", stats: ev.stats });
      else h?.({ type: "error", code: ev.code, message: ev.message, stats: ev.stats });
    }
  }

  private settleIfIdle(): void {
    if (this.busy) return;
    for (const w of this.endWaiters.splice(0)) w();
  }
}

/** The E_BAD_ARGUMENT for options a batch cannot run. */
export function notBatchableError(o: GenerateOptions, model: string): MlxTsError | undefined {
  const why = notBatchable(o);
  return why === undefined ? undefined : new MlxTsError("E_BAD_ARGUMENT", `Cannot run this generation in a batch on ${model}: ${why}. Leave the option out for batched generation, or run it alone (without batch, after the batch ends).`);
}
