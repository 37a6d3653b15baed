#!/usr/bin/env node
// Two models generating at once (Promise.all over two models, each on its own native worker) against
// the same two generations one after the other: wall time, aggregate decode tok/s, and whether the
// tokens are the same. Greedy, fixed length (EOS ignored), no prefix reuse. Prints a markdown table and
// writes bench/results/concurrent-models.json; every row names backend, device, models and command.
//   node bench/concurrent-models.mjs [--models A,B] [--gen N] [--rounds R]
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const models = arg("models", `smollm2,${join(root, "test", ".fixtures", "models", "qwen3-tiny-bf16")}`).split(",");
const gen = Number(arg("gen", "32"));
const rounds = Number(arg("rounds", "3"));
const label = (m) => (m.includes("/") ? m.split("/").filter(Boolean).pop() : m);
const command = `node bench/concurrent-models.mjs ${process.argv.slice(2).join(" ")}`.trim();

const { createEngine } = await import(join(root, "dist", "kernel", "engine", "index.js"));
const engine = createEngine();
const rt = engine.runtime();
const loaded = [];
for (const [i, m] of models.entries()) loaded.push(await engine.load(m, { as: `m${i}` }));
const opts = { maxTokens: gen, ignoreEos: true, reusePrefix: false };
const prompt = "Write a long story about unified memory.";
const run = (m) => m.generate(prompt, opts);
await Promise.all(loaded.map(run)); // warm-up

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seq = [];
const par = [];
let same = true;
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  const one = [];
  for (const m of loaded) one.push(await run(m));
  seq.push(performance.now() - t);
  t = performance.now();
  const both = await Promise.all(loaded.map(run));
  par.push(performance.now() - t);
  same &&= both.every((b, i) => JSON.stringify(b.tokens) === JSON.stringify(one[i].tokens));
}
const tokens = gen * loaded.length;
const rows = [
  { mode: "one at a time", wallMs: median(seq), minMs: Math.min(...seq), maxMs: Math.max(...seq) },
  { mode: "at once (Promise.all)", wallMs: median(par), minMs: Math.min(...par), maxMs: Math.max(...par) },
].map((r) => ({ ...r, tokPerSec: tokens / (r.wallMs / 1000), backend: rt.backend, device: rt.device, mlx: rt.mlxVersion, models: models.map(label).join(" + "), gen, rounds, command }));
console.log(`| backend | device | models | tokens each | mode | wall ms median (min–max) | tok/s (both) | same tokens |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.backend} | ${r.device} | ${r.models} | ${gen} | ${r.mode} | ${r.wallMs.toFixed(0)} (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)}) | ${r.tokPerSec.toFixed(1)} | ${same} |`);
mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(join(root, "bench", "results", "concurrent-models.json"), JSON.stringify({ date: new Date().toISOString(), sameTokens: same, rows }, null, 2) + "\n");
engine.dispose();
process.exit(same ? 0 : 1);
