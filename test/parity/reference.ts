// What mlx-lm computes for a checkpoint (scripts/mlxlm-reference.py), and the comparisons the parity
// tests make against it.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const PYTHON = join(ROOT, ".venv", "bin", "python");
export const FIXTURES = join(ROOT, "test", ".fixtures", "models");
const SCRIPT = join(ROOT, "scripts", "mlxlm-reference.py");

export interface Reference {
  promptIds: number[];
  /** mlx-lm's ids for ReferenceRequest.encode */
  encoded: number[] | null;
  tokens: number[];
  margins: number[];
  tokensF32: number[];
  marginsF32: number[];
  logits: Float32Array | null;
  /** the second prompt's greedy run (ReferenceRequest.extra) */
  extra: { promptIds: number[]; tokens: number[]; margins: number[] } | null;
  mlxVersion: string;
  mlxLmVersion: string;
}

export interface ReferenceRequest {
  model: string;
  /** prompt as ids, or raw text for mlx-lm's tokenizer */
  prompt: number[] | string;
  steps?: number;
  f32Steps?: number;
  logits?: boolean;
  /** the dtype the reference logits are computed in: float32 (default) or the checkpoint's own */
  logitsDtype?: "float32" | "native";
  prefillStepSize?: number;
  /** raw text whose mlx-lm encoding to report as well */
  encode?: string;
  /** a second prompt decoded greedily in the native dtype, in the same process */
  extra?: { ids: number[]; steps: number; prefillStepSize: number };
}

interface RawReference {
  prompt_ids: number[];
  encoded?: number[];
  extra?: { prompt_ids: number[]; tokens: number[]; margins: number[] };
  tokens?: number[];
  margins?: number[];
  tokens_f32?: number[];
  margins_f32?: number[];
  logits_b64?: string;
  mlx_version: string;
  mlx_lm_version: string;
}

export function fixture(name: string): string {
  const dir = join(FIXTURES, name);
  if (!existsSync(join(dir, "config.json"))) {
    throw new Error(`fixture ${dir} is missing: run \`.venv/bin/python scripts/make-fixtures.py\` (the vitest globalSetup test/setup/fixtures.ts does it)`);
  }
  return dir;
}

export async function mlxlmReference(req: ReferenceRequest): Promise<Reference> {
  const args = [SCRIPT, "--model", req.model, "--steps", String(req.steps ?? 0), "--f32-steps", String(req.f32Steps ?? 0)];
  if (typeof req.prompt === "string") args.push("--text", req.prompt);
  else args.push("--ids", req.prompt.join(","));
  if (req.logits) args.push("--logits", "--logits-dtype", req.logitsDtype ?? "float32");
  if (req.encode !== undefined) args.push("--encode", req.encode);
  if (req.extra !== undefined) {
    args.push("--extra-ids", req.extra.ids.join(","), "--extra-steps", String(req.extra.steps));
    args.push("--extra-prefill-step-size", String(req.extra.prefillStepSize));
  }
  if (req.prefillStepSize !== undefined) args.push("--prefill-step-size", String(req.prefillStepSize));
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PYTHON, args, { cwd: ROOT, maxBuffer: 64 << 20 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`mlx-lm reference failed for ${req.model}: ${err.stderr?.trim() || err.message}`);
  }
  const raw = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as RawReference;
  let logits: Float32Array | null = null;
  if (raw.logits_b64 !== undefined) {
    const buf = Buffer.from(raw.logits_b64, "base64");
    // Copy into an aligned buffer: Buffer slices may start at any byte offset.
    logits = new Float32Array(new Uint8Array(buf).buffer, 0, buf.byteLength / 4);
  }
  return {
    promptIds: raw.prompt_ids,
    encoded: raw.encoded ?? null,
    tokens: raw.tokens ?? [],
    margins: raw.margins ?? [],
    tokensF32: raw.tokens_f32 ?? [],
    marginsF32: raw.margins_f32 ?? [],
    logits,
    extra: raw.extra ? { promptIds: raw.extra.prompt_ids, tokens: raw.extra.tokens, margins: raw.extra.margins } : null,
    mlxVersion: raw.mlx_version,
    mlxLmVersion: raw.mlx_lm_version,
  };
}

/** max |a - b| / max |b|: the relative error the parity tests bound. */
export function relativeError(ours: Float32Array, ref: Float32Array): number {
  if (ours.length !== ref.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!);
    if (!(d <= maxDiff)) maxDiff = d; // NaN propagates as a failure
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export interface GreedyComparison {
  /** tokens compared (ours may stop early at EOS) */
  compared: number;
  /** index of the first difference, or -1 */
  firstDiff: number;
  /** a readable account of the difference, "" when equal */
  detail: string;
}

/**
 * Ours against mlx-lm's greedy ids. mlx-lm's generate_step does not stop at EOS, so when ours stopped
 * on an EOS id the comparison covers our tokens, EOS included. The reference margin at the first
 * difference says whether mlx-lm itself saw a tie there (margin 0 in its own log-probabilities).
 */
export function compareGreedy(ours: number[], ref: number[], margins: number[], eos: number[]): GreedyComparison {
  const stoppedAtEos = ours.length < ref.length && ours.length > 0 && eos.includes(ours[ours.length - 1]!);
  const n = stoppedAtEos ? ours.length : Math.max(ours.length, ref.length);
  for (let i = 0; i < n; i++) {
    if (ours[i] !== ref[i]) {
      const m = margins[i];
      return {
        compared: n,
        firstDiff: i,
        detail:
          `first difference at step ${i}: ours ${ours[i]} vs mlx-lm ${ref[i]} ` +
          `(mlx-lm's top-1 minus top-2 log-prob there: ${m === undefined ? "n/a" : m}${m === 0 ? ", an exact tie in mlx-lm's own arithmetic" : ""}); ` +
          `ours ${JSON.stringify(ours)}, mlx-lm ${JSON.stringify(ref)}`,
      };
    }
  }
  return { compared: n, firstDiff: -1, detail: "" };
}
