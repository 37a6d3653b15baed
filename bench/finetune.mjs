#!/usr/bin/env node
// LoRA training throughput and peak memory: our %%finetune engine beside mlx-lm's trainer, same
// checkpoint, same JSONL (mlx-lm's load_dataset and our loader tokenise it alike, see
// test/parity/lora.test.ts), same LoRA settings, batch, learning rate and seed.
//
//   node bench/finetune.mjs [--model DIR] [--device cpu|gpu] [--iters 20] [--warmup 3] [--batch 4]
//                           [--seq 128] [--examples 64] [--rank 8] [--layers 16] [--runs 1] [--dtype float32|native]
//
// Defaults: --device cpu with the tiny fixture test/.fixtures/models/qwen3-tiny-bf16 in float32 (bfloat16
// matmuls are slow on MLX's CPU backend); --device gpu keeps the checkpoint's dtype. On the H200:
//   node bench/finetune.mjs --device gpu --model test/.fixtures/models/qwen3-0.6b-shape-bf16 --iters 50 --runs 3
//
// Ours runs in this process (dist/kernel/engine: finetune() and the native loop in native/src/train/);
// mlx-lm runs in a child process (bench/finetune_mlxlm.py: mlx_lm.lora's setup through
// mlx_lm.tuner.trainer.train, which compiles its step). tokens/s counts trained (unmasked) tokens over
// training time of the steps after --warmup; peak is MLX's peak memory over the run. With --runs R the
// two alternate which goes first. Table on stdout, JSON in bench/results/finetune.json.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { summarize } from "./lib/stats.mjs";
import { jsonl } from "./lib/train-data.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const python = join(root, ".venv", "bin", "python");
const resultsFile = join(root, "bench", "results", "finetune.json");

function parseArgs(argv) {
  const o = { model: join(root, "test", ".fixtures", "models", "qwen3-tiny-bf16"), device: "cpu", iters: 20, warmup: 3, batch: 4, seq: 128, examples: 64, rank: 8, layers: 16, runs: 1, dtype: undefined, lr: 1e-5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--model") o.model = resolve(val());
    else if (a === "--device") o.device = val();
    else if (a === "--dtype") o.dtype = val();
    else if (["--iters", "--warmup", "--batch", "--seq", "--examples", "--rank", "--layers", "--runs"].includes(a)) o[a.slice(2)] = Number(val());
    else if (a === "--lr") o.lr = Number(val());
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${readHeader()}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (o.device !== "cpu" && o.device !== "gpu") throw new Error(`--device must be cpu or gpu, not ${o.device}`);
  o.dtype ??= o.device === "cpu" ? "float32" : "native";
  if (o.dtype !== "float32" && o.dtype !== "native") throw new Error(`--dtype must be float32 or native, not ${o.dtype}`);
  if (!(o.warmup < o.iters)) throw new Error("--warmup must be below --iters");
  if (!existsSync(join(o.model, "config.json"))) throw new Error(`${o.model} has no config.json; give an MLX checkpoint directory with --model`);
  return o;
}

function readHeader() {
  return "node bench/finetune.mjs [--model DIR] [--device cpu|gpu] [--iters N] [--warmup N] [--batch B] [--seq TOKENS] [--examples N] [--rank R] [--layers N] [--runs R] [--dtype float32|native]";
}

/** tokens/s over the steps after the warm-up, from per-step tokens and seconds. */
function throughput(steps, warmup) {
  const timed = steps.slice(warmup);
  const tokens = timed.reduce((s, x) => s + x.tokens, 0);
  const seconds = timed.reduce((s, x) => s + x.seconds, 0);
  return { tokensPerSec: tokens / seconds, timedSteps: timed.length, timedTokens: tokens, seconds };
}

async function runOurs(o, dataDir, engineMod, finetuneMod) {
  const engine = engineMod.createEngine();
  try {
    const model = await engine.load(o.model, { as: "bench", ...(o.dtype === "float32" ? { dtype: "float32" } : {}) });
    const res = await finetuneMod.finetune(model, { dataPath: dataDir, rank: o.rank, scale: 20, layers: o.layers, iters: o.iters, batchSize: o.batch, learningRate: o.lr, maxSeqLength: 2048 });
    // per-step tokens and seconds from the cumulative counters the engine reports
    const steps = res.steps.map((s, i) => ({ tokens: s.tokens, seconds: s.elapsedS - (i ? res.steps[i - 1].elapsedS : 0), loss: s.loss, peak: s.peakMemory }));
    return { steps, peak: Math.max(...steps.map((s) => s.peak)), compiled: res.compiled, uncompiledReason: res.uncompiledReason };
  } finally {
    engine.dispose();
  }
}

function runMlxLm(o, dataDir) {
  const args = [join(root, "bench", "finetune_mlxlm.py"), "--model", o.model, "--data", dataDir, "--device", o.device, "--rank", String(o.rank), "--num-layers", String(o.layers),
    "--iters", String(o.iters), "--batch", String(o.batch), "--lr", String(o.lr), ...(o.dtype === "float32" ? ["--float32"] : [])];
  const out = execFileSync(python, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] });
  const r = JSON.parse(out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").trim().split("\n").pop());
  return { steps: r.steps, peak: Math.max(...r.steps.map((s) => s.peak)), versions: { mlx: r.mlx, mlxLm: r.mlx_lm, device: r.device } };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { loadNative } = await import(join(root, "dist", "kernel", "engine", "native.js"));
  const addon = loadNative();
  if (o.device === "gpu" && addon.runtime().backend === "cpu") throw new Error("--device gpu needs MLX with a GPU backend; this one has only the CPU.");
  addon.setDefaultDevice(o.device);
  const rt = addon.runtime();
  const engineMod = await import(join(root, "dist", "kernel", "engine", "index.js"));
  const finetuneMod = await import(join(root, "dist", "kernel", "engine", "finetune.js"));
  const tmp = mkdtempSync(join(root, "test", ".fixtures", "bench-finetune-"));
  const dataDir = join(tmp, "data");
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, "train.jsonl"), jsonl(o.examples, o.seq));
  const command = `node bench/finetune.mjs --model ${relative(root, o.model) || "."} --device ${o.device} --dtype ${o.dtype} --iters ${o.iters} --warmup ${o.warmup} --batch ${o.batch} --seq ${o.seq} --examples ${o.examples} --rank ${o.rank} --layers ${o.layers} --runs ${o.runs}`;
  const trials = { "mlx-ts": [], "mlx-lm": [] };
  let versions;
  try {
    for (let r = 0; r < o.runs; r++) {
      const order = r % 2 === 0 ? ["mlx-ts", "mlx-lm"] : ["mlx-lm", "mlx-ts"];
      for (const backend of order) {
        const res = backend === "mlx-ts" ? await runOurs(o, dataDir, engineMod, finetuneMod) : runMlxLm(o, dataDir);
        if (res.versions) versions = res.versions;
        const t = throughput(res.steps, o.warmup);
        trials[backend].push({ ...t, compiled: res.compiled ?? true, peak: res.peak, firstLoss: res.steps[0].loss, lastLoss: res.steps[res.steps.length - 1].loss });
        // MLX_TS_TRAIN_COMPILE=0 (or a failed trace) runs our step uncompiled: say so beside the number
        process.stderr.write(`${backend} trial ${r + 1}: ${t.tokensPerSec.toFixed(1)} tok/s, peak ${(res.peak / 2 ** 20).toFixed(1)} MiB${res.compiled === false ? ` (uncompiled: ${res.uncompiledReason ?? "?"})` : ""}\n`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const device = `${rt.deviceName || rt.device} (${rt.backend})`;
  const rows = Object.entries(trials).map(([backend, ts]) => {
    const tps = summarize(ts.map((t) => t.tokensPerSec));
    const peak = summarize(ts.map((t) => t.peak));
    return {
      backend, device, model: relative(root, o.model) || o.model, dtype: o.dtype, batch: o.batch, seqWords: o.seq, rank: o.rank, layers: o.layers, iters: o.iters, warmup: o.warmup,
      runs: ts.length, compiledStep: ts.every((t) => t.compiled), tokensPerSec: tps, peakMemoryBytes: peak, firstLoss: ts[0].firstLoss, lastLoss: ts[0].lastLoss, timedTokens: ts[0].timedTokens, command,
    };
  });
  const ratio = rows[0].tokensPerSec.median / rows[1].tokensPerSec.median;
  const fmtS = (s, d = 1) => (s.n > 1 ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : s.median.toFixed(d));
  const head = ["backend", "device", "model", "dtype", "batch", "rank", "layers", "steps timed", "step", "train tok/s", "peak MiB", "loss first→last", "command"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of rows) {
    lines.push(`| ${[r.backend, r.device, r.model, r.dtype, r.batch, r.rank, r.layers, `${r.iters - r.warmup} × ${r.runs}`, r.compiledStep ? "compiled" : "uncompiled", fmtS(r.tokensPerSec), fmtS({ ...r.peakMemoryBytes, median: r.peakMemoryBytes.median / 2 ** 20, min: r.peakMemoryBytes.min / 2 ** 20, max: r.peakMemoryBytes.max / 2 ** 20 }),
      `${r.firstLoss.toFixed(3)}→${r.lastLoss.toFixed(3)}`, `\`${r.command}\``].join(" | ")} |`);
  }
  const note = `MLX ${rt.mlxVersion}, mlx-lm ${versions?.mlxLm}; ours / mlx-lm tokens/s = ${ratio.toFixed(2)}×; ${o.runs} trial(s) per backend${o.runs > 1 ? " (median (min–max))" : ""}; ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${new Date().toISOString()}`;
  process.stdout.write(`${lines.join("\n")}\n\n${note}\n`);
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify({ date: new Date().toISOString(), mlx: rt.mlxVersion, mlxLm: versions?.mlxLm, pythonDevice: versions?.device, ratio, rows }, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench/finetune.mjs: ${e.message}\n`);
  process.exit(1);
});
