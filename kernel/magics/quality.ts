// The quality check %quantize reports: the unquantized model's greedy continuation of a fixed text is
// the reference; each model is then scored teacher-forced on it (is its argmax the reference token at
// each position, and what is its perplexity of the reference), from one forward pass over the text.
import type { LoadedModel } from "../engine/types.js";

export const QUALITY_TEXT =
  "The history of computing is a story of memory. Early machines stored a few thousand words, and programmers counted every byte. Today";

export interface Reference {
  prompt: number[];
  continuation: number[];
}

export interface QualityScore {
  /** positions where the model's argmax equals the reference token */
  agree: number;
  total: number;
  /** exp(mean negative log-likelihood of the reference tokens) */
  perplexity: number;
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

function logSoftmaxAt(v: Float32Array, index: number): number {
  let max = -Infinity;
  for (const x of v) if (x > max) max = x;
  let sum = 0;
  for (const x of v) sum += Math.exp(x - max);
  return v[index]! - max - Math.log(sum);
}

/** Greedy tokens of `model` after the fixed text (one generation), and the model's own score on them. */
export async function makeReference(model: LoadedModel, n: number, signal?: AbortSignal): Promise<{ ref: Reference; score: QualityScore }> {
  const prompt = model.tokenize(QUALITY_TEXT);
  if (n <= 0 || signal?.aborted) return { ref: { prompt, continuation: [] }, score: { agree: 0, total: 0, perplexity: NaN } };
  const r = await model.generate(QUALITY_TEXT, { raw: true, maxTokens: n, temperature: 0, repetitionPenalty: 1, ignoreEos: true, reusePrefix: false, ...(signal ? { signal } : {}) });
  const ref = { prompt, continuation: r.tokens.slice(0, n) };
  return { ref, score: await scoreAgainst(model, ref, signal) };
}

/**
 * Teacher-forced score on the reference, from one forward pass: the last positions' logits of prompt plus
 * continuation (less its last token) predict each reference token.
 */
export async function scoreAgainst(model: LoadedModel, ref: Reference, signal?: AbortSignal): Promise<QualityScore> {
  const n = ref.continuation.length;
  if (n === 0 || signal?.aborted) return { agree: 0, total: 0, perplexity: NaN };
  const rows = await model.logits([...ref.prompt, ...ref.continuation.slice(0, n - 1)], { positions: n });
  const vocab = rows.length / n;
  let agree = 0;
  let nll = 0;
  for (let i = 0; i < n; i++) {
    const logits = rows.subarray(i * vocab, (i + 1) * vocab);
    const want = ref.continuation[i]!;
    if (argmax(logits) === want) agree++;
    nll -= logSoftmaxAt(logits, want);
  }
  return { agree, total: n, perplexity: Math.exp(nll / n) };
}
