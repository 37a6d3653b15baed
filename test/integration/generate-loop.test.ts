// The native generation loop (native/src/generate.cpp) through the real addon and real MLX, checked
// against mlx-lm's generate_step on the same random-weight checkpoint.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { nativeLoadOptions } from "../../kernel/engine/checkpoint.js";
import type {
  NativeAddon,
  NativeGenerateParams,
  NativeGeneration,
  NativeGenerationEvent,
  NativeGenerationStats,
  NativeModel,
} from "../../kernel/engine/native-types.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
// MLX_TS_ADDON points at another build of the addon (e.g. a debug build).
const ADDON = process.env.MLX_TS_ADDON ?? join(ROOT, "native", "build", "Release", "mlx_ts.node");
const FIXTURE = join(ROOT, "test", ".fixtures", "gen", "qwen3-f32");

// A tiny qwen3 in float32 with weights scaled up so logits are well separated: a mismatch with mlx-lm
// then means a real difference, not rounding. The reference tokens come from mlx-lm's generate_step.
const FIXTURE_SCRIPT = String.raw`
import json, sys
from pathlib import Path
import mlx.core as mx
from mlx.utils import tree_map
from mlx_lm.models import qwen3
from mlx_lm.utils import save_model, save_config
from mlx_lm.generate import generate_step

out = Path(sys.argv[1])
cfg = {
    "model_type": "qwen3", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
    "vocab_size": 512, "max_position_embeddings": 8192, "rope_theta": 10000.0,
    "tie_word_embeddings": False, "torch_dtype": "float32",
}
mx.random.seed(1234)
model = qwen3.Model(qwen3.ModelArgs.from_dict(cfg))
model.update(tree_map(lambda p: p * 3.0 if p.ndim == 2 else p, model.parameters()))
mx.eval(model.parameters())
save_model(out, model)
save_config(dict(cfg), out / "config.json")

def greedy(prompt, steps, prefill):
    gen = generate_step(mx.array(prompt), model, max_tokens=steps, prefill_step_size=prefill)
    return [int(t) for t, _ in gen]

short = [int(x) for x in mx.random.randint(0, 512, (12,)).tolist()]
long = [int(x) for x in mx.random.randint(0, 512, (300,)).tolist()]
ref = {
    "short": {"prompt": short, "tokens": greedy(short, 32, 2048)},
    "long": {"prompt": long, "tokens": greedy(long, 32, 64), "prefill": 64},
}

# What mlx-lm's own filters keep for the short prompt's first token at temperature 1, with each kept
# token's probability after renormalisation: sampled first tokens must fall inside, and the likely ones
# must all show up.
from mlx_lm.sample_utils import apply_top_p, apply_min_p, apply_top_k
logits = model(mx.array([short]))[:, -1, :].astype(mx.float32)
logprobs = logits - mx.logsumexp(logits, keepdims=True)
filters = []
for f in [{"topP": 0.3}, {"minP": 0.3}, {"topK": 4}, {"topP": 0.5, "minP": 0.1, "topK": 5}]:
    x = logprobs
    if "topP" in f: x = apply_top_p(x, f["topP"])
    if "minP" in f: x = apply_min_p(x, f["minP"])
    if "topK" in f: x = apply_top_k(x, f["topK"])
    probs = mx.softmax(x[0], axis=-1)
    kept = [i for i in range(cfg["vocab_size"]) if not mx.isinf(x[0, i]).item()]
    filters.append({"params": f, "kept": {str(i): probs[i].item() for i in kept}})
ref["filters"] = filters

# bfloat16 with a larger vocabulary and unscaled weights: log-probabilities rounded to bf16 tie often,
# and greedy must break ties exactly as mlx-lm does (argmax over bf16 logprobs, first index wins).
bcfg = dict(cfg, vocab_size=32000, torch_dtype="bfloat16")
bmodel = qwen3.Model(qwen3.ModelArgs.from_dict(bcfg))
bmodel.set_dtype(mx.bfloat16)
mx.eval(bmodel.parameters())
save_model(out / "bf16", bmodel)
save_config(dict(bcfg), out / "bf16" / "config.json")
btoks, margins = [], []
for t, lp in generate_step(mx.array(short), bmodel, max_tokens=32):
    btoks.append(int(t))
    top2 = mx.sort(lp.astype(mx.float32))[-2:].tolist()
    margins.append(top2[1] - top2[0])
ref["bf16"] = {"prompt": short, "tokens": btoks, "ties": sum(1 for m in margins if m == 0.0)}
ref["one"] = {"prompt": short[:1], "tokens": greedy(short[:1], 16, 2048)}
from mlx_lm.sample_utils import make_logits_processors
procs = make_logits_processors(repetition_penalty=1.5, repetition_context_size=8)
ref["penalty"] = {"prompt": short, "tokens": [int(t) for t, _ in generate_step(mx.array(short), model, max_tokens=32, logits_processors=procs)]}
(out / "reference.json").write_text(json.dumps(ref))
`;

interface RefCase {
  prompt: number[];
  tokens: number[];
  prefill?: number;
}
interface FilterCase {
  params: { topP?: number; minP?: number; topK?: number };
  /** token id -> probability after the filters */
  kept: Record<string, number>;
}
interface Reference {
  short: RefCase;
  long: RefCase;
  filters: FilterCase[];
  /** greedy steps of the bf16 model; `ties`: how many had two equal top log-probabilities */
  bf16: RefCase & { ties: number };
  one: RefCase;
  /** greedy with mlx-lm's repetition penalty 1.5 over the last 8 tokens */
  penalty: RefCase;
}

function ensureFixture(): Reference {
  const stamp = createHash("sha256").update(FIXTURE_SCRIPT).digest("hex");
  const stampFile = join(FIXTURE, ".fixture-stamp");
  const refFile = join(FIXTURE, "reference.json");
  if (!(existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && existsSync(refFile))) {
    rmSync(FIXTURE, { recursive: true, force: true });
    mkdirSync(FIXTURE, { recursive: true });
    const script = join(FIXTURE, "make.py");
    writeFileSync(script, FIXTURE_SCRIPT);
    const r = spawnSync(PYTHON, [script, FIXTURE], { encoding: "utf8", cwd: ROOT });
    if (r.status !== 0) throw new Error(`fixture script failed (${r.status}): ${r.stderr}`);
    writeFileSync(stampFile, stamp);
  }
  return JSON.parse(readFileSync(refFile, "utf8")) as Reference;
}

function params(p: Partial<NativeGenerateParams>): NativeGenerateParams {
  return {
    maxTokens: 32,
    temperature: 0,
    topP: 1,
    topK: 0,
    minP: 0,
    repetitionPenalty: 1,
    repetitionContextSize: 20,
    eosTokenIds: [],
    prefillStepSize: 2048,
    reusePrefix: false,
    ...p,
  };
}

interface RunResult {
  tokens: number[];
  stats: NativeGenerationStats;
  tokenEvents: number;
  error?: { code: string; message: string };
}

/** Runs one generation to its final event; `onTokens` may cancel through the handle. */
function run(
  model: NativeModel,
  prompt: number[],
  p: NativeGenerateParams,
  onTokens?: (gen: NativeGeneration, soFar: number[]) => void,
  onStart?: (gen: NativeGeneration) => void,
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const tokens: number[] = [];
    let tokenEvents = 0;
    let handle: NativeGeneration | undefined;
    const onEvent = (ev: NativeGenerationEvent): void => {
      if (ev.type === "tokens") {
        tokenEvents++;
        tokens.push(...ev.tokens);
        if (onTokens && handle) onTokens(handle, tokens);
      } else if (ev.type === "done") {
        resolvePromise({ tokens, stats: ev.stats, tokenEvents });
      } else {
        resolvePromise({ tokens, stats: ev.stats, tokenEvents, error: { code: ev.code, message: ev.message } });
      }
    };
    handle = model.generate(Int32Array.from(prompt), p, onEvent);
    onStart?.(handle);
  });
}

describe("native generation loop", () => {
  let addon: NativeAddon;
  let model: NativeModel;
  let ref: Reference;

  beforeAll(async () => {
    ref = ensureFixture();
    if (!existsSync(ADDON)) throw new Error(`the addon is not built (${ADDON}); run npm run build:native`);
    addon = createRequire(import.meta.url)(ADDON) as NativeAddon;
    model = await addon.loadModel(nativeLoadOptions(FIXTURE));
  });

  afterAll(() => {
    model?.dispose();
  });

  it("greedy decoding gives mlx-lm's generate_step tokens", async () => {
    const r = await run(model, ref.short.prompt, params({ maxTokens: 32 }));
    expect(r.error).toBeUndefined();
    expect(r.tokens).toEqual(ref.short.tokens);
    expect(r.stats.stopReason).toBe("length");
    expect(r.stats.promptTokens).toBe(ref.short.prompt.length);
    expect(r.stats.generatedTokens).toBe(32);
    expect(r.stats.reusedTokens).toBe(0);
    expect(r.stats.ttftMs).toBeGreaterThan(0);
    expect(r.stats.generationTps).toBeGreaterThan(0);
    expect(r.stats.promptTps).toBeGreaterThan(0);
    expect(r.stats.peakMemory).toBeGreaterThan(0);
  });

  it("greedy decoding of a bfloat16 model matches mlx-lm, ties included", async () => {
    const bf16 = await addon.loadModel(nativeLoadOptions(join(FIXTURE, "bf16")));
    try {
      const r = await run(bf16, ref.bf16.prompt, params({ maxTokens: 32 }));
      expect(r.error).toBeUndefined();
      expect(r.tokens).toEqual(ref.bf16.tokens);
      expect(ref.bf16.ties).toBeGreaterThan(0);
    } finally {
      bf16.dispose();
    }
  });

  it("a one-token prompt (no prefill step at all) matches mlx-lm", async () => {
    const r = await run(model, ref.one.prompt, params({ maxTokens: 16 }));
    expect(r.tokens).toEqual(ref.one.tokens);
    expect(r.stats.promptTokens).toBe(1);
  });

  it("chunked prefill of a long prompt matches mlx-lm with the same step size", async () => {
    const r = await run(model, ref.long.prompt, params({ maxTokens: 32, prefillStepSize: ref.long.prefill ?? 64 }));
    expect(r.error).toBeUndefined();
    expect(r.tokens).toEqual(ref.long.tokens);
  });

  it("the same seed repeats a sampled run; another seed differs", async () => {
    const p = params({ maxTokens: 48, temperature: 1.0, seed: 42 });
    const a = await run(model, ref.short.prompt, p);
    const b = await run(model, ref.short.prompt, p);
    const c = await run(model, ref.short.prompt, { ...p, seed: 43 });
    expect(a.tokens).toHaveLength(48);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    // Seeds are JS integers, up to 2^53 - 1.
    const big = params({ maxTokens: 16, temperature: 1.0, seed: 2 ** 53 - 1 });
    const d = await run(model, ref.short.prompt, big);
    const e = await run(model, ref.short.prompt, big);
    expect(e.tokens).toEqual(d.tokens);
    // Sampling at temperature 1 over 512 ids must leave the greedy path somewhere.
    expect(a.tokens.slice(0, 32)).not.toEqual(ref.short.tokens);
  });

  it("unseeded sampled runs differ from each other", async () => {
    const p = params({ maxTokens: 48, temperature: 1.0 });
    const a = await run(model, ref.short.prompt, p);
    const b = await run(model, ref.short.prompt, p);
    expect(a.tokens).toHaveLength(48);
    expect(b.tokens).not.toEqual(a.tokens);
  });

  it("top-k 1 at any temperature is greedy; top-p and min-p filters keep a valid run", async () => {
    const k1 = await run(model, ref.short.prompt, params({ maxTokens: 32, temperature: 0.8, topK: 1, seed: 7 }));
    expect(k1.tokens).toEqual(ref.short.tokens);
    const tiny = await run(model, ref.short.prompt, params({ maxTokens: 32, temperature: 1.0, topP: 1e-6, seed: 7 }));
    expect(tiny.tokens).toEqual(ref.short.tokens);
    const minp = await run(model, ref.short.prompt, params({ maxTokens: 32, temperature: 1.0, minP: 0.999999, seed: 9 }));
    expect(minp.tokens).toEqual(ref.short.tokens);
    const mixed = await run(model, ref.short.prompt, params({ maxTokens: 32, temperature: 0.7, topP: 0.9, topK: 40, minP: 0.05, seed: 3 }));
    expect(mixed.tokens).toHaveLength(32);
    for (const t of mixed.tokens) expect(t >= 0 && t < 512).toBe(true);
  });

  it("top-p, min-p and top-k keep exactly the tokens mlx-lm's filters keep", async () => {
    for (const f of ref.filters) {
      const seen = new Set<number>();
      for (let seed = 0; seed < 120; seed++) {
        const r = await run(model, ref.short.prompt, params({ maxTokens: 1, temperature: 1, seed, ...f.params }));
        seen.add(r.tokens[0]);
      }
      const kept = new Set(Object.keys(f.kept).map(Number));
      const likely = Object.entries(f.kept).filter(([, p]) => p >= 0.05).map(([t]) => Number(t));
      expect(kept.size).toBeGreaterThan(1);
      for (const t of seen) expect(kept.has(t), `token ${t} is outside ${JSON.stringify(f.params)}`).toBe(true);
      // Each of these has >= 5% per draw: missing one in 120 seeded draws would mean a wrong filter.
      for (const t of likely) expect(seen.has(t), `token ${t} never drawn under ${JSON.stringify(f.params)}`).toBe(true);
    }
  });

  it("repetition penalty gives mlx-lm's tokens", async () => {
    const r = await run(model, ref.penalty.prompt, params({ maxTokens: 32, repetitionPenalty: 1.5, repetitionContextSize: 8 }));
    expect(r.tokens).toEqual(ref.penalty.tokens);
    expect(r.tokens).not.toEqual(ref.short.tokens);
  });

  it("repetition penalty changes a greedy run that repeats itself", async () => {
    // The reference run repeats tokens (e.g. 303 303 303); a strong penalty must break that.
    const plain = ref.short.tokens;
    const penalised = await run(model, ref.short.prompt, params({ maxTokens: 32, repetitionPenalty: 5, repetitionContextSize: 20 }));
    expect(penalised.tokens).toHaveLength(32);
    expect(penalised.tokens).not.toEqual(plain);
    let repeats = 0;
    for (let i = 1; i < penalised.tokens.length; i++) if (penalised.tokens[i] === penalised.tokens[i - 1]) repeats++;
    let plainRepeats = 0;
    for (let i = 1; i < plain.length; i++) if (plain[i] === plain[i - 1]) plainRepeats++;
    expect(repeats).toBeLessThan(plainRepeats);
  });

  it("maxTokens is honoured", async () => {
    for (const n of [1, 2, 5]) {
      const r = await run(model, ref.short.prompt, params({ maxTokens: n }));
      expect(r.tokens).toEqual(ref.short.tokens.slice(0, n));
      expect(r.stats.generatedTokens).toBe(n);
      expect(r.stats.stopReason).toBe("length");
    }
  });

  it("stops at an EOS id without emitting it", async () => {
    const eos = ref.short.tokens[6];
    const first = ref.short.tokens.indexOf(eos);
    const r = await run(model, ref.short.prompt, params({ maxTokens: 32, eosTokenIds: [9999999, eos] }));
    expect(r.stats.stopReason).toBe("eos");
    expect(r.tokens).toEqual(ref.short.tokens.slice(0, first));
    expect(r.stats.generatedTokens).toBe(first + 1);
  });

  it("cancel during decode stops with 'cancelled' and the next generation is correct", async () => {
    let cancelledAt = -1;
    const r = await run(model, ref.short.prompt, params({ maxTokens: 100_000 }), (gen, soFar) => {
      if (cancelledAt < 0) {
        cancelledAt = soFar.length;
        gen.cancel();
        gen.cancel(); // idempotent
      }
    });
    expect(r.error).toBeUndefined();
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.tokens.length).toBeLessThan(100_000);
    expect(r.tokens.length).toBeGreaterThanOrEqual(cancelledAt);
    const n = Math.min(32, r.tokens.length);
    expect(r.tokens.slice(0, n)).toEqual(ref.short.tokens.slice(0, n));
    const next = await run(model, ref.short.prompt, params({ maxTokens: 32, reusePrefix: true }));
    expect(next.tokens).toEqual(ref.short.tokens);
    expect(next.stats.reusedTokens).toBe(ref.short.prompt.length - 1);
    const cold = await run(model, ref.short.prompt, params({ maxTokens: 32 }));
    expect(cold.tokens).toEqual(ref.short.tokens);
  });

  it("cancel during a long prefill stops before the first token, and the cache stays usable", async () => {
    const prompt = Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 512);
    const r = await run(model, prompt, params({ maxTokens: 8, prefillStepSize: 16 }), undefined, (gen) => gen.cancel());
    expect(r.error).toBeUndefined();
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.tokens).toEqual([]);
    expect(r.stats.generatedTokens).toBe(0);
    // Whatever prefix the cancelled prefill left in the cache, reuse must still give the cold result.
    const reused = await run(model, ref.long.prompt, params({ maxTokens: 32, prefillStepSize: 64, reusePrefix: true }));
    expect(reused.tokens).toEqual(ref.long.tokens);
  });

  it("prompt-prefix reuse gives the cold run's tokens and reports the reused prefix", async () => {
    const base = ref.long.prompt;
    const follow = base.concat(ref.long.tokens.slice(0, 10), [1, 2, 3, 4, 5]);
    await run(model, base, params({ maxTokens: 32, prefillStepSize: 64 }));
    const warm = await run(model, follow, params({ maxTokens: 24, prefillStepSize: 64, reusePrefix: true }));
    model.resetCache();
    const cold = await run(model, follow, params({ maxTokens: 24, prefillStepSize: 64 }));
    expect(warm.error).toBeUndefined();
    expect(cold.stats.reusedTokens).toBe(0);
    // The first run's cache holds the prompt plus the generated tokens fed back (all but the last one).
    const cached = base.concat(ref.long.tokens.slice(0, 31));
    let lcp = 0;
    while (lcp < cached.length && cached[lcp] === follow[lcp]) lcp++;
    expect(lcp).toBeGreaterThanOrEqual(base.length + 10);
    expect(warm.stats.reusedTokens).toBe(lcp);
    expect(warm.tokens).toEqual(cold.tokens);
    expect(warm.stats.promptTokens).toBe(follow.length);
  });

  it("a second generate while one runs is refused with E_BAD_ARGUMENT", async () => {
    const first = run(model, ref.short.prompt, params({ maxTokens: 64 }));
    let code: string | undefined;
    try {
      model.generate(Int32Array.from(ref.short.prompt), params({}), () => undefined);
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    expect(code).toBe("E_BAD_ARGUMENT");
    const r = await first;
    expect(r.tokens).toHaveLength(64);
    expect(r.tokens.slice(0, 32)).toEqual(ref.short.tokens);
  });

  it("rejects bad arguments with E_BAD_ARGUMENT", () => {
    const bad: Array<[unknown, unknown]> = [
      [new Int32Array([]), params({})],
      [Int32Array.from([1, 2, 100000]), params({})],
      [[1, 2, 3], params({})],
      [Int32Array.from([1, 2]), params({ maxTokens: 0 })],
      [Int32Array.from([1, 2]), params({ temperature: -1 })],
      [Int32Array.from([1, 2]), params({ topP: 0 })],
      [Int32Array.from([1, 2]), params({ seed: -1 })],
      [Int32Array.from([1, 2]), params({ seed: 1.5 })],
      [Int32Array.from([1, 2]), params({ prefillStepSize: 0 })],
      [Int32Array.from([1, 2]), { maxTokens: "8" }],
    ];
    for (const [prompt, p] of bad) {
      let code: string | undefined;
      try {
        (model.generate as (a: unknown, b: unknown, c: unknown) => unknown)(prompt, p, () => undefined);
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code).toBe("E_BAD_ARGUMENT");
    }
  });

  it("a finished generation lets the process exit; process.exit during one does not hang or crash", () => {
    const prelude = `
      const addon = require(${JSON.stringify(ADDON)});
      const p = ${JSON.stringify(params({}))};
      addon.loadModel(${JSON.stringify(nativeLoadOptions(FIXTURE))}).then((m) => {`;
    const finished = spawnSync(
      process.execPath,
      ["-e", `${prelude} m.generate(Int32Array.from([1, 2, 3]), { ...p, maxTokens: 8 }, (ev) => {
          if (ev.type !== "tokens") console.log("final " + ev.type + " " + ev.stats.stopReason);
        }); });`],
      { encoding: "utf8", timeout: 90_000 },
    );
    expect(finished.signal).toBeNull();
    expect(finished.status).toBe(0);
    expect(finished.stdout.trim()).toBe("final done length");

    const exiting = spawnSync(
      process.execPath,
      ["-e", `${prelude} m.generate(Int32Array.from([1, 2, 3]), { ...p, maxTokens: 1e9 }, (ev) => {
          if (ev.type === "tokens") { console.log("exiting"); process.exit(7); }
        }); });`],
      { encoding: "utf8", timeout: 90_000 },
    );
    expect(exiting.signal).toBeNull();
    expect(exiting.status).toBe(7);
    expect(exiting.stdout.trim()).toBe("exiting");
  });

  it("generations on two models run at the same time and both match mlx-lm", async () => {
    const other = await addon.loadModel(nativeLoadOptions(join(FIXTURE, "bf16")));
    try {
      const [a, b] = await Promise.all([
        run(model, ref.short.prompt, params({ maxTokens: 32 })),
        run(other, ref.bf16.prompt, params({ maxTokens: 32 })),
      ]);
      expect(a.tokens).toEqual(ref.short.tokens);
      expect(b.tokens).toEqual(ref.bf16.tokens);
    } finally {
      other.dispose();
    }
  });

  it.skipIf(process.platform !== "linux")("many generations do not leave threads behind", async () => {
    const threads = (): number => readdirSync("/proc/self/task").length;
    await run(model, ref.short.prompt, params({ maxTokens: 2 }));
    const before = threads();
    for (let i = 0; i < 40; i++) await run(model, ref.short.prompt, params({ maxTokens: 2 }));
    expect(threads()).toBeLessThanOrEqual(before + 1);
  });

  it("batches tokens into fewer events when the JS thread is busy", async () => {
    const r = await run(model, ref.short.prompt, params({ maxTokens: 200 }), () => {
      const until = Date.now() + 20;
      while (Date.now() < until) {
        /* keep the JS thread busy so ids pile up */
      }
    });
    expect(r.tokens).toHaveLength(200);
    expect(r.tokens.slice(0, 32)).toEqual(ref.short.tokens);
    expect(r.tokenEvents).toBeLessThan(200);
  });
});
