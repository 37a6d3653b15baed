// Run on the device from the checkout root (an ad-hoc script, kept with what it printed, its paths made relative).
import { createEngine } from "../../../dist/kernel/engine/index.js";
const e = createEngine();
const m = await e.load("test/.fixtures/models/qwen3-0.6b-shape-bf16", { as: "m" });
const base = { maxTokens: 64, ignoreEos: true, reusePrefix: false };
const prompt = "The cache grows by one position per token. ".repeat(3600);
for (const [name, extra] of [["bf16", {}], ["4-bit from 32420", { kvBits: 4, kvGroupSize: 64, quantizedKvStart: 32420 }], ["8-bit from 32420", { kvBits: 8, kvGroupSize: 64, quantizedKvStart: 32420 }], ["bf16", {}], ["4-bit from 32420", { kvBits: 4, kvGroupSize: 64, quantizedKvStart: 32420 }], ["8-bit from 32420", { kvBits: 8, kvGroupSize: 64, quantizedKvStart: 32420 }]]) {
  try {
    const r = await m.generate(prompt, { ...base, ...extra });
    console.log(`${name}: prompt ${r.stats.promptTokens} decode ${r.stats.generationTps.toFixed(1)} tok/s, prefill ${r.stats.promptTps?.toFixed?.(0)} tok/s, kvCacheBytes ${r.stats.kvCacheBytes}, peak ${r.stats.peakMemory ?? r.stats.peakMemoryBytes}`);
  } catch (err) { console.log(`${name}: ${String(err.message).slice(0, 300)}`); }
}
e.dispose();
