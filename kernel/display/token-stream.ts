// A generation shown live in ONE output: the first chunk creates a display with an id, later chunks
// update it in place, at most `maxUpdatesPerSecond` times a second (chunks in between are coalesced),
// and the end replaces it with the full text plus the stats line. Thinking (Qwen3 <think>) is shown
// apart: collapsed <details> in HTML, a "thinking:" prefix in text.
import { randomUUID } from "node:crypto";
import type { GenerationStats } from "../engine/types.js";
import type { MimeBundle, OutputSink } from "../protocol.js";
import { formatBytes } from "../util/bytes.js";
import { escapeHtml } from "../util/html.js";

export interface GenerationView {
  answer: string;
  thinking: string;
  /** still streaming */
  live: boolean;
  stats?: GenerationStats;
  /** extra note under the stats, e.g. "interrupted" */
  note?: string;
}

const ms = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);
const tps = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "–");

/** One line, the same everywhere: prompt tokens (reused), TTFT, prompt tok/s, generation tokens and tok/s, peak memory, stop reason. */
export function statsLine(s: GenerationStats): string {
  const reused = s.reusedTokens > 0 ? ` (${s.reusedTokens} reused)` : "";
  return [
    `prompt: ${s.promptTokens} tokens${reused}, ${tps(s.promptTps)} tok/s`,
    `TTFT: ${ms(s.ttftMs)}`,
    `generation: ${s.generatedTokens} tokens, ${tps(s.generationTps)} tok/s`,
    `peak memory: ${formatBytes(s.peakMemory)}`,
    `stop: ${s.stopReason}`,
  ].join(" | ");
}

export function generationText(v: GenerationView): string {
  const parts: string[] = [];
  const thinking = v.thinking.replace(/<\/?think>/g, "").trim();
  if (thinking) parts.push(thinking.split("\n").map((l) => `thinking: ${l}`).join("\n"));
  const answer = v.answer.replace(/^\s+/, "");
  parts.push(v.live ? `${answer}▌` : answer);
  if (v.stats) parts.push(`\n${statsLine(v.stats)}`);
  if (v.note) parts.push(v.note);
  return parts.join("\n");
}

export function generationHtml(v: GenerationView): string {
  const thinking = v.thinking.replace(/<\/?think>/g, "").trim();
  const think = thinking
    ? `<details${v.live && !v.answer.trim() ? " open" : ""}><summary style="opacity:0.6">thinking (${thinking.length} chars)</summary>` +
      `<pre style="white-space:pre-wrap;opacity:0.6;margin:0">${escapeHtml(thinking)}</pre></details>`
    : "";
  const answer = `<pre style="white-space:pre-wrap;margin:0">${escapeHtml(v.answer.replace(/^\s+/, ""))}${v.live ? "▌" : ""}</pre>`;
  const stats = v.stats ? `<div class="mlx-ts-stats" style="opacity:0.7;font-size:smaller;margin-top:4px">${escapeHtml(statsLine(v.stats))}</div>` : "";
  const note = v.note ? `<div style="opacity:0.7;font-size:smaller">${escapeHtml(v.note)}</div>` : "";
  return `<div class="mlx-ts-generation">${think}${answer}${stats}${note}</div>`;
}

export function generationBundle(v: GenerationView): MimeBundle {
  return { "text/plain": generationText(v), "text/html": generationHtml(v) };
}

export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

/** Streams chunks into one display, coalescing updates to at most `maxUpdatesPerSecond`. */
export class TokenStreamView {
  readonly displayId: string;
  private answer = "";
  private thinking = "";
  private shown = false;
  private lastEmit = -Infinity;
  private timer: unknown;
  private finished = false;
  /** how many display/update messages were sent (for tests and diagnostics) */
  emits = 0;

  constructor(
    private readonly sink: Pick<OutputSink, "display" | "updateDisplay">,
    private readonly opts: { maxUpdatesPerSecond?: number; clock?: Clock; displayId?: string } = {},
  ) {
    this.displayId = opts.displayId ?? `mlx-ts-gen-${randomUUID()}`;
  }

  private get clock(): Clock {
    return this.opts.clock ?? realClock;
  }

  private get interval(): number {
    return 1000 / (this.opts.maxUpdatesPerSecond ?? 20);
  }

  push(chunk: { text: string; thinking: boolean }): void {
    if (this.finished || chunk.text === "") return;
    if (chunk.thinking) this.thinking += chunk.text;
    else this.answer += chunk.text;
    const wait = this.lastEmit + this.interval - this.clock.now();
    if (wait <= 0) this.emit({ live: true });
    else if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        if (!this.finished) this.emit({ live: true });
      }, wait);
    }
  }

  /** Final render: the whole text (from the result when given, which is authoritative) and the stats line. */
  finish(end: { answer?: string; thinking?: string; stats?: GenerationStats; note?: string }): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.finished = true;
    if (end.answer !== undefined) this.answer = end.answer;
    if (end.thinking !== undefined) this.thinking = end.thinking;
    this.emit({ live: false, stats: end.stats, note: end.note });
  }

  private emit(extra: { live: boolean; stats?: GenerationStats; note?: string }): void {
    const bundle = generationBundle({ answer: this.answer, thinking: this.thinking, ...extra });
    const o = { displayId: this.displayId, metadata: {} };
    if (this.shown) this.sink.updateDisplay(bundle, o);
    else this.sink.display(bundle, o);
    this.shown = true;
    this.emits++;
    this.lastEmit = this.clock.now();
  }
}
