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

/** Why `o` cannot run in a batch, or undefined when it can (kvBits and maxKvSize rows can: each row keeps its own cache kind). */
export function notBatchable(o: GenerateOptions): string | undefined {
  if (o.draft !== undefined) return "a draft model (speculative decoding) runs one row at a time: its caches are trimmed per proposal, and no batched version is built";
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
  /** the last rows' ends, delivered at the native "end" so the model reads as free when their results resolve */
  private deferred: (() => void)[] = [];
  /** holds: a running single-row generation is moving in; rows queued meanwhile start with it */
  private holds = 0;

  constructor(private readonly native_: () => NativeModel, private readonly modelName: string) {}

  /** true while a native batch runs (ending included) or rows wait for one */
  get busy(): boolean {
    return this.native !== undefined || this.queued.length > 0 || this.startScheduled || this.holds > 0;
  }

  /** rows not yet finished */
  get rows(): number {
    return this.handlers.size;
  }

  /**
   * Adds a row (params already checked); returns its cancel. Events reach `onEvent` asynchronously.
   * `continueSlot`: the row continues the model's own cache where it holds a prefix of `prompt` (a moved run).
   */
  add(prompt: readonly number[], params: NativeGenerateParams, onEvent: RowHandler, continueSlot = false): () => void {
    const id = this.nextId++;
    const row: NativeBatchRow = { id, prompt: Int32Array.from(prompt), params, continueSlot };
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

  /** Keeps queued rows from starting until the returned release is called (once). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0 && this.queued.length && !this.native) this.scheduleStart();
      else this.settleIfIdle();
    };
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
    if (this.holds > 0) return;
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
      for (const d of this.deferred.splice(0)) d();
      return;
    }
    const h = this.handlers.get(ev.row);
    if (ev.type === "tokens") h?.({ type: "tokens", tokens: ev.tokens });
    else {
      this.handlers.delete(ev.row);
      const end = (): void => {
        if (ev.type === "done") h?.({ type: "done", stats: ev.stats });
        else h?.({ type: "error", code: ev.code, message: ev.message, stats: ev.stats });
      };
      if (this.handlers.size === 0 && this.queued.length === 0 && this.native) this.deferred.push(end);
      else end();
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

/**
 * Continuous batching for plain generations: a single-row native generation that can move into a batch
 * mid-run. moveTo() cancels the native run after its step in progress; when it reports "cancelled", the
 * generation continues as a batch row whose prompt is its prompt plus the tokens generated so far (that
 * row is prefilled anew, so greedy output stays the prompt's alone) and whose maxTokens is what is left.
 * The stream sees one run: the same events, stats merged (promptTokens and reusedTokens of the first part;
 * generatedTokens, decodeMs and generationTps over both; batch fields, kvCacheBytes of the row).
 * A seeded sampled generation restarts its sampler's random stream at the move.
 */
export class MovableRun {
  private readonly generated: number[] = [];
  private cancelNative: () => void = () => undefined;
  private cancelRow: (() => void) | undefined;
  private cancelled = false;
  private move: { runner: BatchRunner; release: () => void } | undefined;
  private ended = false;

  constructor(
    private readonly prompt: readonly number[],
    private readonly params: NativeGenerateParams,
    startNative: (onEvent: RowHandler) => () => void,
    private readonly onEvent: RowHandler,
  ) {
    this.cancelNative = startNative((ev) => this.onNative(ev));
  }

  /** true once the run went on as a batch row (or is going there) */
  get moved(): boolean {
    return this.move !== undefined;
  }

  cancel(): void {
    this.cancelled = true;
    if (this.cancelRow) this.cancelRow();
    else this.cancelNative();
  }

  /** Moves the run into `runner` (held until the row is queued there, or the run ended on its own). */
  moveTo(runner: BatchRunner): void {
    if (this.move || this.ended || this.cancelled) return;
    this.move = { runner, release: runner.hold() };
    this.cancelNative();
  }

  private onNative(ev: NativeGenerationEvent): void {
    if (ev.type === "tokens") {
      this.generated.push(...ev.tokens);
      this.onEvent(ev);
      return;
    }
    const move = this.move;
    const left = this.params.maxTokens - this.generated.length;
    if (move && ev.type === "done" && ev.stats.stopReason === "cancelled" && !this.cancelled && left > 0) {
      const first = ev.stats;
      try {
        this.cancelRow = move.runner.add([...this.prompt, ...this.generated], { ...this.params, maxTokens: left, reusePrefix: false }, (rev) => this.onRow(rev, first), true);
      } catch (e) {
        const err = e instanceof MlxTsError ? e : new MlxTsError("E_MLX", String(e));
        this.end({ type: "error", code: err.code as never, message: err.message, stats: { ...first, stopReason: "error" } });
      }
      move.release();
      return;
    }
    move?.release();
    this.end(ev);
  }

  private onRow(ev: NativeGenerationEvent, first: NativeGenerationStats): void {
    if (ev.type === "tokens") {
      this.onEvent(ev);
      return;
    }
    const row = ev.stats;
    const generatedTokens = first.generatedTokens + row.generatedTokens;
    // The row's prefill of the moved tokens is decode time for this generation: it was generating meanwhile.
    const decodeMs = first.decodeMs + row.prefillMs + row.decodeMs;
    const stats: NativeGenerationStats = {
      ...row,
      promptTokens: first.promptTokens,
      reusedTokens: first.reusedTokens,
      generatedTokens,
      ttftMs: first.generatedTokens > 0 ? first.ttftMs : first.ttftMs + row.ttftMs,
      prefillMs: first.prefillMs,
      promptTps: first.promptTps,
      decodeMs,
      generationTps: decodeMs > 0 ? generatedTokens / (decodeMs / 1000) : 0,
      peakMemory: Math.max(first.peakMemory, row.peakMemory),
    };
    this.end(ev.type === "done" ? { type: "done", stats } : { ...ev, stats });
  }

  private end(ev: NativeGenerationEvent): void {
    if (this.ended) return;
    this.ended = true;
    this.onEvent(ev);
  }
}

/** Why a generation with options `o` cannot join the generation running on `model`, for E_BUSY. */
export function cannotJoinError(o: GenerateOptions, model: string, running: string | undefined): MlxTsError {
  const why = notBatchable(o);
  if (why !== undefined) {
    return new MlxTsError("E_BUSY", `Cannot start this generation on ${model} now: a generation is running on it, and this one cannot join it as a batch row because ${why}. It was not queued: wait for the running one to finish (await it), then start this one, or leave that option out so it joins.`);
  }
  return new MlxTsError("E_BUSY", `Cannot start this generation on ${model} now: the running generation cannot take other rows because ${running ?? "it is not a batchable generation"}. It was not queued: wait for it to finish (await it), then start this one.`);
}
