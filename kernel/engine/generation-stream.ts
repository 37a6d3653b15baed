// One generation as seen from JS: native token events in, GenerationChunk out (UTF-8-safe text, stop
// strings, <think> tracking), buffered without backpressure so the native loop never waits on JS.
import { createDetokenizer, type DetokenizerSource } from "./detokenizer.js";
import type { NativeGenerationEvent } from "./native-types.js";
import { StopStringFilter } from "./stop-strings.js";
import { ThinkTracker } from "./think.js";
import { MlxTsError, type GenerationChunk, type GenerationResult, type GenerationStats, type GenerationStream, type StopReason } from "./types.js";

export interface StreamSetup {
  tokenizer: DetokenizerSource;
  promptTokens: number[];
  eosIds: ReadonlySet<number>;
  stop?: readonly string[];
  /** the prompt left a <think> block open */
  startThinking?: boolean;
  /** a draft model proposes tokens: the result says which were its (GenerationResult.drafted) */
  speculative?: boolean;
  signal?: AbortSignal;
  /** Starts native generation with the event callback; returns its cancel. Throws synchronously on refusal. */
  start(onEvent: (ev: NativeGenerationEvent) => void): () => void;
  /** Called exactly once when the generation is over (done, error, or refused). */
  onSettled?: () => void;
}

export function emptyStats(promptTokens: number, stopReason: StopReason): GenerationStats {
  return {
    promptTokens, reusedTokens: 0, generatedTokens: 0, ttftMs: 0, prefillMs: 0, decodeMs: 0,
    promptTps: 0, generationTps: 0, peakMemory: 0, kvCacheBytes: 0, stopReason,
  };
}

type Waiter = { resolve: (r: IteratorResult<GenerationChunk>) => void; reject: (e: unknown) => void };

export class TokenStream implements GenerationStream {
  readonly result: Promise<GenerationResult>;
  private resolveResult!: (r: GenerationResult) => void;
  private rejectResult!: (e: unknown) => void;

  private readonly queue: GenerationChunk[] = [];
  private readonly waiters: Waiter[] = [];
  private ended = false;
  private failure: unknown;

  private readonly detok;
  private readonly stops: StopStringFilter;
  private readonly think: ThinkTracker;
  private readonly textParts: string[] = [];
  private readonly tokens: number[] = [];
  private readonly drafted: number[] = [];
  private stoppedByString = false;
  private cancelNative: (() => void) | undefined;
  private cancelRequested = false;
  private settled = false;
  private readonly abortListener = (): void => this.cancel();

  constructor(private readonly s: StreamSetup) {
    this.result = new Promise<GenerationResult>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // A caller that only iterates must not trigger an unhandled rejection; awaiting `result` still sees it.
    this.result.catch(() => undefined);
    this.detok = createDetokenizer(s.tokenizer);
    this.stops = new StopStringFilter(s.stop ?? []);
    this.think = new ThinkTracker(s.startThinking ?? false);

    if (s.signal?.aborted) {
      this.finish(emptyStats(s.promptTokens.length, "cancelled"));
      return;
    }
    s.signal?.addEventListener("abort", this.abortListener, { once: true });
    try {
      this.cancelNative = s.start((ev) => this.onEvent(ev));
    } catch (e) {
      this.settle();
      throw e;
    }
    // cancel() may have run inside start() (an event delivered synchronously); honour it now.
    if (this.cancelRequested) this.cancelNative();
  }

  /** true once the generation is over (done, error, or never started) */
  get isSettled(): boolean {
    return this.settled;
  }

  cancel(): void {
    this.cancelRequested = true;
    this.cancelNative?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<GenerationChunk> {
    return {
      next: () => {
        const chunk = this.queue.shift();
        if (chunk) return Promise.resolve({ value: chunk, done: false });
        if (this.failure !== undefined) return Promise.reject(this.failure);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      },
      return: () => {
        // Leaving a for-await loop early (break/throw) cancels the generation.
        if (!this.ended) this.cancel();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private onEvent(ev: NativeGenerationEvent): void {
    if (this.ended) return;
    if (ev.type === "tokens") {
      if (!ev.drafted?.length) this.onTokens(ev.tokens, false);
      else this.onDraftedTokens(ev.tokens, new Set(ev.drafted));
    }
    else if (ev.type === "done") {
      if (!this.stoppedByString) this.drain();
      const stopReason: StopReason = this.stoppedByString ? "stop" : ev.stats.stopReason;
      this.finish({ ...ev.stats, stopReason });
    } else {
      this.fail(new MlxTsError(ev.code, `Generation failed after ${ev.stats.generatedTokens} tokens: ${ev.message}.`));
    }
  }

  /** Runs of accepted draft tokens and target tokens, each run's released text marked as such. */
  private onDraftedTokens(ids: number[], drafted: ReadonlySet<number>): void {
    let start = 0;
    for (let i = 1; i <= ids.length; i++) {
      if (i < ids.length && drafted.has(i) === drafted.has(start)) continue;
      this.onTokens(ids.slice(start, i), drafted.has(start));
      start = i;
    }
  }

  private onTokens(ids: number[], drafted: boolean): void {
    if (this.stoppedByString) return;
    let text = "";
    const taken: number[] = [];
    for (const id of ids) {
      taken.push(id);
      if (drafted) this.drafted.push(this.tokens.length);
      this.tokens.push(id);
      if (this.s.eosIds.has(id)) continue;
      const scan = this.stops.push(this.detok.add(id));
      text += scan.emit;
      if (scan.stopped) {
        this.stoppedByString = true;
        this.cancelNative?.();
        this.cancelRequested = true;
        break;
      }
    }
    this.emit(this.think.push(text), taken, drafted);
  }

  /** End of generation: the detokenizer's and the stop filter's held-back text is ordinary text now. */
  private drain(): void {
    const tail = this.stops.push(this.detok.flush());
    const segs = this.think.push(tail.emit + this.stops.flush());
    this.emit([...segs, ...this.think.flush()], [], false);
  }

  private emit(segs: { text: string; thinking: boolean }[], tokens: number[], drafted: boolean): void {
    const mark = drafted ? { drafted: true } : {};
    if (segs.length === 0) {
      if (tokens.length > 0) this.push({ text: "", tokens, thinking: this.think.thinking, ...mark });
      return;
    }
    segs.forEach((seg, i) => {
      this.textParts.push(seg.text);
      this.push({ text: seg.text, tokens: i === 0 ? tokens : [], thinking: seg.thinking, ...mark });
    });
  }

  private push(chunk: GenerationChunk): void {
    const w = this.waiters.shift();
    if (w) w.resolve({ value: chunk, done: false });
    else this.queue.push(chunk);
  }

  private finish(stats: GenerationStats): void {
    if (this.ended) return;
    this.ended = true;
    this.settle();
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
    this.resolveResult({
      text: this.textParts.join(""),
      answer: this.think.answer,
      thinking: this.think.thinkingText,
      tokens: this.tokens,
      promptTokens: this.s.promptTokens,
      stats,
      ...(this.s.speculative ? { drafted: this.drafted } : {}),
    });
  }

  private fail(err: MlxTsError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.settle();
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.rejectResult(err);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.s.signal?.removeEventListener("abort", this.abortListener);
    this.s.onSettled?.();
  }
}
