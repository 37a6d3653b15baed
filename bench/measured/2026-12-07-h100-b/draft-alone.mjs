// Run on the device from the checkout root with MLX_TS_SMOLLM2 pointing at SmolLM2-135M-Instruct.Q4_1.gguf
// (an ad-hoc script, kept with what it printed, its paths made relative; bench/speculative.mjs now has a draft-alone row).
import { createEngine } from "../../../dist/kernel/engine/index.js";
const e = createEngine();
const t = await e.load("smollm2", { as: "t" });
const p = "Write a short story about a lighthouse keeper.";
const o = { maxTokens: 64, ignoreEos: true, reusePrefix: false };
for (const bits of [3, 4, 8]) {
  const d = await e.load("smollm2", { as: "d" + bits });
  await d.quantize({ bits, groupSize: 64 });
  await d.generate(p, { maxTokens: 4 });
  const r = await d.generate(p, o); const r2 = await d.generate(p, o);
  console.log(`draft ${bits}-bit alone: ${r.stats.generationTps.toFixed(1)} / ${r2.stats.generationTps.toFixed(1)} tok/s`);
  const s = await t.generate(p, { ...o, draft: "d" + bits, numDraft: 3 });
  const s2 = await t.generate(p, { ...o, draft: "d" + bits, numDraft: 3 });
  const pl = await t.generate(p, o);
  console.log(`target alone ${pl.stats.generationTps.toFixed(1)}; with ${bits}-bit draft K=3: ${s.stats.generationTps.toFixed(1)} / ${s2.stats.generationTps.toFixed(1)} tok/s, acceptance ${s2.stats.acceptanceRate.toFixed(3)}, same ${s2.tokens.join()===pl.tokens.join()}, first diff at ${s2.tokens.findIndex((x,i)=>x!==pl.tokens[i])}`);
}
console.log(JSON.stringify(e.runtime()));
e.dispose();
