#!/usr/bin/env node
// Batched generation: aggregate decode tok/s at several batch sizes, ours (session.generateBatch's engine
// path, native/src/batch_loop.cpp) beside mlx-lm's batch_generate on the same checkpoint and prompt ids,
// greedy, fixed length (EOS ignored on both sides), on the chosen device.
//
//   node bench/batch.mjs [--model PATH] [--device cpu|gpu] [--sizes 1,4,16] [--with-64] [--prompt-words N]
//                        [--gen N] [--skip-mlxlm] [--same-prompt] [--kv-bits 4|8] [--kv-group-size 64]
//                        [--max-kv-size N] [--runs N]
// --runs N times each batch size N times after its warm-up and reports the median (default 1).
//                        [--out bench/results/batch.json]
// --kv-bits quantizes every row's KV cache from its first position (quantizedKvStart 0); --max-kv-size gives
// every row a rotating cache of that many positions. mlx-lm's batch_generate has neither, so its rows are
// full precision whatever these say.
//
// Ours: aggregate = every row's generated tokens / (the last row's last token − the first row's first
// token), from the rows' own stats (ttftMs, decodeMs). mlx-lm: its BatchStats.generation_tps. Every row of
// the table and the JSON names backend, device, model and the command.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine } from "../dist/kernel/engine/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const o = {
  model: join(root, "test", ".fixtures", "models", "qwen3-tiny-bf16"), device: "cpu", sizes: [1, 4, 16], promptWords: 24, gen: 32,
  mlxlm: true, out: join(root, "bench", "results", "batch.json"),
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => {
    const x = process.argv[++i];
    if (x === undefined) throw new Error(`${a} needs a value`);
    return x;
  };
  if (a === "--model") o.model = resolve(v());
  else if (a === "--device") o.device = v();
  else if (a === "--sizes") o.sizes = v().split(",").map(Number);
  else if (a === "--with-64") o.sizes = [...new Set([...o.sizes, 64])];
  else if (a === "--prompt-words") o.promptWords = Number(v());
  else if (a === "--gen") o.gen = Number(v());
  else if (a === "--skip-mlxlm") o.mlxlm = false;
  else if (a === "--same-prompt") o.samePrompt = true;
  else if (a === "--runs") o.runs = Number(v());
  else if (a === "--kv-bits") o.kvBits = Number(v());
  else if (a === "--kv-group-size") o.kvGroupSize = Number(v());
  else if (a === "--max-kv-size") o.maxKvSize = Number(v());
  else if (a === "--out") o.out = resolve(v());
  else throw new Error(`unknown argument ${a} (see the header of bench/batch.mjs)`);
}
if (o.device !== "cpu" && o.device !== "gpu") throw new Error(`--device must be cpu or gpu, got ${o.device}`);
if (o.sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`--sizes must be positive integers, got ${o.sizes.join(",")}`);

const envSet = ["MLX_TS_KERNELS", "MLX_TS_KV_ATTENTION"].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]} `).join("");
const command = `${envSet}node bench/batch.mjs ${process.argv.slice(2).join(" ")}`.trim();
const python = join(root, ".venv", "bin", "python");
const MLX_LM = String.raw`
import json, sys
import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import batch_generate
inp = json.loads(sys.argv[1])
mx.set_default_device(mx.gpu if inp["device"] == "gpu" else mx.cpu)
model, tok = load(inp["model"])
tok._eos_token_ids = set()  # fixed length, as ignoreEos on our side
out = []
for prompts in inp["batches"]:
    batch_generate(model, tok, prompts, max_tokens=4)  # warm-up at this batch size
    r = batch_generate(model, tok, prompts, max_tokens=inp["gen"], return_token_ids=True)
    out.append({"rows": len(prompts), "generationTps": r.stats.generation_tps, "promptTps": r.stats.prompt_tps,
                "generated": sum(len(t) for t in r.token_ids), "peakGB": r.stats.peak_memory})
print(json.dumps(out))
`;

const engine = createEngine();
if (o.device === "gpu") engine.setDevice("gpu");
const model = await engine.load(o.model, { as: "bench" });
const rt = engine.runtime();
const words = "the of and a to in is you that it he was for on are as with his they at be this have from or one had by".split(" ");
// --same-prompt: every row gets row 0's text, so no row is padded and attention runs without a mask.
const promptFor = (row) => {
  const i = o.samePrompt ? 0 : row;
  return `Row ${i}: ` + Array.from({ length: o.promptWords }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ");
};
const opts = {
  maxTokens: o.gen, raw: true, ignoreEos: true,
  ...(o.kvBits !== undefined ? { kvBits: o.kvBits, kvGroupSize: o.kvGroupSize ?? 64, quantizedKvStart: 0 } : {}), ...(o.maxKvSize !== undefined ? { maxKvSize: o.maxKvSize } : {}),
};

const rows = [];
const idBatches = [];
for (const size of o.sizes) {
  const prompts = Array.from({ length: size }, (_, i) => promptFor(i));
  await model.generateBatch(prompts, { ...opts, maxTokens: 4 }); // warm-up at this batch size
  const trials = [];
  let rs, wallMs;
  for (let t = 0; t < (o.runs ?? 1); t++) {
    const t0 = performance.now();
    rs = await model.generateBatch(prompts, opts);
    wallMs = performance.now() - t0;
    const first = Math.min(...rs.map((r) => r.stats.ttftMs));
    const last = Math.max(...rs.map((r) => r.stats.ttftMs + r.stats.decodeMs));
    trials.push(rs.reduce((n, r) => n + r.stats.generatedTokens, 0) / ((last - first) / 1000));
  }
  const generated = rs.reduce((n, r) => n + r.stats.generatedTokens, 0);
  const sorted = [...trials].sort((a, b) => a - b);
  rows.push({
    engine: "mlx-ts", rows: size, generated, decodeTps: sorted[Math.floor(sorted.length / 2)], trials, wallMs,
    batchSize: Math.max(...rs.map((r) => r.stats.maxBatchSize ?? 0)), peakMB: Math.max(...rs.map((r) => r.stats.peakMemory)) / 1e6,
    kvBits: o.kvBits ?? null, maxKvSize: o.maxKvSize ?? null, kvCacheMB: Math.max(...rs.map((r) => r.stats.batchKvCacheBytes ?? 0)) / 1e6,
  });
  idBatches.push(rs.map((r) => r.promptTokens));
}
engine.dispose();

if (o.mlxlm) {
  const ref = JSON.parse(execFileSync(python, ["-c", MLX_LM, JSON.stringify({ model: o.model, device: o.device, gen: o.gen, batches: idBatches })], {
    encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"],
  }).trim().split("\n").pop());
  for (const r of ref) rows.push({ engine: "mlx-lm", rows: r.rows, generated: r.generated, decodeTps: r.generationTps, wallMs: null, batchSize: r.rows, peakMB: r.peakGB * 1000 });
}

const base = { backend: rt.backend, device: rt.device, deviceName: rt.deviceName ?? null, model: o.model, command };
const result = {
  started: new Date().toISOString(), ...base, mlxVersion: rt.mlxVersion, gen: o.gen, promptWords: o.promptWords,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", loadavg: loadavg() },
  rows: rows.map((r) => ({ ...base, ...r })),
};
mkdirSync(dirname(o.out), { recursive: true });
writeFileSync(o.out, JSON.stringify(result, null, 2) + "\n");
console.log(`Batched generation, ${o.gen} tokens per row greedy (EOS ignored), ${(o.runs ?? 1) > 1 ? `median of ${o.runs} trials` : "one trial"}: \`${command}\`\n`);
console.log("| engine | backend | device | model | KV cache | rows | aggregate decode tok/s | × batch 1 | ms per step | KV cache MB | peak MB | command |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const one = rows.find((x) => x.engine === r.engine && x.rows === 1);
  const x = one ? (r.decodeTps / one.decodeTps).toFixed(2) : "–";
  const kv = r.engine !== "mlx-ts" ? "full" : r.kvBits ? `${r.kvBits}-bit` : r.maxKvSize ? `rotating ${r.maxKvSize}` : "full";
  const kvMB = r.kvCacheMB === undefined ? "–" : r.kvCacheMB.toFixed(1);
  console.log(`| ${r.engine} | ${rt.backend} | ${rt.device} | ${o.model.replace(root + "/", "")} | ${kv} | ${r.rows} | ${r.decodeTps.toFixed(1)} | ${x} | ${((r.rows * 1000) / r.decodeTps).toFixed(2)} | ${kvMB} | ${r.peakMB.toFixed(0)} | \`${command}\` |`);
}
console.log(`\nJSON: ${o.out}`);
console.log(JSON.stringify(result));
