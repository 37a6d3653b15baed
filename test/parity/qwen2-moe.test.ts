// qwen2-moe-tiny-bf16 (scripts/make-fixtures.py: 8 experts, top-2, a shared expert behind a sigmoid gate,
// q/k/v biases) through our engine against mlx-lm. On the CPU backend mlx-lm cannot run the unquantized
// MoE in bfloat16 (MLX's CPU GatherMM is float32-only), so there only the float32 checks run; on a GPU
// all of them do. The 4-bit and 8-bit checkpoints: qwen2-moe-{4,8}bit.test.ts. Also: HF's per-expert
// tensor layout (sanitize stacks it) gives the same logits, and a config without the shared expert's
// size is refused naming the key.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { loadNative } from "../../kernel/engine/native.js";
import { fixture, PYTHON, relativeError, ROOT } from "./reference.js";
import { parityFor } from "./suite.js";

parityFor("qwen2-moe-tiny-bf16", { nativeDtype: loadNative().runtime().backend !== "cpu" });

describe("qwen2-moe-tiny-bf16 in other layouts", () => {
  const src = fixture("qwen2-moe-tiny-bf16");
  const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
  let engine: MlxEngine;
  let work: string;

  beforeAll(() => {
    engine = createEngine();
    mkdirSync(tmpRoot, { recursive: true });
    work = mkdtempSync(join(tmpRoot, "qwen2-moe-"));
  });

  afterAll(() => {
    engine?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A copy of the fixture whose config.json `edit` changes (the other files linked). */
  function copyWith(name: string, edit: (cfg: Record<string, unknown>) => void, linkWeights = true): string {
    const dir = join(work, name);
    mkdirSync(dir);
    for (const f of ["tokenizer.json", "tokenizer_config.json", "generation_config.json", ...(linkWeights ? ["model.safetensors"] : [])])
      symlinkSync(join(src, f), join(dir, f));
    const cfg = JSON.parse(readFileSync(join(src, "config.json"), "utf8")) as Record<string, unknown>;
    edit(cfg);
    writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    return dir;
  }

  it("loads HF's one-tensor-per-expert layout (mlp.experts.N.*) with the same float32 logits", async () => {
    const hf = copyWith("hf-layout", () => undefined, false);
    const script = [
      "import sys, mlx.core as mx",
      "w = mx.load(sys.argv[1])",
      "for k in [k for k in w if '.switch_mlp.' in k]:",
      "    t = w.pop(k)",
      "    for e in range(t.shape[0]): w[k.replace('.switch_mlp.', f'.experts.{e}.')] = t[e]",
      "mx.save_safetensors(sys.argv[2], w, metadata={'format': 'mlx'})",
    ].join("\n");
    await promisify(execFile)(PYTHON, ["-c", script, join(src, "model.safetensors"), join(hf, "model.safetensors")], { cwd: ROOT });
    const ids = [785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13];
    const a = await (await engine.load(src, { as: "stacked", dtype: "float32" })).logits(ids);
    const b = await (await engine.load(hf, { as: "per-expert", dtype: "float32" })).logits(ids);
    expect(relativeError(b, a)).toBe(0);
  });

  it("refuses a config without shared_expert_intermediate_size, naming the key, and keeps working", async () => {
    const bad = copyWith("no-shared-size", (cfg) => delete cfg.shared_expert_intermediate_size);
    const err = (await engine.load(bad, { as: "bad" }).then(
      () => null,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | null;
    expect(err?.code).toBe("E_BAD_CONFIG");
    expect(err?.message).toContain("shared_expert_intermediate_size");
    const good = await engine.load(src, { as: "after-bad" });
    expect((await good.logits([1, 2, 3])).length).toBeGreaterThan(0);
  });
});
