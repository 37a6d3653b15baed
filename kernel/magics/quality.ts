// The quality check %quantize reports: the unquantized model's greedy continuation of a fixed text is
// the reference; each model is then scored teacher-forced on it (is its argmax the reference token at
// each position, and what is its perplexity of the reference). logits() uses a fresh cache each call,
// so this never disturbs a model's generation cache.
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

/** The reference: greedy tokens of `model` after the fixed text, and the model's own score on it (from the same logits). */
export async function makeReference(model: LoadedModel, n: number, signal?: AbortSignal): Promise<{ ref: Reference; score: QualityScore }> {
  const prompt = model.tokenize(QUALITY_TEXT);
  const continuation: number[] = [];
  let nll = 0;
  for (let i = 0; i < n; i++) {
    if (signal?.aborted) break;
    const logits = await model.logits([...prompt, ...continuation]);
    const next = argmax(logits);
    nll -= logSoftmaxAt(logits, next);
    continuation.push(next);
  }
  const total = continuation.length;
  return { ref: { prompt, continuation }, score: { agree: total, total, perplexity: total ? Math.exp(nll / total) : NaN } };
}

export async function scoreAgainst(model: LoadedModel, ref: Reference, signal?: AbortSignal): Promise<QualityScore> {
  let agree = 0;
  let nll = 0;
  let total = 0;
  for (let i = 0; i < ref.continuation.length; i++) {
    if (signal?.aborted) break;
    const logits = await model.logits([...ref.prompt, ...ref.continuation.slice(0, i)]);
    const want = ref.continuation[i]!;
    if (argmax(logits) === want) agree++;
    nll -= logSoftmaxAt(logits, want);
    total++;
  }
  return { agree, total, perplexity: total ? Math.exp(nll / total) : NaN };
}
