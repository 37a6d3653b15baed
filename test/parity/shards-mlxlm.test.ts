// Our 2-rank tensor-parallel run against mlx-lm's own 2-rank run (mlx.launch, ring backend on loopback,
// mlx_lm.utils.sharded_load + generate_step; scripts/mlxlm-sharded-reference.py), 4-bit checkpoints with
// bf16 activations, as stored. Both split the same tensors the same way and sum the same bf16 partial
// products with MLX's all_sum, so the tokens must be equal, every one of 32 steps, near-ties included.
// Against a single process they part on near-ties, and mlx-lm's own sharded run parts from mlx-lm's single
// process at the same steps: that difference is the split sum's rounding, not ours (README, Sharded models).
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { fixture, ROOT } from "./reference.js";

const PROMPTS = ["The quick brown fox", "Once upon a time", "Write a haiku about rain"];
const STEPS = 32;
const LAUNCH = join(ROOT, ".venv", "bin", "mlx.launch");
const PYTHON = join(ROOT, ".venv", "bin", "python");
let engine: MlxEngine;

beforeAll(() => {
  engine = createEngine();
});

afterAll(() => engine?.dispose());

const free = (port: number) => new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once("error", () => resolve(false));
  s.listen({ host: "127.0.0.1", port, exclusive: true }, () => s.close(() => resolve(true)));
});

/** A port P with P + 1 free too: mlx.launch's ring listens on --starting-port, plus one per rank. */
async function twoFreePorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await free(p)) && (await free(p + 1))) return p;
  }
  throw new Error("no two consecutive free ports on 127.0.0.1");
}

interface ShardedRun { tokens: number[]; margins: number[] }

async function mlxlmSharded(model: string, prompts: number[][]): Promise<ShardedRun[]> {
  const args = ["--backend", "ring", "--hosts", "127.0.0.1", "-n", "2", "--starting-port", String(await twoFreePorts()), "--python", PYTHON,
    join(ROOT, "scripts", "mlxlm-sharded-reference.py"), "--model", model, "--steps", String(STEPS), ...prompts.flatMap((p) => ["--ids", p.join(",")])];
  // mlx.launch run by the .venv's python: its script's #! line may name another environment's.
  let stdout: string;
  try {
    // Two ring ranks on a busy 2-core box can take minutes: a generous bound, not a speed check.
    ({ stdout } = await promisify(execFile)(PYTHON, [LAUNCH, ...args], { cwd: ROOT, maxBuffer: 16 << 20, timeout: 600_000 }));
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; killed?: boolean; message: string };
    throw new Error(`mlx.launch failed${err.killed ? " (killed at the 600 s bound)" : ""}: ${err.message.split("\n")[0]}; stderr: ${(err.stderr ?? "").slice(-2000)}; stdout: ${(err.stdout ?? "").slice(-1000)}`);
  }
  const line = stdout.split("\n").find((l) => l.startsWith('{"rank": 0'));
  if (!line) throw new Error(`mlx.launch printed no result: ${stdout.slice(-2000)}`);
  const out = JSON.parse(line) as { size: number; runs: ShardedRun[] };
  expect(out.size).toBe(2);
  return out.runs;
}

describe("2-rank tensor parallel in bf16: ours against mlx-lm's own 2-rank run", () => {
  for (const name of ["qwen3-tiny-4bit", "llama-tiny-4bit"]) {
    it(`${name}: ${STEPS} greedy tokens equal mlx-lm's sharded tokens on ${PROMPTS.length} prompts`, async () => {
      const dir = fixture(name);
      const two = await engine.load(dir, { as: "two", shards: 2 });
      expect(two.info().dtype).toBe("bfloat16");
      const ours: { prompt: number[]; tokens: number[] }[] = [];
      for (const p of PROMPTS) {
        const r = await two.generate(p, { raw: true, maxTokens: STEPS, temperature: 0, ignoreEos: true, reusePrefix: false });
        ours.push({ prompt: r.promptTokens, tokens: r.tokens });
      }
      engine.unload("two");
      const ref = await mlxlmSharded(dir, ours.map((o) => o.prompt));
      for (const [i, o] of ours.entries()) {
        expect(o.tokens.length).toBe(STEPS);
        expect(o.tokens, `prompt ${JSON.stringify(PROMPTS[i])}; mlx-lm's margins ${JSON.stringify(ref[i]!.margins)}`).toEqual(ref[i]!.tokens);
      }
    }, 900_000);
  }
});
