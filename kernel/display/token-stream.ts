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
  /** `answer` in runs, marking the text that accepted draft tokens released (speculative decoding) */
  answerParts?: AnswerPart[];
}

export interface AnswerPart {
  text: string;
  drafted: boolean;
}

const DRAFTED_STYLE = "background:rgba(46,160,67,0.2);border-radius:2px";
const DRAFTED_LEGEND = `<div style="opacity:0.7;font-size:smaller"><span style="${DRAFTED_STYLE}">highlighted</span>: proposed by the draft model and accepted by the target</div>`;

/** The answer's HTML: escaped, leading whitespace dropped, accepted draft text in highlighted spans. */
function answerHtml(answer: string, parts: AnswerPart[] | undefined): string {
  if (!parts?.some((p) => p.drafted)) return escapeHtml(answer.replace(/^\s+/, ""));
  let lead = true;
  return parts
    .map((p) => {
      let t = p.text;
      if (lead) {
        t = t.replace(/^\s+/, "");
        lead = t === "";
      }
      if (t === "") return "";
      return p.drafted ? `<span class="mlx-ts-drafted" style="${DRAFTED_STYLE}">${escapeHtml(t)}</span>` : escapeHtml(t);
    })
    .join("");
}

const ms = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);
const tps = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "–");

/** One line, the same everywhere: prompt tokens (reused), TTFT, prompt tok/s, generation tokens and tok/s, peak memory, stop reason, KV-cache bytes. */
export function statsLine(s: GenerationStats): string {
  const reused = s.reusedTokens > 0 ? ` (${s.reusedTokens} reused)` : "";
  return [
    `prompt: ${s.promptTokens} tokens${reused}, ${tps(s.promptTps)} tok/s`,
    `TTFT: ${ms(s.ttftMs)}`,
    `generation: ${s.generatedTokens} tokens, ${tps(s.generationTps)} tok/s`,
    `peak memory: ${formatBytes(s.peakMemory)}`,
    `stop: ${s.stopReason}`,
    // kvcache: last, so the fields before keep their places
    ...(s.kvCacheBytes > 0 ? [`KV cache: ${formatBytes(s.kvCacheBytes)}`] : []),
    // dist: a sharded model's ranks, each with its peak memory during the generation
    ...(s.ranks?.length ? [`ranks: ${s.ranks.map((r) => `${r.rank} ${formatBytes(r.peakMemory)} peak`).join(", ")}`] : []),
    // speculative decoding only (--draft)
    ...(s.acceptanceRate !== undefined ? [`draft: ${s.acceptedTokens}/${s.draftedTokens} accepted (${(100 * s.acceptanceRate).toFixed(0)}%), ${(s.tokensPerTargetStep ?? 0).toFixed(2)} tokens/target step`] : []),
    // batch only (generateBatch, %%generate --batch, continuous batching)
    ...(s.batchSize !== undefined ? [`batch: ${s.batchSize} rows (at most ${s.maxBatchSize ?? s.batchSize})${s.batchKvCacheBytes ? `, KV cache of the batch: ${formatBytes(s.batchKvCacheBytes)} (above: this row's share)` : ""}`] : []),
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

/** JupyterLab's output area sets `word-break: break-all`; generated prose wraps between words, and only a
 * word longer than the line (a URL, a hash) breaks inside. */
export const PRE_STYLE = "white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;margin:0";

// JupyterLab drops a kernel's messages once a restart begins (it clears the request's state before
// the kernel hears of it), so the "cut off by restart" update never lands there. Our JupyterLab
// extension ends live outputs itself on a restart (labextension/src/cut-off.ts, which matches these
// class names and must stay in step: test/unit/labextension-cut-off.test.ts). For front ends without
// it, each live render carries its own expiry: every update replaces the HTML and restarts the
// animation, and when none comes for STALE_AFTER_S the cursor goes and a note says the stream stopped.
const STALE_AFTER_S = 20;
const STALE_STYLE =
  "<style>@keyframes mlx-ts-stale-hide{to{visibility:hidden}}@keyframes mlx-ts-stale-show{to{visibility:visible}}" +
  `.mlx-ts-live-cursor{animation:mlx-ts-stale-hide 0s step-end ${STALE_AFTER_S}s forwards}` +
  `.mlx-ts-stale-note{visibility:hidden;animation:mlx-ts-stale-show 0s step-end ${STALE_AFTER_S}s forwards;opacity:0.7;font-size:smaller}</style>`;
const LIVE_CURSOR_HTML = '<span class="mlx-ts-live-cursor">▌</span>';
const STALE_NOTE_HTML = `<div class="mlx-ts-stale-note">cut off: no update for ${STALE_AFTER_S} s (the kernel was restarted, stopped or is busy)</div>`;

export function generationHtml(v: GenerationView): string {
  const thinking = v.thinking.replace(/<\/?think>/g, "").trim();
  const think = thinking
    ? `<details${v.live && !v.answer.trim() ? " open" : ""}><summary style="opacity:0.6">thinking (${thinking.length} chars)</summary>` +
      `<pre style="${PRE_STYLE};opacity:0.6">${escapeHtml(thinking)}</pre></details>`
    : "";
  const answer = `<pre style="${PRE_STYLE}">${answerHtml(v.answer, v.answerParts)}${v.live ? LIVE_CURSOR_HTML : ""}</pre>`;
  const legend = v.answerParts?.some((p) => p.drafted) ? DRAFTED_LEGEND : "";
  const stats = v.stats ? `<div class="mlx-ts-stats" style="opacity:0.7;font-size:smaller;margin-top:4px">${escapeHtml(statsLine(v.stats))}</div>` : "";
  const note = v.note ? `<div style="opacity:0.7;font-size:smaller">${escapeHtml(v.note)}</div>` : "";
  return `<div class="mlx-ts-generation" style="word-break:normal">${v.live ? STALE_STYLE : ""}${think}${answer}${legend}${stats}${note}${v.live ? STALE_NOTE_HTML : ""}</div>`;
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
  /** set once a chunk is marked drafted: the answer in runs */
  private parts: AnswerPart[] | undefined;
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

  push(chunk: { text: string; thinking: boolean; drafted?: boolean }): void {
    if (this.finished || chunk.text === "") return;
    if (chunk.thinking) this.thinking += chunk.text;
    else {
      const drafted = chunk.drafted === true;
      if (drafted && !this.parts) this.parts = this.answer ? [{ text: this.answer, drafted: false }] : [];
      const last = this.parts?.at(-1);
      if (last && last.drafted === drafted) last.text += chunk.text;
      else this.parts?.push({ text: chunk.text, drafted });
      this.answer += chunk.text;
    }
    const wait = this.lastEmit + this.interval - this.clock.now();
    if (wait <= 0) this.emit({ live: true });
    else if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        if (!this.finished) this.emit({ live: true });
      }, wait);
    }
  }

  /** Final render: the whole text (from the result when given, which is authoritative) and the stats line. Only the first call renders. */
  finish(end: { answer?: string; thinking?: string; stats?: GenerationStats; note?: string }): void {
    if (this.finished) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.finished = true;
    liveViews.delete(this);
    if (end.answer !== undefined && end.answer !== this.answer) {
      this.answer = end.answer;
      this.parts = undefined;
    }
    if (end.thinking !== undefined) this.thinking = end.thinking;
    this.emit({ live: false, stats: end.stats, note: end.note });
  }

  private emit(extra: { live: boolean; stats?: GenerationStats; note?: string }): void {
    if (extra.live) liveViews.add(this);
    const bundle = generationBundle({ answer: this.answer, thinking: this.thinking, answerParts: this.parts, ...extra });
    const o = { displayId: this.displayId, metadata: {} };
    if (this.shown) this.sink.updateDisplay(bundle, o);
    else this.sink.display(bundle, o);
    this.shown = true;
    this.emits++;
    this.lastEmit = this.clock.now();
  }
}

/** Views shown live and not finished yet: a restart ends them before the process goes. */
const liveViews = new Set<TokenStreamView>();

/** Ends every live generation display with `note` (its partial text kept, no cursor); returns how many. */
export function cutOffLiveGenerations(note: string): number {
  const views = [...liveViews];
  for (const v of views) v.finish({ note });
  return views.length;
}

/** The one line an interrupted generation ends with, in place of the stats. */
export function interruptedNote(s: GenerationStats): string {
  return `interrupted after ${s.generatedTokens} token${s.generatedTokens === 1 ? "" : "s"}; the partial output is kept`;
}
