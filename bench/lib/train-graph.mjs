// The LoRA training step's graph, ours against mlx-lm's, counted by primitive (bench/train-graph.mjs and
// test/integration/train-graph.test.ts). Both sides write MLX's export_to_dot of the same step on the same
// checkpoint and batch shape: ours through MLX_TS_TRAIN_GRAPH (native/src/train/trainer.cpp) on a one-step
// finetune(), mlx-lm's through bench/train_graph_mlxlm.py. Nothing here times anything: on a GPU the step is
// bound by kernel launches, and the primitives (after compile's fusion) are what launches kernels.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The graphs each side writes: loss and grads; the whole step with Adam, uncompiled; the same after mx.compile. */
export const GRAPHS = ["grads", "step", "compiled"];

/** Primitive name -> nodes in a DOT file from mx.export_to_dot (one node per primitive, inputs and outputs not counted). */
export function countPrimitives(dot) {
  const counts = {};
  for (const m of dot.matchAll(/\[label ="([^"]*)", shape=rectangle\]/g)) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  return counts;
}

export function total(counts) {
  return Object.values(counts).reduce((s, n) => s + n, 0);
}

/** Fused kernels from compile are named "Compiled" + their ops; a table keeps them as one row. */
export function byName(counts, foldCompiled = false) {
  if (!foldCompiled) return counts;
  const out = {};
  for (const [k, n] of Object.entries(counts)) {
    const key = k.startsWith("Compiled") ? "Compiled (fused)" : k;
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

function readCounts(prefix) {
  return Object.fromEntries(GRAPHS.map((g) => [g, countPrimitives(readFileSync(`${prefix}.${g}.dot`, "utf8"))]));
}

function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  const restore = () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  return fn().finally(restore);
}

/**
 * Ours: one step of `finetune` (the engine's, from dist/ or kernel/) with MLX_TS_TRAIN_GRAPH set. `o.gpuPaths`:
 * the loss takes its GPU branch (MLX_TS_TRAIN_FAST_CE=1), as mlx-lm's does with --gpu-paths.
 */
export async function oursGraphs(finetune, model, prefix, o) {
  const env = { MLX_TS_TRAIN_GRAPH: prefix, ...(o.gpuPaths ? { MLX_TS_TRAIN_FAST_CE: "1" } : {}) };
  await withEnv(env, () =>
    finetune(model, { dataPath: o.dataPath, rank: o.rank, scale: o.scale, layers: o.layers, iters: 1, batchSize: o.batch, learningRate: 1e-5, maxSeqLength: 2048 }));
  const shape = JSON.parse(readFileSync(`${prefix}.json`, "utf8"));
  return { shape, counts: readCounts(prefix) };
}

/** mlx-lm's: the Python helper on the batch shape ours trained on. */
export function mlxLmGraphs(root, prefix, o, shape) {
  const python = join(root, ".venv", "bin", "python");
  const args = [join(root, "bench", "train_graph_mlxlm.py"), "--model", o.model, "--out", prefix, "--device", "cpu", "--batch", String(shape.batch),
    "--length", String(shape.length), "--rank", String(o.rank), "--scale", String(o.scale), "--num-layers", String(o.layers), ...(o.gpuPaths ? ["--gpu-paths"] : [])];
  const out = execFileSync(python, args, { cwd: root, encoding: "utf8", maxBuffer: 16 << 20, stdio: ["ignore", "pipe", "pipe"] });
  const info = JSON.parse(out.trim().split("\n").pop());
  return { info, counts: readCounts(prefix), command: `.venv/bin/python bench/train_graph_mlxlm.py ${args.slice(1).join(" ")}` };
}

/** Rows of (primitive, ours, mlx-lm, ours - mlx-lm), differing ones first, then by mlx-lm's count. */
export function compareCounts(ours, theirs, foldCompiled = false) {
  const a = byName(ours, foldCompiled), b = byName(theirs, foldCompiled);
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const rows = names.map((name) => ({ name, ours: a[name] ?? 0, mlxLm: b[name] ?? 0 })).map((r) => ({ ...r, diff: r.ours - r.mlxLm }));
  return rows.sort((x, y) => (y.diff !== 0) - (x.diff !== 0) || y.mlxLm - x.mlxLm || y.ours - x.ours || x.name.localeCompare(y.name));
}
