// 1 vs 2 ranks (MLX distributed, ring backend on loopback, tensor and pipeline parallel) on one model: tok/s
// and each rank's memory. One trial per setting unless --trials N. Prints a markdown table and writes
// bench/results/shards.json naming backend, device, model and the command.
//   node bench/shards.mjs [--model DIR] [--prompt-tokens N] [--gen N] [--trials N] [--dtype float32] [--modes tensor,pipeline]
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createEngine } from "../dist/kernel/engine/index.js";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const model = resolve(arg("model", "test/.fixtures/models/qwen3-tiny-4bit"));
const gen = Number(arg("gen", "64"));
const promptTokens = Number(arg("prompt-tokens", "128"));
const trials = Number(arg("trials", "1"));
const dtype = arg("dtype", undefined);
const modes = arg("modes", "tensor,pipeline").split(",");
const engine = createEngine();
const rows = [];
for (const [shards, mode] of [[1, "-"], ...modes.map((m) => [2, m])]) {
  const m = await engine.load(model, { as: `s${shards}`, ...(dtype ? { dtype } : {}), ...(shards > 1 ? { shards, mode } : {}) });
  const words = Array.from({ length: promptTokens }, (_, i) => `w${i}`).join(" ");
  const ids = m.tokenize(words).slice(0, promptTokens);
  const prompt = m.detokenize(ids);
  for (let t = 0; t < trials; t++) {
    const r = await m.generate(prompt, { maxTokens: gen, temperature: 0, ignoreEos: true, raw: true });
    const info = m.info();
    const ranks = r.stats.ranks ?? [{ rank: 0, pid: process.pid, weightBytes: info.weightBytes, activeMemory: engine.memory().active, peakMemory: r.stats.peakMemory }];
    rows.push({ shards, mode, trial: t + 1, promptTokens: r.stats.promptTokens, generatedTokens: r.stats.generatedTokens, promptTps: r.stats.promptTps, generationTps: r.stats.generationTps, ranks });
  }
  engine.unload(`s${shards}`);
}
const rt = engine.runtime();
const mb = (n) => (n / 1e6).toFixed(1);
console.log(`| ranks | mode | trial | prompt tok | gen tok | prompt tok/s | gen tok/s | per-rank weights MB | per-rank peak MB |`);
console.log(`|---|---|---|---|---|---|---|---|---|`);
for (const r of rows)
  console.log(`| ${r.shards} | ${r.mode} | ${r.trial} | ${r.promptTokens} | ${r.generatedTokens} | ${r.promptTps.toFixed(1)} | ${r.generationTps.toFixed(1)} | ${r.ranks.map((x) => mb(x.weightBytes)).join(" / ")} | ${r.ranks.map((x) => mb(x.peakMemory)).join(" / ")} |`);
const out = {
  bench: "shards", date: new Date().toISOString(), command: `node ${process.argv.slice(1).join(" ")}`,
  backend: "ring (loopback)", mlxBackend: rt.backend, device: rt.device, deviceName: rt.deviceName, mlxVersion: rt.mlxVersion,
  model, dtype: dtype ?? "as stored", rows,
};
mkdirSync("bench/results", { recursive: true });
writeFileSync(join("bench/results", "shards.json"), JSON.stringify(out, null, 2));
engine.dispose();
