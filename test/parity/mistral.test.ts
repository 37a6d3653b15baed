// model_type "mistral" (scripts/make-fixtures.py: mistral-tiny-bf16, Mistral-7B-v0.1's config keys with
// sliding_window 16) through our engine against mlx-lm. mlx-lm maps mistral to models/llama.py, which
// windows attention only in layers that layer_types names "sliding_attention"; Mistral configs carry no
// layer_types, so mlx-lm attends over the whole context and so do we. The prompt plus 32 tokens is longer
// than the window, so a windowed implementation would fail the token and logits checks below.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { fixture } from "./reference.js";
import { parityFor, PROMPT, STEPS } from "./suite.js";

describe("mistral-tiny-bf16 loads through the llama architecture file", () => {
  const dir = fixture("mistral-tiny-bf16");
  let engine: MlxEngine;
  beforeAll(() => {
    engine = createEngine();
  });
  afterAll(() => engine?.dispose());

  it("has model_type mistral, no layer_types, and a sliding_window shorter than prompt + generation", async () => {
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { model_type: string; sliding_window: number; layer_types?: unknown };
    expect(cfg.model_type).toBe("mistral");
    expect(cfg.layer_types).toBeUndefined();
    const model = await engine.load(dir, { as: "mistral" });
    expect(model.info().architecture).toBe("llama");
    expect(model.tokenize(PROMPT).length + STEPS).toBeGreaterThan(2 * cfg.sliding_window);
  });
});

parityFor("mistral-tiny-bf16");
