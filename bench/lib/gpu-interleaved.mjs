// bench/engine-vs-mlxlm.mjs --device gpu: both engines loaded at once (ours in this process, mlx-lm in a
// child that answers trial requests: scripts/mlxlm-bench.py --serve), warmed up at every timed length,
// then trials that alternate engine by engine (ours, mlx-lm, mlx-lm, ours, ...) so drift in clocks or
// load lands on both. Rows give median (min–max) over the trials, the roofline share of decode (the
// checkpoint's bytes read once per token against the measured copy bandwidth), and their commands.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fmt, randomIds, summarize } from "./stats.mjs";

const GEN_PARAMS = { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20, eosTokenIds: [], reusePrefix: false };

export function checkpointBytes(dir) {
  return readdirSync(dir).filter((f) => f.endsWith(".safetensors")).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/**
 * Bytes one decode step must read: every tensor once, except an untied model's input embedding, of which
 * a step reads one row (the tied one is read whole as the output projection). From the safetensors headers.
 */
export function decodeBytes(dir, config) {
  let total = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".safetensors"))) {
    const fd = openSync(join(dir, f), "r");
    let header;
    try {
      const len = Buffer.alloc(8);
      readSync(fd, len, 0, 8, 0);
      const n = Number(len.readBigUInt64LE(0));
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, 8);
      header = JSON.parse(buf.toString("utf8"));
    } finally {
      closeSync(fd);
    }
    for (const [name, t] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      if (!config.tie_word_embeddings && name.startsWith("model.embed_tokens.")) continue;
      total += t.data_offsets[1] - t.data_offsets[0];
    }
  }
  return total;
}

function oursOnce(model, ids, gen, prefillStep) {
  return new Promise((res, rej) => {
    model.generate(Int32Array.from(ids), { ...GEN_PARAMS, maxTokens: gen, prefillStepSize: prefillStep }, (ev) => {
      if (ev.type === "done") res(ev.stats);
      else if (ev.type === "error") rej(Object.assign(new Error(ev.message), { code: ev.code }));
    });
  });
}

function startMlxlm(root, python, dir, prefillStep) {
  const child = spawn(python, [join(root, "scripts", "mlxlm-bench.py"), "--model", dir, "--serve", "--prefill-step-size", String(prefillStep)], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on("line", (l) => waiting.shift()?.resolve(JSON.parse(l)));
  child.on("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`mlx-lm server exited (${code})`));
  });
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  return {
    ready: next(),
    trial(idsFile, gen) {
      const p = next();
      child.stdin.write(`${JSON.stringify({ ids_file: idsFile, gen, prefill_step_size: prefillStep })}\n`);
      return p;
    },
    close() {
      child.stdin.end();
      return new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", () => r())));
    },
  };
}

export function copyBandwidth(root, python) {
  const out = execFileSync(python, [join(root, "bench", "bandwidth.py"), "--mib", "2048", "--runs", "10"], { cwd: root, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop());
}

/**
 * opts: { models: [{name, dir}], prompts: number[], gen, runs, prefillStep, command (base), resultsFile }
 */
export async function runGpuBench(root, python, addon, opts) {
  const rt = addon.runtime();
  const log = (m) => process.stderr.write(`bench: ${m}\n`);
  const bw = copyBandwidth(root, python);
  log(`copy bandwidth ${bw.gbps.toFixed(0)} GB/s (${bw.backend}, bench/bandwidth.py)`);
  const started = new Date().toISOString();
  const rows = [];
  let versions = { mlx: rt.mlxVersion, backend: rt.backend, device: rt.deviceName };
  const benchDir = join(root, "test", ".fixtures", "bench");
  mkdirSync(benchDir, { recursive: true });
  const write = (finished) => {
    mkdirSync(dirname(opts.resultsFile), { recursive: true });
    writeFileSync(opts.resultsFile, JSON.stringify({ started, finished, options: { ...opts, models: opts.models.map((m) => m.name) }, versions, copyBandwidth: bw, rows }, null, 2) + "\n");
  };
  for (const { name, dir } of opts.models) {
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const bytes = decodeBytes(dir, config);
    log(`${name}: loading both engines (${(checkpointBytes(dir) / 1e9).toFixed(2)} GB; a decode step reads ${(bytes / 1e9).toFixed(2)} GB)`);
    const ref = startMlxlm(root, python, dir, opts.prefillStep);
    const hello = await ref.ready;
    versions = { ...versions, mlxPython: hello.mlx_version, mlxLm: hello.mlx_lm_version, mlxLmDevice: hello.device };
    const { nativeLoadOptions } = await import(join(root, "dist", "kernel", "engine", "checkpoint.js"));
    const model = await addon.loadModel(nativeLoadOptions(dir));
    try {
      for (const prompt of opts.prompts) {
        const ids = randomIds(prompt, config.vocab_size, 1234);
        const idsFile = join(benchDir, `prompt-${prompt}.json`);
        writeFileSync(idsFile, JSON.stringify(ids));
        // Warm-up at the timed lengths: the first prefill of a new length compiles kernels on CUDA.
        log(`${name} prompt ${prompt}: warm-up at the timed lengths`);
        await oursOnce(model, ids, opts.gen, opts.prefillStep);
        await ref.trial(idsFile, opts.gen);
        const ours = [];
        const theirs = [];
        for (let i = 0; i < opts.runs; i++) {
          const order = i % 2 === 0 ? ["ours", "mlx-lm"] : ["mlx-lm", "ours"];
          for (const who of order) {
            if (who === "ours") {
              addon.resetPeakMemory();
              const s = await oursOnce(model, ids, opts.gen, opts.prefillStep);
              if (s.generatedTokens !== opts.gen) throw new Error(`ours generated ${s.generatedTokens} tokens, expected ${opts.gen}`);
              ours.push({ promptTps: s.promptTps, decodeTps: s.generationTps, ttftMs: s.ttftMs, peakBytes: s.peakMemory });
            } else {
              const t = await ref.trial(idsFile, opts.gen);
              if (t.generation_tokens !== opts.gen) throw new Error(`mlx-lm generated ${t.generation_tokens} tokens, expected ${opts.gen}`);
              theirs.push({ promptTps: t.prompt_tps, decodeTps: t.generation_tps, ttftMs: t.ttft_ms, peakBytes: t.peak_memory });
            }
          }
        }
        const rel = dir.startsWith(`${root}/`) ? dir.slice(root.length + 1) : dir;
        const mk = (backend, trials, command) => {
          const decode = summarize(trials.map((t) => t.decodeTps));
          const msPerToken = 1000 / decode.median;
          return {
            backend, model: name, device: rt.deviceName, promptTokens: prompt, genTokens: opts.gen, runs: trials.length,
            prefillTps: summarize(trials.map((t) => t.promptTps)), decodeTps: decode, ttftMs: summarize(trials.map((t) => t.ttftMs)),
            peakMB: summarize(trials.map((t) => t.peakBytes / 1e6)), msPerToken, decodeBytes: bytes,
            rooflineShare: bytes / (msPerToken / 1000) / (bw.gbps * 1e9), command, trials,
          };
        };
        rows.push(mk(`mlx-ts (MLX ${rt.mlxVersion} ${rt.backend})`, ours, `${opts.command} --models ${name} --prompts ${prompt}`));
        rows.push(mk(`mlx-lm ${hello.mlx_lm_version} (MLX ${hello.mlx_version})`, theirs, `python scripts/mlxlm-bench.py --model ${rel} --serve (trials alternated by ${opts.command})`));
        log(`${name} prompt ${prompt}: decode ${fmt(rows.at(-2).decodeTps)} vs ${fmt(rows.at(-1).decodeTps)} tok/s`);
        write(null);
      }
    } finally {
      model.dispose();
      addon.clearCache();
      await ref.close();
    }
  }
  write(new Date().toISOString());
  return { rows, bw, versions, rt };
}

export function gpuTable(rows) {
  const head = ["backend", "model", "prompt", "gen", "trials", "prefill tok/s", "decode tok/s", "ours/mlx-lm decode", "ms/token", "roofline", "TTFT ms", "peak MB", "command"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const pair = i % 2 === 0 ? rows[i + 1] : rows[i - 1];
    const ratio = i % 2 === 0 && pair ? `${(r.decodeTps.median / pair.decodeTps.median).toFixed(2)}× (prefill ${(r.prefillTps.median / pair.prefillTps.median).toFixed(2)}×)` : "";
    lines.push(`| ${[r.backend, r.model, r.promptTokens, r.genTokens, r.runs, fmt(r.prefillTps, 0), fmt(r.decodeTps), ratio, r.msPerToken.toFixed(2), `${(r.rooflineShare * 100).toFixed(0)}%`, fmt(r.ttftMs, 0), fmt(r.peakMB, 0), `\`${r.command}\``].join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Makes the qwen3-*-shape checkpoints the GPU bench names, on this machine (scripts/make-fixtures.py --gpu-shapes). */
export function ensureGpuShape(root, python, fixtures, name) {
  const dir = join(fixtures, name);
  if (existsSync(join(dir, ".fixture-stamp"))) return dir;
  const r = spawnSync(python, [join(root, "scripts", "make-fixtures.py"), "--gpu-shapes", "--only", name], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`scripts/make-fixtures.py --gpu-shapes --only ${name} failed (exit ${r.status})`);
  return dir;
}
