#!/usr/bin/env node
// Kernels per decode token on CUDA, for issue 14 §4's "count kernels and syncs per token": run under
// Nsight Compute twice with the same prompt and different generation lengths; the difference in launched
// kernels (and in their summed GPU time) over the difference in tokens is the per-token figure.
//   ncu --csv --metrics gpu__time_duration.sum node bench/decode-kernels.mjs MODEL_DIR TOKENS > run.csv
//   node bench/decode-kernels.mjs --summarize short.csv long.csv TOKENS_SHORT TOKENS_LONG
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args[0] === "--summarize") {
  const [, a, b, na, nb] = args;
  const read = (f) => {
    // ncu's CSV: one row per kernel launch and metric; the last column is the value (ns here).
    const rows = readFileSync(f, "utf8").split("\n").filter((l) => l.includes("gpu__time_duration.sum"));
    const names = new Map();
    let ns = 0;
    for (const r of rows) {
      const cols = r.split('","').map((c) => c.replace(/^"|"$/g, ""));
      const v = Number(cols[cols.length - 1].replace(/,/g, ""));
      const unit = cols[cols.length - 2];
      ns += unit === "usecond" ? v * 1e3 : unit === "msecond" ? v * 1e6 : v;
      const k = cols.find((c) => /kernel|gemm|gemv|qmv|qmm|sdpa|fused|copy|reduce|arange|cudnn|cutlass/i.test(c)) ?? cols[4] ?? "?";
      names.set(k, (names.get(k) ?? 0) + 1);
    }
    return { launches: rows.length, ns, names };
  };
  const s = read(a), l = read(b), dt = Number(nb) - Number(na);
  const perTok = (l.launches - s.launches) / dt, usPerTok = (l.ns - s.ns) / dt / 1e3;
  console.log(JSON.stringify({ launchesShort: s.launches, launchesLong: l.launches, tokens: [Number(na), Number(nb)], kernelsPerToken: perTok, gpuBusyUsPerToken: usPerTok }));
  const diff = [...l.names].map(([k, n]) => [k, (n - (s.names.get(k) ?? 0)) / dt]).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]);
  for (const [k, n] of diff.slice(0, 25)) console.log(`${n.toFixed(1).padStart(7)}  ${String(k).slice(0, 140)}`);
} else {
  const [dir, tokens] = args;
  const { createEngine } = await import(new URL("../dist/kernel/engine/index.js", import.meta.url).href);
  const engine = createEngine();
  const m = await engine.load(dir, { as: "m" });
  // --repeat R: R more generations after the first, each printing its decode tok/s (a quick A/B of
  // MLX_TS_COMPILE=0/1 in one process each; the first pays the kernel compiles)
  const repeat = Number(args[args.indexOf("--repeat") + 1] ?? 0) || 0;
  for (let i = 0; i <= repeat; i++) {
    const t0 = performance.now();
    const r = await m.generate("The history of the decode step", { raw: true, maxTokens: Number(tokens), temperature: 0, reusePrefix: false, ignoreEos: true });
    console.error(`decode-kernels: ${r.tokens.length} tokens in ${(performance.now() - t0).toFixed(0)} ms, decode ${r.stats.generationTps.toFixed(1)} tok/s (MLX_TS_COMPILE=${process.env.MLX_TS_COMPILE ?? "1"})`);
  }
  engine.dispose();
}
