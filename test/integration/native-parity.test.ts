// Our addon's last-position logits against mlx-lm's on the same tiny checkpoints (qwen3, qwen2, llama with
// llama3 rope scaling, tied llama with linear rope, qwen3_moe with decoder_sparse_step 2), in float32,
// bfloat16 and 4-bit; quantize + save
// round-trips through mlx_lm.utils.load_model.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { NativeAddon, NativeModel } from "../../kernel/engine/native-types.js";
import { addon, argmax, ensureFixtures, fixtures, load, mlxlmLogits, readJson, relErr } from "./native-helpers.js";

const IDS = [1, 17, 200, 45, 3, 99, 128, 7, 64, 250, 12, 33];
let mlx: NativeAddon;

beforeAll(() => {
  ensureFixtures();
  mlx = addon();
});

async function withModel<T>(path: string, fn: (m: NativeModel) => Promise<T>, dtype?: "float32" | "bfloat16" | "float16"): Promise<T> {
  const m = await load(mlx, path, dtype);
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

describe("logits parity with mlx-lm", () => {
  const cases: Array<[string, string]> = [];
  // mlx-lm cannot run an unquantized MoE in bfloat16 on the CPU backend (MLX's CPU GatherMM is float32-only).
  const cpu = addon().runtime().backend === "cpu";
  for (const arch of ["qwen3", "qwen2", "llama", "llama-tied-linear", "qwen3_moe"])
    for (const v of ["fp32", "bf16", "q4"]) if (!(cpu && arch === "qwen3_moe" && v === "bf16")) cases.push([arch, v]);
  // per-module quantization overrides, mxfp4, a sharded checkpoint with an index, HF's per-expert MoE layout
  cases.push(["qwen3", "mixed"], ["llama", "mxfp4"], ["qwen2", "sharded"], ["qwen3_moe", "hf"]);

  it.each(cases)("%s %s", { timeout: 300_000 }, async (arch, variant) => {
    const path = join(fixtures, `${arch}-${variant}`);
    const ref = mlxlmLogits(path, IDS);
    const ours = await withModel(path, (m) => m.logits(Int32Array.from(IDS)));
    expect(ours.length).toBe(256);
    // Same ops in the same order and dtype as mlx-lm (in practice the logits come out bit-identical).
    expect(relErr(ours, ref)).toBeLessThan(1e-3);
    expect(argmax(ours)).toBe(argmax(ref));
  });
});

describe("info()", () => {
  it("reports mixed and mxfp4 quantization from the tensors", async () => {
    await withModel(join(fixtures, "qwen3-mixed"), async (m) => {
      expect(m.info().quantization).toEqual({ bits: 4, groupSize: 64, mode: "affine" });
      const q = m.info().config["quantization"] as Record<string, unknown>;
      expect(q["model.layers.0.mlp.down_proj"]).toEqual({ group_size: 32, bits: 8, mode: "affine" });
    });
    await withModel(join(fixtures, "llama-mxfp4"), async (m) => {
      expect(m.info().quantization).toEqual({ bits: 4, groupSize: 32, mode: "mxfp4" });
    });
  });

  it("describes a quantized qwen3 checkpoint", async () => {
    await withModel(join(fixtures, "qwen3-q4"), async (m) => {
      const info = m.info();
      expect(info.architecture).toBe("qwen3");
      expect(info.modelType).toBe("qwen3");
      expect(info.quantization).toEqual({ bits: 4, groupSize: 64, mode: "affine" });
      expect(info.numLayers).toBe(2);
      expect(info.hiddenSize).toBe(64);
      expect(info.vocabSize).toBe(256);
      expect(info.contextLength).toBe(512);
      expect(info.tieWordEmbeddings).toBe(true);
      expect(info.dtype).toBe("bfloat16");
      expect(info.weightBytes).toBeGreaterThan(0);
      expect(info.config["model_type"]).toBe("qwen3");
    });
  });

  it("casts with the dtype option", async () => {
    await withModel(join(fixtures, "llama-bf16"), async (m) => {
      expect(m.info().dtype).toBe("float32");
      expect(m.info().quantization).toBeNull();
      expect(m.info().tieWordEmbeddings).toBe(false);
    }, "float32");
  });
});

describe("quantize + save", () => {
  it("quantizes in place, saves in mlx-lm's layout, and mlx-lm reproduces our logits", async () => {
    const out = join(fixtures, "saved-qwen3-q4");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await withModel(join(fixtures, "qwen3-bf16"), async (m) => {
      const rep = await m.quantize({ bits: 4, groupSize: 64, mode: "affine" });
      expect(rep.quantizedLayers).toBe(1 + 2 * 7);
      expect(rep.skippedLayers).toEqual([]);
      expect(rep.bytesAfter).toBeLessThan(rep.bytesBefore);
      expect(m.info().quantization).toEqual({ bits: 4, groupSize: 64, mode: "affine" });
      const ours = await m.logits(Int32Array.from(IDS));
      await m.save(out);
      const cfg = readJson(join(out, "config.json"));
      expect(cfg["quantization"]).toMatchObject({ bits: 4, group_size: 64, mode: "affine" });
      expect(cfg["quantization_config"]).toEqual(cfg["quantization"]);
      const ref = mlxlmLogits(out, IDS);
      expect(relErr(ours, ref)).toBeLessThan(1e-3);
    });
    // and we load what we saved
    const again = await withModel(out, (m) => m.logits(Int32Array.from(IDS)));
    expect(again.length).toBe(256);
  });

  it("skips and reports layers whose input dimension does not divide by the group size", async () => {
    await withModel(join(fixtures, "llama-fp32"), async (m) => {
      // intermediate 128 divides by 128, hidden 64 does not: only the down projections are quantized.
      const rep = await m.quantize({ bits: 8, groupSize: 128, mode: "affine" });
      expect(rep.quantizedLayers).toBe(2);
      expect(rep.skippedLayers).toContain("model.embed_tokens");
      expect(rep.skippedLayers).toContain("model.layers.0.self_attn.q_proj");
      expect(rep.skippedLayers).not.toContain("model.layers.0.mlp.down_proj");
      const l = await m.logits(Int32Array.from(IDS));
      expect(Number.isFinite(l[0]!)).toBe(true);
    });
  });

  it("supports mxfp4 and refuses bad parameters with E_BAD_ARGUMENT", async () => {
    await withModel(join(fixtures, "qwen2-bf16"), async (m) => {
      const ref = await m.logits(Int32Array.from(IDS));
      await expect(m.quantize({ bits: 7, groupSize: 64, mode: "affine" })).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
      await expect(m.quantize({ bits: 4, groupSize: 64, mode: "mxfp4" })).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
      const rep = await m.quantize({ bits: 4, groupSize: 32, mode: "mxfp4" });
      expect(rep.quantizedLayers).toBeGreaterThan(0);
      expect(m.info().quantization?.mode).toBe("mxfp4");
      const l = await m.logits(Int32Array.from(IDS));
      // 4-bit floats are coarse on random weights; the logits still correlate with the bf16 ones.
      expect(relErr(l, ref)).toBeLessThan(1);
    });
  });
});
