#!/usr/bin/env node
// Kernels per decode token on CUDA, for issue 14 §4's "count kernels and syncs per token": run under
// Nsight Compute twice with the same prompt and different generation lengths; the difference in launched
// kernels (and in their summed GPU time) over the difference in tokens is the per-token figure.
//   ncu --csv --metrics gpu__time_duration.sum node bench/decode-kernels.mjs MODEL_DIR TOKENS [--batch ROWS] > run.csv
//   node bench/decode-kernels.mjs --summarize short.csv long.csv TOKENS_SHORT TOKENS_LONG
// --batch ROWS decodes ROWS different prompts as one batch (generateBatch): the figures are then per batched step.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args[0] === "--summarize") {
  const [, a, b, na, nb] = args;
  const read = (f) => {
    // ncu's CSV: one row per kernel launch and metric; the last column is the value (ns here).
    const rows = readFileSync(f, "utf8").split("\n").filter((l) => l.includes("gpu__time_duration.sum"));
    const names = new Map(); // kernel name -> { n: launches, ns: summed GPU time }
    let ns = 0;
    for (const r of rows) {
      const cols = r.split('","').map((c) => c.replace(/^"|"$/g, ""));
      const v = Number(cols[cols.length - 1].replace(/,/g, ""));
      const unit = cols[cols.length - 2];
      const t = unit === "usecond" ? v * 1e3 : unit === "msecond" ? v * 1e6 : v;
      ns += t;
      const k = cols.find((c) => /kernel|gemm|gemv|qmv|qmm|sdpa|fused|copy|reduce|arange|cudnn|cutlass/i.test(c)) ?? cols[4] ?? "?";
      const e = names.get(k) ?? { n: 0, ns: 0 };
      names.set(k, { n: e.n + 1, ns: e.ns + t });
    }
    return { launches: rows.length, ns, names };
  };
  const s = read(a), l = read(b), dt = Number(nb) - Number(na);
  const perTok = (l.launches - s.launches) / dt, usPerTok = (l.ns - s.ns) / dt / 1e3;
  console.log(JSON.stringify({ launchesShort: s.launches, launchesLong: l.launches, tokens: [Number(na), Number(nb)], kernelsPerToken: perTok, gpuBusyUsPerToken: usPerTok }));
  // Per token (or batched step): launches and microseconds of each kernel, the most time first.
  const diff = [...l.names]
    .map(([k, e]) => [k, (e.n - (s.names.get(k)?.n ?? 0)) / dt, (e.ns - (s.names.get(k)?.ns ?? 0)) / dt / 1e3])
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[2] - x[2]);
  console.log("launches/token  us/token  kernel");
  for (const [k, n, us] of diff.slice(0, 30)) console.log(`${n.toFixed(1).padStart(14)}  ${us.toFixed(1).padStart(8)}  ${String(k).slice(0, 140)}`);
} else {
  const [dir, tokens] = args;
  const { createEngine } = await import(new URL("../dist/kernel/engine/index.js", import.meta.url).href);
  const engine = createEngine();
  const m = await engine.load(dir, { as: "m" });
  // --repeat R: R more generations after the first, each printing its decode tok/s (a quick A/B of
  // MLX_TS_COMPILE=0/1 in one process each; the first pays the kernel compiles)
  const repeat = Number(args[args.indexOf("--repeat") + 1] ?? 0) || 0;
  const rows = args.includes("--batch") ? Number(args[args.indexOf("--batch") + 1]) : 0;
  for (let i = 0; i <= repeat; i++) {
    const t0 = performance.now();
    const o = { raw: true, maxTokens: Number(tokens), temperature: 0, reusePrefix: false, ignoreEos: true };
    if (rows > 0) {
      // Short distinct prompts, so the rows' prefills (the same in both runs) add few kernels under ncu.
      const words = "the of and a to in is you that it he was for on are as with his they at be this have from or one had by".split(" ");
      const rs = await m.generateBatch(Array.from({ length: rows }, (_, k) => `${words[k % words.length]} ${words[(k * 7 + 3) % words.length]}`), o);
      console.error(`decode-kernels: ${rows} rows x ${rs[0].tokens.length} tokens in ${(performance.now() - t0).toFixed(0)} ms`);
      continue;
    }
    const r = await m.generate("The history of the decode step", o);
    console.error(`decode-kernels: ${r.tokens.length} tokens in ${(performance.now() - t0).toFixed(0)} ms, decode ${r.stats.generationTps.toFixed(1)} tok/s (MLX_TS_COMPILE=${process.env.MLX_TS_COMPILE ?? "1"})`);
  }
  engine.dispose();
}
