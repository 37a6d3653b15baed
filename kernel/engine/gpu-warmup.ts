// Warms a freshly loaded model on MLX's CUDA backend, so that a chat's first prompts do not stop for
// JIT compiles. MLX 0.32.4 on an H200 compiles (NVRTC) one quantized-matmul module per dtype, bits, group
// size and row tile on first use: qmm_sm80_tn_bfloat16_m{16,32,64}_b4_g64_affine (qmm_naive_... for shapes
// the sm80 kernel does not take), each 40-55 s. Fewer than 8 rows (decode, and prompts under 9 tokens)
// take the precompiled qmv; up to 16 rows the m16 module, up to 32 the m32, more the m64. One short
// generation per bucket compiles them all (once per machine: the cubins land in the lasting cache,
// kernel-cache.ts), and a later load only replays them (well under a second).
import type { NativeGenerateParams, NativeModel } from "./native-types.js";

/** Prefill chunk lengths, one per tile bucket; each run also decodes one token (the 1-row kernels). */
export const WARMUP_CHUNKS = [16, 32, 64] as const;

const PARAMS: NativeGenerateParams = {
  maxTokens: 1, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20,
  eosTokenIds: [], prefillStepSize: 2048, reusePrefix: false,
};

function once(model: NativeModel, length: number, vocab: number): Promise<void> {
  // The ids only need to be valid; the prefill covers all but the last, which the decode step takes.
  const ids = Int32Array.from({ length: length + 1 }, (_, i) => (i * 7919 + 13) % vocab);
  return new Promise((resolve, reject) => {
    model.generate(ids, PARAMS, (ev) => {
      if (ev.type === "done") resolve();
      else if (ev.type === "error") reject(Object.assign(new Error(ev.message), { code: ev.code }));
    });
  });
}

/** Runs the warm-up generations; `onStep(done, total)` after each. Leaves the model's cache empty. */
export async function warmUp(model: NativeModel, onStep?: (done: number, total: number) => void): Promise<void> {
  const vocab = model.info().vocabSize;
  onStep?.(0, WARMUP_CHUNKS.length);
  for (let i = 0; i < WARMUP_CHUNKS.length; i++) {
    await once(model, WARMUP_CHUNKS[i]!, vocab);
    onStep?.(i + 1, WARMUP_CHUNKS.length);
  }
  model.resetCache();
}

/** Whether loads warm up: on CUDA, unless MLX_TS_WARMUP=0. */
export function warmUpWanted(backend: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return backend === "cuda" && env.MLX_TS_WARMUP !== "0";
}
