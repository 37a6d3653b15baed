// The engine over the real addon on directory checkpoints (scripts/make-fixtures.py: random weights,
// the real Qwen3 tokenizer), checked against mlx-lm's own tokenizer wrapper and loader.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";

const PY = ".venv/bin/python";
const FIXTURES = resolve("test/.fixtures/models");
const tmp = mkdtempSync(join(tmpdir(), "engine-q3-"));
let engine: MlxEngine;
let q3: LoadedModel;

function python(script: string, input: unknown): unknown {
  const file = join(tmp, `ref-${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(file, script);
  const r = spawnSync(PY, [file], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "null");
}

beforeAll(async () => {
  if (!existsSync(join(FIXTURES, "qwen3-tiny-bf16", "config.json"))) {
    const r = spawnSync(PY, ["scripts/make-fixtures.py"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`make-fixtures failed: ${r.stderr}`);
  }
  engine = createEngine();
  q3 = await engine.load(join(FIXTURES, "qwen3-tiny-bf16"), { as: "q3" });
});

afterAll(() => {
  engine?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe("engine on a Qwen3 directory checkpoint", () => {
  it("builds the same prompt tokens as mlx-lm's tokenizer, with and without thinking", () => {
    const msgs = [{ role: "user" as const, content: "Name three colours. 你好 😀" }];
    const ref = python(
      `
import json, sys
from pathlib import Path
from mlx_lm.utils import load_config, load_tokenizer
inp = json.load(sys.stdin)
# as mlx_lm.load does: generation_config.json's eos ids, plus the tokenizer's own
config = load_config(Path(inp["dir"]))
t = load_tokenizer(Path(inp["dir"]), eos_token_ids=config.get("eos_token_id"))
out = {
  "think": t.apply_chat_template(inp["msgs"], add_generation_prompt=True),
  "noThink": t.apply_chat_template(inp["msgs"], add_generation_prompt=True, enable_thinking=False),
  "eos": sorted(t.eos_token_ids),
}
print(json.dumps(out))
`,
      { dir: join(FIXTURES, "qwen3-tiny-bf16"), msgs },
    ) as { think: number[]; noThink: number[]; eos: number[] };
    const model = q3 as LoadedModel & { promptTokens(p: unknown, o: unknown): { tokens: number[] }; eosTokenIds: number[] };
    expect(model.promptTokens(msgs, {}).tokens).toEqual(ref.think);
    expect(model.promptTokens(msgs, { enableThinking: false }).tokens).toEqual(ref.noThink);
    expect([...model.eosTokenIds].sort((a, b) => a - b)).toEqual(ref.eos);
  });

  it("generates (random weights: checks the plumbing, not the words)", async () => {
    const r = await q3.generate("Hello", { maxTokens: 6, enableThinking: false });
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.stats.generatedTokens).toBe(r.tokens.length);
    expect(r.text).toBe(q3.detokenize(r.tokens.filter((t) => t !== 151645 && t !== 151643)));
  });

  it("logits with positions gives each of the last positions' rows, as logits of each prefix does", async () => {
    const ids = q3.tokenize("one two three four five");
    const rows = await q3.logits(ids, { positions: 3 });
    const vocab = (await q3.logits(ids)).length;
    expect(rows.length).toBe(3 * vocab);
    for (let k = 0; k < 3; k++) {
      const alone = await q3.logits(ids.slice(0, ids.length - 2 + k));
      const row = rows.subarray(k * vocab, (k + 1) * vocab);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < vocab; i++) { worst = Math.max(worst, Math.abs(row[i]! - alone[i]!)); scale = Math.max(scale, Math.abs(alone[i]!)); }
      expect(worst / scale).toBeLessThan(0.02); // bf16 compute: a longer sequence may round differently
    }
    await expect(q3.logits(ids, { positions: ids.length + 1 })).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
  });

  it("quantize updates info; save copies the tokenizer files; the saved dir loads in mlx-lm and here", async () => {
    const rep = await q3.quantize({ bits: 4, groupSize: 64 });
    expect(rep.bytesAfter).toBeLessThan(rep.bytesBefore);
    expect(q3.info().quantization).toMatchObject({ bits: 4, groupSize: 64 });
    const out = join(tmp, "q3-4bit");
    await q3.save(out);
    const files = readdirSync(out);
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]) expect(files).toContain(f);
    const ref = python(
      `
import json, sys
import mlx.core as mx
from mlx_lm import load
inp = json.load(sys.stdin)
model, tok = load(inp["dir"])
ids = tok.encode("Hello")
logits = model(mx.array([ids]))
print(json.dumps({"vocab": int(logits.shape[-1]), "ids": ids}))
`,
      { dir: out },
    ) as { vocab: number; ids: number[] };
    expect(ref.vocab).toBe(q3.info().vocabSize);
    const again = await engine.load(out, { as: "q3-saved" });
    expect(again.tokenize("Hello")).toEqual(ref.ids);
    expect(again.info().quantization).toMatchObject({ bits: 4 });
    engine.unload("q3-saved");
  }, 600_000);

  it("a GGUF model saved to a directory loads in mlx-lm with the tokenizer we wrote", async () => {
    const smol = await engine.load("smollm2");
    const out = join(tmp, "smollm2-dir");
    await smol.save(out);
    const prompt = smol.applyChatTemplate([{ role: "user", content: "What is the capital of France?" }]);
    const ref = python(
      `
import json, sys
from mlx_lm import load, generate
inp = json.load(sys.stdin)
model, tok = load(inp["dir"])
text = generate(model, tok, inp["prompt"], max_tokens=6, verbose=False)
print(json.dumps({"ids": tok.encode(inp["prompt"], add_special_tokens=False), "text": text}))
`,
      { dir: out, prompt },
    ) as { ids: number[]; text: string };
    expect(smol.tokenize(prompt)).toEqual(ref.ids);
    const ours = await smol.generate([{ role: "user", content: "What is the capital of France?" }], { maxTokens: 6 });
    expect(ref.text).toBe(ours.text);
  }, 600_000);
});
