// Every load failure gives its NativeErrorCode with a message that names the file/tensor and says what
// to do, and leaves the process able to load again; memory/runtime/device functions; argument checks.
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { addonPath, loadNative } from "../../kernel/engine/native.js";
import type { NativeAddon, NativeGenerationEvent, NativeModel } from "../../kernel/engine/native-types.js";
import { addon, ensureFixtures, expectCode, fixtures, load, py, readJson, root } from "./native-helpers.js";

let mlx: NativeAddon;
const work = join(fixtures, "errors");
const good = () => join(fixtures, "qwen3-bf16");

/** Copies a fixture dir, then lets `edit` break it. */
function brokenCopy(name: string, edit: (dir: string) => void): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(good())) copyFileSync(join(good(), f), join(dir, f));
  edit(dir);
  return dir;
}

function editConfig(dir: string, patch: Record<string, unknown>): void {
  const cfg = { ...readJson(join(dir, "config.json")), ...patch };
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
}

/** The next load after a failure still works and computes. */
async function loadStillWorks(): Promise<void> {
  const m = await load(mlx, good());
  const l = await m.logits(Int32Array.from([1, 2, 3]));
  expect(l.length).toBe(256);
  m.dispose();
}

// Loaded before the failures and checked after them: a failed load leaves other models intact.
let survivor: NativeModel;
let survivorLogits: Float32Array;
const SURVIVOR_IDS = Int32Array.from([5, 6, 7, 8]);

beforeAll(async () => {
  ensureFixtures();
  mlx = addon();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  survivor = await load(mlx, join(fixtures, "llama-q4"));
  survivorLogits = await survivor.logits(SURVIVOR_IDS);
});

afterAll(async () => {
  expect(Array.from(await survivor.logits(SURVIVOR_IDS))).toEqual(Array.from(survivorLogits));
  survivor.dispose();
});

describe("load errors", () => {
  afterEach(loadStillWorks);

  it("E_MODEL_NOT_FOUND for a missing path", async () => {
    const e = await expectCode(load(mlx, join(work, "nope")), "E_MODEL_NOT_FOUND");
    expect(e.message).toContain("nope");
    expect(e.message).toMatch(/does not exist/);
  });

  it("E_MODEL_NOT_FOUND for a directory without config.json or without weights", async () => {
    const empty = join(work, "empty");
    mkdirSync(empty, { recursive: true });
    expect((await expectCode(load(mlx, empty), "E_MODEL_NOT_FOUND")).message).toContain("config.json");
    const noWeights = join(work, "no-weights");
    mkdirSync(noWeights, { recursive: true });
    copyFileSync(join(good(), "config.json"), join(noWeights, "config.json"));
    expect((await expectCode(load(mlx, noWeights), "E_MODEL_NOT_FOUND")).message).toContain("safetensors");
  });

  it("E_UNSUPPORTED_ARCH for an unknown model_type, listing the supported ones", async () => {
    const dir = brokenCopy("foo-arch", (d) => editConfig(d, { model_type: "foo" }));
    const e = await expectCode(load(mlx, dir), "E_UNSUPPORTED_ARCH");
    expect(e.message).toContain('"foo"');
    expect(e.message).toContain("qwen3");
    expect(e.message).toContain("llama");
  });

  it("E_BAD_CONFIG for unparsable JSON and for a missing key", async () => {
    const bad = brokenCopy("bad-json", (d) => writeFileSync(join(d, "config.json"), "{ not json"));
    expect((await expectCode(load(mlx, bad), "E_BAD_CONFIG")).message).toContain("config.json");
    const missing = brokenCopy("no-hidden", (d) => {
      const cfg = readJson(join(d, "config.json"));
      delete cfg["hidden_size"];
      writeFileSync(join(d, "config.json"), JSON.stringify(cfg));
    });
    expect((await expectCode(load(mlx, missing), "E_BAD_CONFIG")).message).toContain("hidden_size");
  });

  it("E_CORRUPT_WEIGHTS for a truncated safetensors file, naming it", async () => {
    const dir = brokenCopy("truncated", (d) => {
      const f = join(d, "model.safetensors");
      truncateSync(f, Math.floor(statSync(f).size * 0.6));
    });
    const e = await expectCode(load(mlx, dir), "E_CORRUPT_WEIGHTS");
    expect(e.message).toContain("model.safetensors");
    expect(e.message).toMatch(/truncated/);
  });

  it("E_CORRUPT_WEIGHTS for a missing tensor and for a wrong shape, naming the tensor", async () => {
    const moreLayers = brokenCopy("missing-tensor", (d) => editConfig(d, { num_hidden_layers: 3 }));
    expect((await expectCode(load(mlx, moreLayers), "E_CORRUPT_WEIGHTS")).message).toContain("model.layers.2.");
    const wrongShape = brokenCopy("wrong-shape", (d) => editConfig(d, { intermediate_size: 96 }));
    const e = await expectCode(load(mlx, wrongShape), "E_CORRUPT_WEIGHTS");
    expect(e.message).toContain("mlp.gate_proj");
    expect(e.message).toContain("[96, 64]");
  });

  it("E_UNSUPPORTED_GGUF_TYPE for a GGUF tensor type MLX cannot read", async () => {
    const file = join(work, "iq2.gguf");
    py(WRITE_IQ2_GGUF, [file]);
    const e = await expectCode(load(mlx, file), "E_UNSUPPORTED_GGUF_TYPE");
    expect(e.message).toContain("iq2.gguf");
  });

  it("E_MEMORY_LIMIT when the weights exceed the MLX memory limit; the limit restores", async () => {
    const prev = mlx.setMemoryLimit(64 * 1024);
    try {
      expect(mlx.memory().limit).toBe(64 * 1024);
      const e = await expectCode(load(mlx, good()), "E_MEMORY_LIMIT");
      expect(e.message).toMatch(/memory limit/);
    } finally {
      expect(mlx.setMemoryLimit(prev)).toBe(64 * 1024);
    }
  });

  it("E_BAD_ARGUMENT (as a rejection) for a bad dtype or a missing path option", async () => {
    await expectCode(load(mlx, good(), "int8" as never), "E_BAD_ARGUMENT");
    await expectCode(mlx.loadModel({} as never), "E_BAD_ARGUMENT");
  });
});

describe("runtime, memory and device", () => {
  it("reports MLX's version, backend and memory counters", async () => {
    const rt = mlx.runtime();
    expect(rt.mlxVersion).toBe("0.32.4");
    expect(["cpu", "metal", "cuda"]).toContain(rt.backend);
    expect(["cpu", "gpu"]).toContain(rt.device);
    const before = mlx.memory().active;
    const m = await load(mlx, good());
    const mem = mlx.memory();
    expect(mem.active - before).toBeGreaterThanOrEqual(m.info().weightBytes);
    expect(mem.peak).toBeGreaterThanOrEqual(mem.active);
    expect(mem.limit).toBeGreaterThan(0);
    m.dispose();
    // dispose() hands the weights back to MLX at once, not when JS collects the object
    expect(mlx.memory().active).toBeLessThanOrEqual(before + 4096);
    mlx.resetPeakMemory();
    mlx.clearCache();
    expect(mlx.memory().cache).toBe(0);
    const prev = mlx.setCacheLimit(1 << 20);
    expect(mlx.memory().cacheLimit).toBe(1 << 20);
    expect(mlx.setCacheLimit(prev)).toBe(1 << 20);
  });

  it("setDefaultDevice accepts cpu and refuses devices the backend lacks", () => {
    mlx.setDefaultDevice("cpu");
    expect(mlx.runtime().device).toBe("cpu");
    if (mlx.runtime().backend === "cpu") {
      expect(() => mlx.setDefaultDevice("gpu")).toThrow(expect.objectContaining({ code: "E_BAD_ARGUMENT" }));
    }
    expect(() => mlx.setDefaultDevice("tpu" as never)).toThrow(expect.objectContaining({ code: "E_BAD_ARGUMENT" }));
  });
});

describe("model method arguments", () => {
  it("logits rejects out-of-vocabulary and empty input; a disposed model refuses work", async () => {
    const m = await load(mlx, good());
    await expect(m.logits(Int32Array.from([1, 9999]))).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
    await expect(m.logits(new Int32Array(0))).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
    await expect(m.save(join(work, "does-not-exist"))).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
    m.dispose();
    m.dispose(); // idempotent
    await expectCode(m.logits(Int32Array.from([1])), "E_BAD_ARGUMENT");
    await expectCode(m.quantize({ bits: 4, groupSize: 64, mode: "affine" }), "E_BAD_ARGUMENT");
  });

  it("quantize is refused with E_BAD_ARGUMENT while a generation runs", async () => {
    const m = await load(mlx, good());
    const done = new Promise<NativeGenerationEvent>((resolve) => {
      const gen = m.generate(
        Int32Array.from([1, 2, 3]),
        { maxTokens: 100000, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20,
          eosTokenIds: [], prefillStepSize: 2048, reusePrefix: false },
        (ev) => {
          if (ev.type !== "tokens") resolve(ev);
        },
      );
      void expect(m.quantize({ bits: 4, groupSize: 64, mode: "affine" })).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" }).then(() => gen.cancel());
    });
    const ev = await done;
    expect(ev.type).toBe("done");
    // after the generation, quantize works
    const rep = await m.quantize({ bits: 4, groupSize: 64, mode: "affine" });
    expect(rep.quantizedLayers).toBeGreaterThan(0);
    m.dispose();
  });
});

describe("native.ts", () => {
  it("E_NATIVE_UNAVAILABLE when the addon file is missing, naming the build command", async () => {
    const saved = process.env.MLX_TS_ADDON;
    process.env.MLX_TS_ADDON = join(work, "missing.node");
    try {
      vi.resetModules();
      const fresh = (await import("../../kernel/engine/native.js")) as typeof import("../../kernel/engine/native.js");
      expect(fresh.addonPath()).toBe(join(work, "missing.node"));
      let err: unknown;
      try {
        fresh.loadNative();
      } catch (e) {
        err = e;
      }
      // resetModules gave the fresh module its own MlxTsError class, so check by name.
      expect((err as Error).name).toBe("MlxTsError");
      expect(err).toMatchObject({ code: "E_NATIVE_UNAVAILABLE" });
      expect((err as Error).message).toContain("npm run build:native");
    } finally {
      if (saved === undefined) delete process.env.MLX_TS_ADDON;
      else process.env.MLX_TS_ADDON = saved;
    }
    expect(addonPath()).toBe(join(root, "native", "build", "Release", "mlx_ts.node"));
    expect(loadNative()).toBe(mlx);
  });
});

// A minimal GGUF v3 file by hand: the architecture and the shape keys a config needs, and one tensor of
// type IQ2_XXS (16), which MLX cannot read.
const WRITE_IQ2_GGUF = String.raw`
import struct, sys
def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b
def u32(k, v):
    return s(k) + struct.pack("<II", 4, v)
shape = {"llama.embedding_length": 256, "llama.block_count": 1, "llama.feed_forward_length": 512,
         "llama.attention.head_count": 4, "llama.vocab_size": 4}
out = b"GGUF" + struct.pack("<IQQ", 3, 1, 1 + len(shape))
out += s("general.architecture") + struct.pack("<I", 8) + s("llama")
for k, v in shape.items():
    out += u32(k, v)
out += s("token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 256, 4) + struct.pack("<I", 16) + struct.pack("<Q", 0)
out += b"\0" * ((32 - len(out) % 32) % 32)
out += b"\0" * 1024
open(sys.argv[1], "wb").write(out)
`;
