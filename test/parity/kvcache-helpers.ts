// mlx-lm's side of the KV-cache tests: test/parity/kvcache-reference.py, one process and one model load per call.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { PYTHON, ROOT } from "./reference.js";

const SCRIPT = join(ROOT, "test", "parity", "kvcache-reference.py");

export interface KvJob {
  op: "generate" | "continue" | "cache_prompt";
  ids: number[];
  steps?: number;
  file?: string;
  kv_bits?: number;
  kv_group_size?: number;
  quantized_kv_start?: number;
  max_kv_size?: number;
  prefill_step_size?: number;
}

export interface KvResult {
  tokens?: number[];
  nbytes?: number;
  offset?: number;
  classes: string[];
}

export async function mlxlmKv(model: string, jobs: KvJob[]): Promise<KvResult[]> {
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, model, JSON.stringify(jobs)], { cwd: ROOT, maxBuffer: 16 << 20 });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "[]") as KvResult[];
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`mlx-lm (kvcache-reference.py) failed for ${model}: ${err.stderr?.trim() || err.message}`);
  }
}

/** mlx-lm's nbytes of a full-precision cache holding `positions` positions in buffers of `alloc` positions. */
export function kvBufferBytes(layers: number, kvHeads: number, headDim: number, dtypeBytes: number, positions: number): number {
  return 2 * layers * kvHeads * headDim * dtypeBytes * positions;
}
