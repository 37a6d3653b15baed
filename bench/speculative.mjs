#!/usr/bin/env node
// Speculative decoding: decode tok/s of a target alone and with a draft (a copy of the target quantized
// to fewer bits by the engine), greedy, same prompt, fixed length (EOS ignored), on the current device.
//
//   node bench/speculative.mjs [--target smollm2] [--draft-bits 3] [--num-draft 2,3] [--tokens 48] [--runs 1]
//                              [--prompt TEXT] [--out bench/results/speculative.json]
//
// Prints a markdown table and writes JSON naming backend, device, model and the command. The speculative
// rows also check that their tokens equal the plain run's (greedy must not change the output).
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine } from "../dist/kernel/engine/index.js";
import { fmt, summarize } from "./lib/stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const o = { target: "smollm2", draftBits: 3, numDraft: [2, 3], tokens: 48, runs: 1, prompt: "Write a short story about a lighthouse keeper.", out: join(root, "bench", "results", "speculative.json") };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => {
    const x = process.argv[++i];
    if (x === undefined) throw new Error(`${a} needs a value`);
    return x;
  };
  if (a === "--target") o.target = v();
  else if (a === "--draft-bits") o.draftBits = Number(v());
  else if (a === "--num-draft") o.numDraft = v().split(",").map(Number);
  else if (a === "--tokens") o.tokens = Number(v());
  else if (a === "--runs") o.runs = Number(v());
  else if (a === "--prompt") o.prompt = v();
  else if (a === "--out") o.out = resolve(v());
  else throw new Error(`unknown argument ${a}`);
}

const t0 = Date.now();
const say = (what) => console.error(`speculative: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const engine = createEngine();
const target = await engine.load(o.target, { as: "target" });
const draft = await engine.load(o.target, { as: "draft" });
await draft.quantize({ bits: o.draftBits, groupSize: 64 });
const rt = engine.runtime();
const opts = { maxTokens: o.tokens, ignoreEos: true, reusePrefix: false };
say("loaded and quantized");
await target.generate(o.prompt, { maxTokens: 4 }); // warm-up (first-use allocations)
say("warm");

async function measure(extra) {
  const runs = [];
  for (let r = 0; r < o.runs; r++) runs.push(await target.generate(o.prompt, { ...opts, ...extra }));
  return runs;
}
const rows = [];
const plain = await measure({});
rows.push({ config: "target alone", tokps: summarize(plain.map((r) => r.stats.generationTps)), acceptance: null, tokensPerTargetStep: null, sameTokens: true });
// The draft's own speed bounds the gain: a round of K drafted tokens costs K draft steps plus one target step.
const draftRuns = [];
for (let r = 0; r < o.runs; r++) draftRuns.push(await draft.generate(o.prompt, opts));
rows.push({ config: `${o.draftBits}-bit draft alone`, tokps: summarize(draftRuns.map((r) => r.stats.generationTps)), acceptance: null, tokensPerTargetStep: null, sameTokens: null });
for (const k of o.numDraft) {
  const spec = await measure({ draft: "draft", numDraft: k });
  rows.push({
    config: `+ ${o.draftBits}-bit draft, K=${k}`,
    tokps: summarize(spec.map((r) => r.stats.generationTps)),
    acceptance: summarize(spec.map((r) => r.stats.acceptanceRate)),
    tokensPerTargetStep: summarize(spec.map((r) => r.stats.tokensPerTargetStep)),
    sameTokens: spec.every((r) => r.tokens.join() === plain[0].tokens.join()),
  });
}
engine.dispose();

const command = `node bench/speculative.mjs ${process.argv.slice(2).join(" ")}`.trim();
const result = {
  started: new Date().toISOString(), command, backend: rt.backend, device: rt.device, deviceName: rt.deviceName ?? null, mlxVersion: rt.mlxVersion,
  model: o.target, draft: `${o.target} quantized to ${o.draftBits} bits (group 64) by the engine`, tokens: o.tokens, runs: o.runs, prompt: o.prompt,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", loadavg: loadavg() }, rows,
};
mkdirSync(dirname(o.out), { recursive: true });
writeFileSync(o.out, JSON.stringify(result, null, 2) + "\n");
console.log(`Speculative decoding, ${o.target}, ${rt.backend}/${rt.device}, ${o.tokens} tokens greedy, ${o.runs} run(s): \`${command}\`\n`);
console.log("| config | decode tok/s | acceptance | tokens/target step | same tokens |\n|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.config} | ${fmt(r.tokps, 2)} | ${r.acceptance ? fmt(r.acceptance, 3) : "–"} | ${r.tokensPerTargetStep ? fmt(r.tokensPerTargetStep, 2) : "–"} | ${r.sameTokens === null ? "–" : r.sameTokens ? "yes" : "NO"} |`);
console.log(`\nJSON: ${o.out}`);
