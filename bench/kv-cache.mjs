#!/usr/bin/env node
// KV-cache kinds at a long context: the bf16 cache against the 8- and 4-bit quantized caches (kvBits,
// quantized from the first position) and a rotating cache (maxKvSize), on one model and one long prompt.
// Greedy, fixed length (EOS ignored), no prefix reuse, median of --rounds runs after one warm-up. Prints a
// markdown table and writes bench/results/kv-cache.json; every row names backend, device, model and command.
//   node bench/kv-cache.mjs [--model ID_OR_PATH] [--context N] [--gen N] [--rounds R] [--group-size G]
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const modelArg = arg("model", join(root, "test", ".fixtures", "models", "qwen3-tiny-bf16"));
const context = Number(arg("context", "1024"));
const gen = Number(arg("gen", "32"));
const rounds = Number(arg("rounds", "3"));
// The fixture's head dim is 32, so its cache quantizes in groups of 32 (mlx-lm's default 64 would not divide it).
const groupSize = Number(arg("group-size", "32"));
const command = `node bench/kv-cache.mjs ${process.argv.slice(2).join(" ")}`.trim();

const { createEngine } = await import(join(root, "dist", "kernel", "engine", "index.js"));
const engine = createEngine();
const rt = engine.runtime();
const model = await engine.load(modelArg, { as: "m" });
// A prompt of about `context` tokens: a sentence repeated, cut to length by the model's own tokenizer.
const sentence = "Unified memory lets the CPU and the GPU read the same buffers without copies, and the cache grows by one position per token. ";
// One tokenisation of the whole text, not one per added sentence (that is quadratic in the context).
const text = sentence.repeat(Math.ceil(context / model.tokenize(sentence).length) + 2);
const prompt = model.detokenize(model.tokenize(text).slice(0, context));

const kinds = [
  { kind: "bf16 (KVCache)", opts: {} },
  { kind: "8-bit (QuantizedKVCache)", opts: { kvBits: 8, kvGroupSize: groupSize, quantizedKvStart: 0 } },
  { kind: "4-bit (QuantizedKVCache)", opts: { kvBits: 4, kvGroupSize: groupSize, quantizedKvStart: 0 } },
  { kind: `rotating ${Math.floor(context / 4)} (RotatingKVCache)`, opts: { maxKvSize: Math.floor(context / 4) } },
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const k of kinds) {
  const run = () => model.generate(prompt, { raw: true, maxTokens: gen, ignoreEos: true, reusePrefix: false, ...k.opts });
  const about = { kind: k.kind, options: k.opts, backend: rt.backend, device: rt.deviceName || rt.device, model: modelArg, command };
  const rs = [];
  try {
    await run(); // warm-up
    for (let r = 0; r < rounds; r++) rs.push((await run()).stats);
  } catch (e) {
    // A kind this backend cannot run is a row saying why, and the others still run.
    rows.push({ ...about, error: String(e?.message ?? e) });
    continue;
  }
  rows.push({
    ...about,
    promptTokens: rs[0].promptTokens,
    generatedTokens: rs[0].generatedTokens,
    kvCacheBytes: median(rs.map((s) => s.kvCacheBytes)),
    promptTps: median(rs.map((s) => s.promptTps)),
    generationTps: median(rs.map((s) => s.generationTps)),
    peakMemory: median(rs.map((s) => s.peakMemory)),
  });
}
engine.dispose();

const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
console.log(`KV cache kinds: ${modelArg}, ${rows.find((r) => !r.error)?.promptTokens ?? "?"}-token prompt + ${gen} generated, median of ${rounds}; MLX ${rt.mlxVersion}, backend ${rt.backend}, device ${rt.deviceName || rt.device}`);
console.log(`command: ${command}\n`);
console.log("| cache | KV cache bytes | prompt tok/s | generation tok/s | peak memory |");
console.log("|---|---|---|---|---|");
for (const r of rows) if (r.error) console.log(`| ${r.kind} | failed: ${r.error.slice(0, 200)} | | | |`);
else console.log(`| ${r.kind} | ${mb(r.kvCacheBytes)} | ${r.promptTps.toFixed(1)} | ${r.generationTps.toFixed(1)} | ${mb(r.peakMemory)} |`);
const out = join(root, "bench", "results", "kv-cache.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
console.log(`\n${JSON.stringify(rows)}`);
