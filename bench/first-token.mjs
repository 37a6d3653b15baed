#!/usr/bin/env node
// Time to first token for a chat's first prompts, each phase in a fresh process, so that MLX's JIT
// compiles (CUDA: NVRTC, cached on disk in $MLX_PTX_CACHE_DIR) show up where a user meets them.
//
//   node bench/first-token.mjs --model DIR [--lengths 4,15,100,700] [--phases before-cold,before-warm,after-warm,after-warm]
//                              [--cache DIR] [--out bench/results/first-token.json]
//
// Phases (run in the order given, each a new process over the same kernel cache folder --cache):
//   before-cold   no warm-up at load; the kernel cache emptied first (a machine's first use, before this change)
//   before-warm   no warm-up; the cache kept (a second process, before)
//   after-cold    load warms the GPU kernels (kernel/engine/gpu-warmup.ts); the cache emptied first
//   after-warm    load warms up; the cache kept (every later process)
// Each process loads the model (native addon, as the engine does), warms up if the phase says so, then
// prompts the lengths in order (fresh KV cache each, 2 generated tokens) and reports load, warm-up and
// TTFT per prompt (wall time from the generate call to the first token on the JS thread).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomIds } from "./lib/stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PHASES = {
  "before-cold": { warmup: false, fresh: true },
  "before-warm": { warmup: false, fresh: false },
  "after-cold": { warmup: true, fresh: true },
  "after-warm": { warmup: true, fresh: false },
};

function parseArgs(argv) {
  const o = { lengths: [4, 15, 100, 700], phases: ["before-cold", "before-warm", "after-cold", "after-warm"], cache: null, out: join(root, "bench", "results", "first-token.json"), child: false, model: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === "--model") o.model = resolve(v());
    else if (a === "--lengths") o.lengths = v().split(",").map(Number);
    else if (a === "--phases") o.phases = v().split(",");
    else if (a === "--cache") o.cache = resolve(v());
    else if (a === "--out") o.out = resolve(v());
    else if (a === "--child") o.child = true;
    else if (a === "--warmup") o.warmup = v() === "1";
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.model || !existsSync(join(o.model, "config.json"))) throw new Error("--model DIR (a checkpoint with config.json) is required");
  for (const p of o.phases) if (!(p in PHASES)) throw new Error(`unknown phase ${p}; known: ${Object.keys(PHASES).join(", ")}`);
  if (!o.lengths.every((n) => Number.isInteger(n) && n > 1)) throw new Error("--lengths must be integers > 1");
  return o;
}

function generate(model, ids) {
  const params = { maxTokens: 2, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20, eosTokenIds: [], prefillStepSize: 2048, reusePrefix: false };
  return new Promise((res, rej) => {
    const t0 = performance.now();
    let first = null;
    model.generate(Int32Array.from(ids), params, (ev) => {
      if (ev.type === "tokens" && first === null) first = performance.now() - t0;
      else if (ev.type === "done") res({ wallMs: first, ttftMs: ev.stats.ttftMs });
      else if (ev.type === "error") rej(new Error(ev.message));
    });
  });
}

async function child(o) {
  const { loadNative } = await import(join(root, "dist", "kernel", "engine", "native.js"));
  const { warmUp } = await import(join(root, "dist", "kernel", "engine", "gpu-warmup.js"));
  const addon = loadNative();
  const rt = addon.runtime();
  const t0 = performance.now();
  const { nativeLoadOptions } = await import(join(root, "dist", "kernel", "engine", "checkpoint.js"));
  const model = await addon.loadModel(nativeLoadOptions(o.model));
  const loadMs = performance.now() - t0;
  let warmupMs = 0;
  if (o.warmup) {
    const t1 = performance.now();
    await warmUp(model, (done, total) => process.stderr.write(`first-token: warm-up ${done}/${total} at ${((performance.now() - t1) / 1000).toFixed(1)} s\n`));
    warmupMs = performance.now() - t1;
  }
  const vocab = JSON.parse(readFileSync(join(o.model, "config.json"), "utf8")).vocab_size;
  const prompts = {};
  for (const n of o.lengths) {
    prompts[n] = await generate(model, randomIds(n, vocab, 4242 + n));
    process.stderr.write(`first-token: ${n} tokens: ${prompts[n].wallMs.toFixed(0)} ms\n`);
  }
  model.dispose();
  process.stdout.write(`${JSON.stringify({ loadMs, warmupMs, prompts, runtime: rt, cache: process.env.MLX_PTX_CACHE_DIR ?? null })}\n`);
}

function fmtMs(ms) {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) return child(o);
  const cache = o.cache ?? join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mlx-ts", "first-token-bench-kernels");
  const started = new Date().toISOString();
  const rows = [];
  let runtime = null;
  for (const [i, phase] of o.phases.entries()) {
    const p = PHASES[phase];
    if (p.fresh) rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const args = [fileURLToPath(import.meta.url), "--child", "--model", o.model, "--lengths", o.lengths.join(","), "--warmup", p.warmup ? "1" : "0"];
    process.stderr.write(`first-token: phase ${i + 1}/${o.phases.length} ${phase}\n`);
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, MLX_PTX_CACHE_DIR: cache, MLX_TS_WARMUP: p.warmup ? "1" : "0" } });
    const line = r.stdout.trim().split("\n").pop();
    if (r.status !== 0 || !line?.startsWith("{")) throw new Error(`phase ${phase} exited ${r.status ?? r.signal}`);
    const j = JSON.parse(line);
    runtime = j.runtime;
    rows.push({ phase, process: i + 1, ...j });
  }
  const model = o.model.replace(`${root}/`, "");
  const command = `node bench/first-token.mjs --model ${model} --lengths ${o.lengths.join(",")} --phases ${o.phases.join(",")}`;
  const head = ["process", "phase", "load", "warm-up", ...o.lengths.map((n) => `TTFT ${n} tok`)];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of rows) lines.push(`| ${[r.process, r.phase, fmtMs(r.loadMs), r.warmupMs ? fmtMs(r.warmupMs) : "—", ...o.lengths.map((n) => fmtMs(r.prompts[n].wallMs))].join(" | ")} |`);
  process.stdout.write(`${lines.join("\n")}\n\n${runtime.backend} ${runtime.deviceName || runtime.device}, MLX ${runtime.mlxVersion}, model ${model}; kernel cache ${cache}; command: ${command}\n`);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify({ started, finished: new Date().toISOString(), command, runtime, cache, lengths: o.lengths, rows }, null, 2) + "\n");
}

main().catch((e) => {
  process.stderr.write(`first-token: ${e.message}\n`);
  process.exit(1);
});
