// Shared by test/gpu/*.test.ts: whether this machine's MLX has a GPU backend (CUDA or Metal), the reason
// when it has not, and mlx-lm references computed on the same device.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadNative } from "../../kernel/engine/native.js";
import type { EngineModel } from "../../kernel/engine/index.js";
import type { NativeRuntimeInfo } from "../../kernel/engine/native-types.js";
import { PYTHON, ROOT } from "../parity/reference.js";

export interface GpuStatus {
  available: boolean;
  /** one line: what was found, or why the GPU tests skip */
  line: string;
  runtime: NativeRuntimeInfo | null;
}

let cached: GpuStatus | undefined;

export function gpuStatus(): GpuStatus {
  if (cached) return cached;
  let runtime: NativeRuntimeInfo | null = null;
  try {
    runtime = loadNative().runtime();
  } catch (e) {
    cached = { available: false, line: `GPU tests skipped: the native addon did not load (${(e as Error).message.split("\n")[0]})`, runtime };
    return cached;
  }
  cached =
    runtime.backend === "cpu"
      ? { available: false, line: `GPU tests skipped: MLX ${runtime.mlxVersion} here has only its CPU backend (no CUDA or Metal device)`, runtime }
      : { available: true, line: `GPU tests on ${runtime.deviceName || runtime.device} (MLX ${runtime.mlxVersion}, ${runtime.backend})`, runtime };
  return cached;
}

export interface DeviceReference {
  tokens: number[];
  margins: number[];
  logits: Float32Array | null;
  device: string;
}

/**
 * mlx-lm's greedy tokens (with top-1 minus top-2 log-prob margins) and last-position logits on the
 * checkpoint, in its own dtype or in float32, on MLX's default device (the GPU here).
 */
export async function mlxlmOnDevice(model: string, ids: number[], steps: number, dtype: "native" | "float32"): Promise<DeviceReference> {
  const args = [join(ROOT, "scripts", "mlxlm-reference.py"), "--model", model, "--ids", ids.join(","), "--logits", "--logits-dtype", dtype];
  if (dtype === "float32") args.push("--steps", "0", "--f32-steps", String(steps));
  else args.push("--steps", String(steps));
  const { stdout } = await promisify(execFile)(PYTHON, args, { cwd: ROOT, maxBuffer: 64 << 20 });
  const raw = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as {
    tokens?: number[]; margins?: number[]; tokens_f32?: number[]; margins_f32?: number[]; logits_b64?: string;
  };
  const buf = raw.logits_b64 === undefined ? null : Buffer.from(raw.logits_b64, "base64");
  const { stdout: dev } = await promisify(execFile)(PYTHON, ["-c", "import mlx.core as mx; print(mx.default_device())"], { cwd: ROOT });
  return {
    tokens: (dtype === "float32" ? raw.tokens_f32 : raw.tokens) ?? [],
    margins: (dtype === "float32" ? raw.margins_f32 : raw.margins) ?? [],
    logits: buf ? new Float32Array(new Uint8Array(buf).buffer, 0, buf.byteLength / 4) : null,
    device: dev.trim(),
  };
}

export interface TieAwareComparison {
  /** steps that must agree: up to (not including) the first step where mlx-lm's own margin is under the tie threshold */
  checked: number;
  firstDiff: number;
  detail: string;
}

/**
 * Greedy ids against mlx-lm's, up to the first near-tie. On a GPU the two programs may fuse or order a
 * reduction differently, so a step whose top two log-probs mlx-lm itself separates by less than `tie`
 * can legitimately flip; everything before it must be identical.
 */
export function compareUntilTie(ours: number[], ref: number[], margins: number[], tie: number): TieAwareComparison {
  let checked = Math.min(ours.length, ref.length);
  const t = margins.findIndex((m) => m < tie);
  if (t >= 0) checked = Math.min(checked, t);
  for (let i = 0; i < checked; i++) {
    if (ours[i] !== ref[i]) {
      return { checked, firstDiff: i, detail: `step ${i}: ours ${ours[i]} vs mlx-lm ${ref[i]} (mlx-lm margin ${margins[i]}); ours ${JSON.stringify(ours)}, mlx-lm ${JSON.stringify(ref)}` };
    }
  }
  return { checked, firstDiff: -1, detail: "" };
}

/** A reference run's own top-1 minus top-2 margins per generated step (one forward pass over prompt + tokens),
 * each in steps of 2^-15 at its top logit's magnitude; under 2 steps (2^-13 relative) is a near-tie. */
export async function marginsOf(model: Pick<EngineModel, "logits">, prompt: number[], tokens: number[]): Promise<number[]> {
  const all = [...prompt, ...tokens];
  const vocab = (await model.logits(all.slice(0, 1))).length;
  const logits = await model.logits(all.slice(0, -1), { positions: tokens.length });
  return Array.from({ length: tokens.length }, (_, i) => {
    const row = logits.subarray(i * vocab, (i + 1) * vocab);
    let a = -Infinity, b = -Infinity;
    for (const x of row) if (x > a) { b = a; a = x; } else if (x > b) b = x;
    return (a - b) / 2 ** (Math.floor(Math.log2(Math.max(Math.abs(a), 2 ** -126))) - 15);
  });
}
