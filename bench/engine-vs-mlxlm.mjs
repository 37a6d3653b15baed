#!/usr/bin/env node
// Our engine against mlx-lm, in one run on one machine: same checkpoint files, same MLX build, same
// prompt ids, same prompt and generation lengths, greedy, EOS disabled on both sides.
//
//   node bench/engine-vs-mlxlm.mjs [--runs 3] [--rounds 1] [--prompt 512] [--gen 128] [--models a,b,c] [--prefill-step 2048] [--append]
//   node bench/engine-vs-mlxlm.mjs --device gpu [--prompts 512,4096] [--gen 128] [--runs 5] [--models a,b,c]
//
// --device gpu (a CUDA or Metal MLX): both engines stay loaded, each is warmed up at every timed length,
// and the --runs trials alternate engine by engine (bench/lib/gpu-interleaved.mjs); default models are
// qwen3-{0.6b,8b,4b}-shape-{bf16,8bit,4bit}, made on the machine by scripts/make-fixtures.py --gpu-shapes.
// Prints the GPU's name, MLX and mlx-lm versions, the copy bandwidth and a command for every row; JSON in
// bench/results/engine-gpu.json.
//
// --rounds R repeats the pair R times, alternating which backend goes first; every trial counts.
// --append keeps the rows already in bench/results/engine.json (each row names its own lengths), so
// models can be measured at different lengths in separate invocations and reported together.
//
// Models (default: all three):
//   qwen3-0.6b-shape-bf16, qwen3-0.6b-shape-4bit   Qwen3-0.6B's shapes, random weights (scripts/make-fixtures.py --bench)
//   smollm2-mlx                                     the embedded SmolLM2 GGUF loaded by our engine and saved as MLX safetensors
//
// Ours runs in this process through the native addon (the engine's generation loop; the TypeScript
// façade's tokenizer is not involved because both sides get token ids). mlx-lm runs in a child
// process (scripts/mlxlm-bench.py: stream_generate, its own prompt_tps / generation_tps). Each side
// does one short warm-up run (16 prompt tokens, 4 generated), then --runs timed runs; the table
// shows median (min–max).
// Needs: the TypeScript build (dist/) and the native addon; `npm run setup` makes both.
import { execFileSync, spawnSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureGpuShape, gpuTable, runGpuBench } from "./lib/gpu-interleaved.mjs";
import { markdownTable, randomIds, summarize } from "./lib/stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const python = join(root, ".venv", "bin", "python");
const fixtures = join(root, "test", ".fixtures", "models");
const benchDir = join(root, "test", ".fixtures", "bench");
const resultsFile = join(root, "bench", "results", "engine.json");
// The warm-up only has to build MLX's kernels and buffers once; a short run does that on both sides.
const WARMUP_PROMPT = 16;
const WARMUP_GEN = 4;

function parseArgs(argv) {
  const opts = { runs: 3, rounds: 1, prompt: 512, gen: 128, prefillStep: 2048, append: false, models: ["qwen3-0.6b-shape-bf16", "qwen3-0.6b-shape-4bit", "smollm2-mlx"], device: "cpu", prompts: null, modelsGiven: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--runs") opts.runs = Number(val());
    else if (a === "--rounds") opts.rounds = Number(val());
    else if (a === "--prompt") opts.prompt = Number(val());
    else if (a === "--gen") opts.gen = Number(val());
    else if (a === "--prefill-step") opts.prefillStep = Number(val());
    else if (a === "--models") {
      opts.models = val().split(",").filter(Boolean);
      opts.modelsGiven = true;
    } else if (a === "--device") opts.device = val();
    else if (a === "--prompts") opts.prompts = val().split(",").map(Number);
    else if (a === "--append") opts.append = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n") + "\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  for (const k of ["runs", "rounds", "prompt", "gen", "prefillStep"]) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  return opts;
}

const log = (m) => process.stderr.write(`bench: ${m}\n`);

async function engineModule() {
  const entry = join(root, "dist", "kernel", "engine", "index.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the TypeScript first (npm run build, or npm run setup)`);
  return import(entry);
}

async function ensureModel(name) {
  if (name.startsWith("qwen3-0.6b-shape-")) {
    const dir = join(fixtures, name);
    const r = spawnSync(python, [join(root, "scripts", "make-fixtures.py"), "--bench-only"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`scripts/make-fixtures.py --bench-only failed (exit ${r.status})`);
    return dir;
  }
  if (name === "smollm2-mlx") {
    const dir = join(benchDir, "smollm2-mlx");
    if (existsSync(join(dir, "config.json"))) return dir;
    log("saving the embedded SmolLM2 GGUF as MLX safetensors through our engine");
    const { createEngine } = await engineModule();
    const engine = createEngine();
    try {
      const m = await engine.load("smollm2", { as: "smollm2-for-bench" });
      mkdirSync(benchDir, { recursive: true });
      await m.save(dir);
    } finally {
      engine.dispose();
    }
    return dir;
  }
  const dir = resolve(name);
  if (!existsSync(join(dir, "config.json"))) throw new Error(`unknown model ${name}: not a bench alias and not a model directory`);
  return dir;
}

function generateOnce(model, ids, gen, prefillStep) {
  return new Promise((res, rej) => {
    const params = {
      maxTokens: gen, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20,
      eosTokenIds: [], prefillStepSize: prefillStep, reusePrefix: false,
    };
    model.generate(Int32Array.from(ids), params, (ev) => {
      if (ev.type === "done") res(ev.stats);
      else if (ev.type === "error") rej(Object.assign(new Error(ev.message), { code: ev.code }));
    });
  });
}

async function benchOurs(dir, ids, opts) {
  const { loadNative } = await import(join(root, "dist", "kernel", "engine", "native.js"));
  const { nativeLoadOptions } = await import(join(root, "dist", "kernel", "engine", "checkpoint.js"));
  const addon = loadNative();
  const model = await addon.loadModel(nativeLoadOptions(dir));
  try {
    await generateOnce(model, ids.slice(0, WARMUP_PROMPT), WARMUP_GEN, opts.prefillStep); // warm-up
    const trials = [];
    for (let i = 0; i < opts.runs; i++) {
      addon.resetPeakMemory();
      const s = await generateOnce(model, ids, opts.gen, opts.prefillStep);
      if (s.generatedTokens !== opts.gen) throw new Error(`ours generated ${s.generatedTokens} tokens, expected ${opts.gen}`);
      trials.push({ promptTps: s.promptTps, decodeTps: s.generationTps, ttftMs: s.ttftMs, peakBytes: s.peakMemory });
    }
    return { trials, mlxVersion: addon.runtime().mlxVersion, backend: addon.runtime().backend };
  } finally {
    model.dispose();
    addon.clearCache();
  }
}

function benchMlxlm(dir, ids, opts) {
  mkdirSync(benchDir, { recursive: true });
  const idsFile = join(benchDir, `prompt-${ids.length}.json`);
  writeFileSync(idsFile, JSON.stringify(ids));
  const out = execFileSync(
    python,
    [
      join(root, "scripts", "mlxlm-bench.py"), "--model", dir, "--ids-file", idsFile, "--gen", String(opts.gen), "--runs", String(opts.runs),
      "--prefill-step-size", String(opts.prefillStep), "--warmup-prompt", String(WARMUP_PROMPT), "--warmup-gen", String(WARMUP_GEN),
    ],
    { cwd: root, encoding: "utf8", maxBuffer: 16 << 20, stdio: ["ignore", "pipe", "inherit"] },
  );
  const j = JSON.parse(out.trim().split("\n").pop());
  for (const t of j.trials) {
    if (t.generation_tokens !== opts.gen) throw new Error(`mlx-lm generated ${t.generation_tokens} tokens, expected ${opts.gen}`);
  }
  return {
    trials: j.trials.map((t) => ({ promptTps: t.prompt_tps, decodeTps: t.generation_tps, ttftMs: t.ttft_ms, peakBytes: t.peak_memory })),
    mlxVersion: j.mlx_version,
    mlxLmVersion: j.mlx_lm_version,
  };
}

function row(backend, model, opts, trials, command) {
  return {
    backend, model, promptTokens: opts.prompt, genTokens: opts.gen, runs: trials.length, command,
    prefillTps: summarize(trials.map((t) => t.promptTps)),
    decodeTps: summarize(trials.map((t) => t.decodeTps)),
    ttftMs: summarize(trials.map((t) => t.ttftMs)),
    peakMB: summarize(trials.map((t) => t.peakBytes / 1e6)),
    trials,
  };
}

function machineInfo(load0) {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", totalMemBytes: totalmem(), loadavgAtStart: load0, loadavgAtEnd: loadavg(), platform: process.platform, node: process.version };
}

function writeResults(obj) {
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(obj, null, 2) + "\n");
}

async function gpuMain(opts) {
  const { loadNative } = await import(join(root, "dist", "kernel", "engine", "native.js"));
  const addon = loadNative();
  const rt = addon.runtime();
  if (rt.backend === "cpu") throw new Error(`--device gpu needs MLX with a GPU backend; this one (MLX ${rt.mlxVersion}) has only the CPU. Run it on a CUDA or Metal machine.`);
  const names = opts.modelsGiven ? opts.models : ["0.6b", "8b", "4b"].flatMap((s) => ["bf16", "8bit", "4bit"].map((q) => `qwen3-${s}-shape-${q}`));
  const models = names.map((name) => ({ name, dir: /^qwen3-[\d.]+b-shape-/.test(name) ? ensureGpuShape(root, python, fixtures, name) : resolve(name) }));
  const prompts = opts.prompts ?? [512, 4096];
  const runs = process.argv.includes("--runs") ? opts.runs : 5;
  const command = `node bench/engine-vs-mlxlm.mjs --device gpu --gen ${opts.gen} --runs ${runs} --prefill-step ${opts.prefillStep}`;
  const r = await runGpuBench(root, python, addon, { models, prompts, gen: opts.gen, runs, prefillStep: opts.prefillStep, command, resultsFile: join(root, "bench", "results", "engine-gpu.json") });
  process.stdout.write(`${gpuTable(r.rows)}\n\n${rt.deviceName} (${rt.backend}), MLX ${rt.mlxVersion}, mlx-lm ${r.versions.mlxLm}; copy bandwidth ${r.bw.gbps.toFixed(0)} GB/s (bench/bandwidth.py); median (min–max) over ${runs} trials per engine, alternating, after a warm-up at each length; ${new Date().toISOString()}\n`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.device === "gpu") return gpuMain(opts);
  const started = new Date().toISOString();
  const load0 = loadavg();
  const previous = opts.append && existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : null;
  const rows = previous?.rows ?? [];
  const versions = {};
  const cmdArgs = `--prompt ${opts.prompt} --gen ${opts.gen} --runs ${opts.runs} --rounds ${opts.rounds} --prefill-step ${opts.prefillStep}`;
  for (const name of opts.models) {
    const dir = await ensureModel(name);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const ids = randomIds(opts.prompt, config.vocab_size, 1234);
    // Rounds alternate which backend goes first (ours, mlx-lm | mlx-lm, ours | ...), so a machine whose
    // load drifts during the run does not favour the one that always runs second.
    let ours;
    let ref;
    const oursTrials = [];
    const refTrials = [];
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? ["ours", "mlx-lm"] : ["mlx-lm", "ours"];
      for (const who of order) {
        log(`${name}: ${who} (round ${round + 1}/${opts.rounds}: ${opts.runs} runs + warm-up)`);
        if (who === "ours") {
          ours = await benchOurs(dir, ids, opts);
          oursTrials.push(...ours.trials);
        } else {
          ref = benchMlxlm(dir, ids, opts);
          refTrials.push(...ref.trials);
        }
      }
    }
    ours.trials = oursTrials;
    ref.trials = refTrials;
    Object.assign(versions, { mlx: ours.mlxVersion, mlxBackend: ours.backend, mlxPython: ref.mlxVersion, mlxLm: ref.mlxLmVersion });
    rows.push(row(`mlx-ts (native addon, MLX ${ours.mlxVersion} ${ours.backend})`, name, opts, ours.trials, `node bench/engine-vs-mlxlm.mjs --models ${name} ${cmdArgs}`));
    rows.push(row(`mlx-lm ${ref.mlxLmVersion} (stream_generate, MLX ${ref.mlxVersion})`, name, opts, ref.trials, `python scripts/mlxlm-bench.py --model ${dir.replace(`${root}/`, "")} --ids-file test/.fixtures/bench/prompt-${opts.prompt}.json --gen ${opts.gen} --runs ${opts.runs} --prefill-step-size ${opts.prefillStep}`));
    // Written after every model, so a long run stopped part-way still leaves what it measured.
    writeResults({ started, finished: null, options: opts, versions, machine: machineInfo(load0), rows });
  }
  const machine = machineInfo(load0);
  const table = markdownTable(rows);
  process.stdout.write(`${table}\n\nmedian (min–max) over ${opts.runs * opts.rounds} runs (${opts.rounds} round(s) of ${opts.runs}, each after one short warm-up); ${machine.cpus} CPUs (${machine.cpuModel}), load average at start ${load0.map((x) => x.toFixed(1)).join(" ")}, at end ${machine.loadavgAtEnd.map((x) => x.toFixed(1)).join(" ")}\n`);
  writeResults({ started, finished: new Date().toISOString(), options: opts, versions, machine, rows });
  log(`wrote ${resultsFile}`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
