// Custom kernels against MLX's own path on this device (run where MLX has a GPU backend).
//   node bench/kernels.mjs [--lengths 1024,4096,16384,32768] [--dtype bfloat16] [--iters 50] [--rounds 3]
//                          [--models DIR,DIR] [--gen 32] [--runs 3] [--save-table]
// 1. Per shape (Qwen3 0.6B/4B-8B/14B and Llama 3 attention, head_dim 128 and 64) and KV length:
//    microseconds per decode_attention call, SDPA vs ours (calls queued back to back, one host sync per
//    timing), median (min–max) over --rounds timings, and the max abs error against SDPA.
// 2. With --models: decode tok/s end to end with the kernel off and on (trials alternate), after a
//    prompt of each KV length (random ids, greedy, EOS off), median (min–max) over --runs.
// --save-table writes the dispatch table %kernels uses on this device (kernel/engine/kernels.ts).
// Prints a markdown table; JSON (every row with backend, device, model, command) to bench/results/kernels.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fmt, summarize } from "./lib/stats.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : args[i + 1];
};
const opts = {
  lengths: flag("lengths", "1024,4096,16384,32768").split(",").map(Number),
  dtype: flag("dtype", "bfloat16"),
  iters: Number(flag("iters", "50")),
  rounds: Number(flag("rounds", "3")),
  models: flag("models", "") ? flag("models", "").split(",") : [],
  gen: Number(flag("gen", "32")),
  runs: Number(flag("runs", "3")),
  save: args.includes("--save-table"),
};
const command = `node bench/kernels.mjs ${args.join(" ")}`.trim();
const { loadNative, reconfigureKernels } = await import(join(root, "dist", "kernel", "engine", "native.js"));
const kernels = await import(join(root, "dist", "kernel", "engine", "kernels.js"));
const { nativeLoadOptions } = await import(join(root, "dist", "kernel", "engine", "checkpoint.js"));
const addon = loadNative();
const rt = addon.runtime();
const status = addon.kernelsStatus()[0];
if (!status.available) {
  console.log(`bench/kernels: nothing to measure on this machine (backend ${rt.backend}): ${status.reason}.`);
  process.exit(0);
}
const where = { backend: rt.backend, device: rt.deviceName || rt.device, mlxVersion: rt.mlxVersion };

// 1. microbench
const micro = [];
for (const s of kernels.BENCH_SHAPES) {
  for (const kvLen of opts.lengths) {
    const trials = [];
    for (let r = 0; r < opts.rounds; r++) trials.push(await addon.kernelsBench({ dtype: opts.dtype, headDim: s.headDim, nHeads: s.nHeads, nKvHeads: s.nKvHeads, kvLen, batch: 1, iters: opts.iters }));
    const sdpa = summarize(trials.map((t) => t.sdpaUs)), ours = summarize(trials.map((t) => t.customUs));
    const row = { ...where, kernel: "decode_attention", shape: s.label, dtype: opts.dtype, headDim: s.headDim, nHeads: s.nHeads, nKvHeads: s.nKvHeads, kvLen, batch: 1,
      sdpaUs: sdpa.median, customUs: ours.median, sdpa, ours, speedup: sdpa.median / ours.median, maxError: Math.max(...trials.map((t) => t.maxError)), command };
    micro.push(row);
    console.error(`${s.label} KV ${kvLen}: SDPA ${fmt(sdpa)} µs, ours ${fmt(ours)} µs, ${row.speedup.toFixed(2)}×`);
  }
}

// 2. end to end (kernel/engine/kernels.ts benchKernelsEndToEnd: alternating off/on trials after a warm-up per length)
const e2e = [];
for (const m of opts.models) {
  const model = await addon.loadModel(nativeLoadOptions(resolve(m)));
  try {
    for (const r of await kernels.benchKernelsEndToEnd(addon, model, { lengths: opts.lengths, gen: opts.gen, runs: opts.runs })) {
      if (r.kernelCalls === 0) throw new Error(`${m} KV ${r.kvLen}: kernel on but no call went to it (${JSON.stringify(addon.kernelsStatus()[0])})`);
      const off = summarize(r.off), on = summarize(r.on);
      e2e.push({ ...where, model: m, kvLen: r.kvLen, gen: r.gen, decodeOff: off, decodeOn: on, speedup: on.median / off.median, command });
      console.error(`${m} KV ${r.kvLen}: decode off ${fmt(off)} tok/s, on ${fmt(on)} tok/s, ${(on.median / off.median).toFixed(2)}×`);
    }
  } finally {
    model.dispose();
  }
}

console.log(`\n### decode_attention vs SDPA (${where.backend}, ${where.device}, MLX ${where.mlxVersion}; \`${command}\`)\n`);
console.log("| shape | dtype | KV length | SDPA µs | ours µs | speed-up | max abs err |");
console.log("|---|---|---|---|---|---|---|");
for (const r of micro) console.log(`| ${r.shape} | ${r.dtype} | ${r.kvLen} | ${fmt(r.sdpa)} | ${fmt(r.ours)} | ${r.speedup.toFixed(2)}× | ${r.maxError.toExponential(1)} |`);
if (e2e.length) {
  console.log("\n| model | KV length | decode tok/s, kernel off | kernel on | on/off |");
  console.log("|---|---|---|---|---|");
  for (const r of e2e) console.log(`| ${r.model} | ${r.kvLen} | ${fmt(r.decodeOff)} | ${fmt(r.decodeOn)} | ${r.speedup.toFixed(2)}× |`);
}
if (opts.save) {
  const t = kernels.saveKernelTable(addon, micro.map((r) => ({ kernel: r.kernel, dtype: r.dtype, headDim: r.headDim, nHeads: r.nHeads, nKvHeads: r.nKvHeads, kvLen: r.kvLen, batch: 1, sdpaUs: r.sdpaUs, customUs: r.customUs, maxError: r.maxError })), command);
  reconfigureKernels();
  console.log(`\nSaved the dispatch table (${t.rules.filter((r) => r.use).length} of ${t.rules.length} ranges use ours): ${kernels.kernelTablePath(rt)}`);
}
mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(join(root, "bench", "results", "kernels.json"), JSON.stringify({ command, ...where, micro, e2e }, null, 2));
