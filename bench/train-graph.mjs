#!/usr/bin/env node
// The LoRA training step's graph, ours against mlx-lm's, counted by primitive on the CPU (no timing):
// mlx-lm's trainer is faster than ours on a GPU where neither is compute-bound, so the number of kernels a
// step launches is the proxy we can measure anywhere. Three graphs per side (bench/lib/train-graph.mjs):
// `grads` (loss, ntoks and the adapter gradients), `step` (with the Adam update, uncompiled) and
// `compiled` (the step after mx.compile's simplification and fusion, what actually runs).
//
//   node bench/train-graph.mjs [--model DIR]... [--batch 4] [--seq 128] [--rank 8] [--layers 16] [--gpu-paths] [--all-names]
//
// --gpu-paths: both sides build the graph they build on a GPU, where the one device-dependent branch is the
// loss (mlx's nn.losses.cross_entropy and ours take mx.fast.cross_entropy there). On the CPU stream MLX expands
// that op into its unfused form, so the counts show the graphs' structure, not the GPU's fused kernel.
//
// Default models: test/.fixtures/models/qwen3-tiny-bf16 and llama-tiny-bf16, in their bf16. Per-primitive
// rows are printed where the counts differ (--all-names: every row); fused kernels are one row
// ("Compiled (fused)"). JSON (every name, fused kernels by their full names) in bench/results/train-graph.json
// (train-graph-gpu-paths.json with --gpu-paths), a row per backend, model and graph with its command.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GRAPHS, compareCounts, mlxLmGraphs, oursGraphs, total } from "./lib/train-graph.mjs";
import { jsonl } from "./lib/train-data.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = join(root, "bench", "results");

function parseArgs(argv) {
  const o = { models: [], batch: 4, seq: 128, rank: 8, scale: 20, layers: 16, gpuPaths: false, allNames: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--model") o.models.push(resolve(val()));
    else if (["--batch", "--seq", "--rank", "--layers"].includes(a)) o[a.slice(2)] = Number(val());
    else if (a === "--all-names") o.allNames = true;
    else if (a === "--gpu-paths") o.gpuPaths = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.models.length) o.models = ["qwen3-tiny-bf16", "llama-tiny-bf16"].map((m) => join(root, "test", ".fixtures", "models", m));
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { loadNative } = await import(join(root, "dist", "kernel", "engine", "native.js"));
  const addon = loadNative();
  addon.setDefaultDevice("cpu");
  const rt = addon.runtime();
  const { createEngine } = await import(join(root, "dist", "kernel", "engine", "index.js"));
  const { finetune } = await import(join(root, "dist", "kernel", "engine", "finetune.js"));
  const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-train-graph-"));
  const dataPath = join(tmp, "train.jsonl");
  writeFileSync(dataPath, jsonl(Math.max(8, o.batch), o.seq));
  const rows = [];
  let versions;
  const out = [];
  try {
    for (const modelDir of o.models) {
      const model = relative(root, modelDir) || modelDir;
      const engine = createEngine();
      let ours;
      try {
        const loaded = await engine.load(modelDir, { as: "graph" });
        ours = await oursGraphs(finetune, loaded, join(tmp, "ours"), { ...o, dataPath });
      } finally {
        engine.dispose();
      }
      const theirs = mlxLmGraphs(root, join(tmp, "mlxlm"), { ...o, model: modelDir }, ours.shape);
      versions = theirs.info;
      const paths = o.gpuPaths ? "gpu" : "cpu";
      const command = `node bench/train-graph.mjs --model ${model} --batch ${o.batch} --seq ${o.seq} --rank ${o.rank} --layers ${o.layers}${o.gpuPaths ? " --gpu-paths" : ""}`;
      out.push(`\n## ${model}: batch ${ours.shape.batch} × ${ours.shape.length} tokens, ${ours.shape.trainable} adapter arrays (mlx-lm: ${theirs.info.trainable}), the ${paths}'s code paths\n`);
      for (const graph of GRAPHS) {
        const a = ours.counts[graph], b = theirs.counts[graph];
        const cmp = compareCounts(a, b, true);
        out.push(`### ${graph}: ours ${total(a)}, mlx-lm ${total(b)} primitives (${total(a) - total(b) >= 0 ? "+" : ""}${total(a) - total(b)})\n`);
        out.push("| primitive | ours | mlx-lm | ours − mlx-lm |", "| --- | ---: | ---: | ---: |");
        for (const r of cmp.filter((r) => o.allNames || r.diff !== 0)) out.push(`| ${r.name} | ${r.ours} | ${r.mlxLm} | ${r.diff > 0 ? "+" : ""}${r.diff} |`);
        out.push(`| **total** | ${total(a)} | ${total(b)} | ${total(a) - total(b) > 0 ? "+" : ""}${total(a) - total(b)} |`, "");
        rows.push({ backend: "mlx-ts", device: "cpu", paths, model, graph, batch: ours.shape.batch, length: ours.shape.length, total: total(a), counts: a, command });
        rows.push({ backend: "mlx-lm", device: "cpu", paths, model, graph, batch: ours.shape.batch, length: ours.shape.length, total: total(b), counts: b, command: theirs.command });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${out.join("\n")}\nMLX ${rt.mlxVersion}, mlx-lm ${versions?.mlx_lm}; CPU graphs (nothing timed); ${new Date().toISOString()}\n`);
  const resultsFile = join(resultsDir, o.gpuPaths ? "train-graph-gpu-paths.json" : "train-graph.json");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify({ date: new Date().toISOString(), mlx: rt.mlxVersion, mlxLm: versions?.mlx_lm, rows }, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench/train-graph.mjs: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
