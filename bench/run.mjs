#!/usr/bin/env node
// `npm run bench`: every figure the README shows, measured in one run on one machine.
//   1. our engine beside mlx-lm (bench/engine-vs-mlxlm.mjs)
//   2. kernel overhead: %%generate tok/s seen by a jupyter_client client vs the engine's own (bench/stream_overhead.py),
//      and the execute round trip of `1+1` beside tslab and IJavascript (bench/roundtrip.py)
//   3. model load time, cold and warm, and peak RSS (bench/load-time.mjs)
//   4. the roofline: bytes read per decode token against this machine's copy bandwidth (bench/bandwidth.py)
//   5. cells against plain Node: a 10M-increment loop over a cell-level `let` beside `node -e`, and a new
//      `1+1` cell's in-process latency with the type check on and off (bench/cell-loop.mjs)
// Prints markdown tables and writes bench/results/bench.json. `--quick` shortens every part (smoke run).
// `--only roundtrip` (a comma list of engine, load, roundtrip, streaming, roofline) runs just those parts
// and writes bench/results/bench-<parts>.json instead, so a partial run never replaces the full one.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareKernels } from "./competitors.mjs";
import { summarize, fmt } from "./lib/stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const python = join(root, ".venv", "bin", "python");
const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? new Set((process.argv[onlyAt + 1] ?? "").split(",").filter(Boolean)) : undefined;
const log = (m) => process.stderr.write(`bench: ${m}\n`);
const results = { started: new Date().toISOString(), quick, machine: machine(), parts: {} };

function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", totalMemBytes: totalmem(), platform: process.platform, arch: process.arch, node: process.version, loadavg: loadavg() };
}

function runJson(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", env, maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  const said = line ? JSON.parse(line) : undefined;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}${said?.error ? `: ${said.error}` : ""}`);
  if (!said) throw new Error(`${cmd} ${args.join(" ")} printed no JSON`);
  return said;
}

function part(name, fn) {
  if (only && !only.has(name)) return;
  log(`— ${name}`);
  try {
    results.parts[name] = fn();
  } catch (e) {
    log(`${name} failed: ${e.message}`);
    results.parts[name] = { error: e.message };
  }
}

function safetensorsBytes(model) {
  const dirs = [join(root, "test", ".fixtures", "models", model), join(root, "test", ".fixtures", "bench", model)];
  const dir = dirs.find((d) => existsSync(d));
  if (!dir) return 0;
  return readdirSync(dir).filter((f) => f.endsWith(".safetensors")).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

const table = (head, rows) => [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const mb = (b) => (b / 1e6).toFixed(0);

// 1. engine vs mlx-lm: the script prints its own table and writes bench/results/engine.json.
// Lengths fit a 2-core CPU box: MLX's CPU backend runs Qwen3-0.6B's shapes at a few tok/s in bf16 and
// well under 1 tok/s at 4-bit. On Metal/CUDA pass longer ones to bench/engine-vs-mlxlm.mjs directly.
// --skip-engine reuses bench/results/engine.json from an earlier run of that script.
part("engine", () => {
  const script = join(root, "bench", "engine-vs-mlxlm.mjs");
  const runs = quick
    ? [["--runs", "1", "--prompt", "16", "--gen", "4", "--models", "smollm2-mlx"]]
    : [["--models", "smollm2-mlx,qwen3-0.6b-shape-bf16", "--prompt", "32", "--gen", "8", "--runs", "2", "--rounds", "2"],
       ["--models", "qwen3-0.6b-shape-4bit", "--prompt", "16", "--gen", "4", "--runs", "2", "--rounds", "2", "--append"]];
  if (!process.argv.includes("--skip-engine")) {
    for (const args of runs) {
      const r = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: "inherit" });
      if (r.status !== 0) throw new Error(`engine-vs-mlxlm exited ${r.status}`);
    }
  }
  return JSON.parse(readFileSync(join(root, "bench", "results", "engine.json"), "utf8"));
});

// 3. load time (before the kernels, so nothing else is resident)
part("load", () => {
  const runs = Array.from({ length: quick ? 1 : 3 }, () => runJson(process.execPath, [join(root, "bench", "load-time.mjs"), "smollm2"]));
  return { model: "smollm2", runs, coldMs: summarize(runs.map((r) => r.coldMs)), warmMs: summarize(runs.map((r) => r.warmMs)), peakRssBytes: summarize(runs.map((r) => r.peakRssBytes)) };
});

// 2. kernels: ours and the competitors, registered into a throwaway Jupyter data dir
const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-bench-"));
try {
  const data = join(tmp, "data");
  mkdirSync(data, { recursive: true });
  const k = !only || only.has("roundtrip") || only.has("streaming") ? prepareKernels(root, data, log) : { kernels: [], skipped: [], jupyterPath: "" };
  // tslab's kernelspec runs `tslab` from PATH
  const path = `${join(root, "bench", ".competitors", "tslab", "node_modules", ".bin")}:${join(root, ".venv", "bin")}:${process.env.PATH}`;
  const env = { ...process.env, PATH: path, JUPYTER_DATA_DIR: data, JUPYTER_PATH: k.jupyterPath, PYTHONUNBUFFERED: "1" };
  // Rounds interleave the kernels, so a noisy minute on this shared machine hits all of them alike. Each
  // kernel runs the same `1+1` again and again (a re-run cell) and a different text each time (--unique).
  // 100 timed cells per kernel process: tslab 1.0.22 stops answering after about 170 executes in one
  // process (n=200 runs ended "no reply within 60 s after 164 of 200 timed cells" in both modes).
  part("roundtrip", () => {
    const rounds = quick ? 1 : 3;
    const modes = [{ key: "rerun", args: [] }, { key: "unique", args: ["--unique"] }];
    const runs = new Map(k.kernels.map((kn) => [kn.name, { rerun: [], unique: [] }]));
    for (let round = 0; round < rounds; round++) {
      for (const kn of k.kernels) {
        for (const mode of modes) {
          const mine = runs.get(kn.name);
          if (!mine || mine.failed?.[mode.key]) continue;
          try {
            mine[mode.key].push(runJson(python, [join(root, "bench", "roundtrip.py"), "--kernel", kn.name, "-n", quick ? "20" : "100", ...mode.args], env));
          } catch (e) {
            k.skipped.push({ label: `${kn.label} (${mode.key === "unique" ? "unique" : "re-run"} cells, round ${round + 1})`, why: e.message.replace(/^.*?exited \d+: /, "") });
            mine.failed = { ...mine.failed, [mode.key]: true };
          }
        }
      }
    }
    const rows = k.kernels.flatMap((kn) => modes.filter((mode) => runs.get(kn.name)?.[mode.key].length).map((mode) => {
      const rs = runs.get(kn.name)[mode.key];
      return { label: kn.label, kernel: kn.name, mode: mode.key, n: rs[0].n, rounds: rs.length, medianMs: summarize(rs.map((r) => r.median_ms)), p99Ms: summarize(rs.map((r) => r.p99_ms)), runs: rs };
    }));
    return { skipped: k.skipped, rows };
  });
  part("streaming", () => runJson(python, [join(root, "bench", "stream_overhead.py"), "--model", "smollm2", "--max-tokens", quick ? "16" : "128", "--runs", quick ? "1" : "3"], env));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// 4. roofline
part("roofline", () => {
  const bw = runJson(python, [join(root, "bench", "bandwidth.py"), "--mib", quick ? "256" : "1024"]);
  const engineRows = results.parts.engine?.rows ?? [];
  // Every weight byte is read once per decode token (tied embeddings are the LM head, read whole);
  // the KV cache adds a little at these lengths and is left out, so the fraction is a lower bound.
  const weights = Object.fromEntries([...new Set(engineRows.map((r) => r.model))].map((m) => [m, safetensorsBytes(m)]));
  const rows = engineRows.filter((r) => weights[r.model] && r.decodeTps).map((r) => {
    const bytesPerToken = weights[r.model];
    const achievedGBps = (r.decodeTps.median * bytesPerToken) / 1e9;
    return { backend: r.backend, model: r.model, bytesPerToken, decodeTps: r.decodeTps.median, achievedGBps, fraction: achievedGBps / bw.gbps };
  });
  return { bandwidth: bw, rows };
});

// 5. cells against plain Node (JavaScript only: no model, no MLX)
part("cellLoop", () => runJson(process.execPath, [join(root, "bench", "cell-loop.mjs"), "--runs", quick ? "2" : "5", "--cells", quick ? "10" : "40"]));

results.finished = new Date().toISOString();
// The box may be shared: the load average at the end says how busy it was while the bench ran.
results.machine.loadavgAtEnd = loadavg();
mkdirSync(join(root, "bench", "results"), { recursive: true });
const resultsFile = only ? `bench-${[...only].sort().join("-")}.json` : "bench.json";
writeFileSync(join(root, "bench", "results", resultsFile), JSON.stringify(results, null, 2) + "\n");

// Tables (the engine table was printed by its own script above).
const out = [];
const P = results.parts;
if (P.load && !P.load.error) {
  out.push("### Model load (smollm2, embedded GGUF)", table(["cold ms", "warm ms", "peak RSS MB", "command"],
    [[fmt(P.load.coldMs, 0), fmt(P.load.warmMs, 0), fmt({ median: P.load.peakRssBytes.median / 1e6, min: P.load.peakRssBytes.min / 1e6, max: P.load.peakRssBytes.max / 1e6 }, 0), "`node bench/load-time.mjs smollm2`"]]));
}
if (P.roundtrip && !P.roundtrip.error) {
  const rows = P.roundtrip.rows;
  const best = (mode) => {
    const others = rows.filter((r) => r.kernel !== "mlx-ts" && r.mode === mode);
    return others.length ? Math.min(...others.map((r) => r.medianMs.median)) : undefined;
  };
  out.push(`### Execute round trip of \`1+1\` (jupyter_client; median (min–max) over ${rows[0]?.rounds ?? 0} interleaved runs of n each; "unique" gives every cell a different text)`,
    table(["kernel", "cells", "n", "median ms", "p99 ms", "vs best other", "command"],
      rows.map((r) => {
        const b = best(r.mode);
        return [r.label, r.mode === "unique" ? "unique" : "re-run", r.n, fmt(r.medianMs, 2), fmt(r.p99Ms, 2), b ? `${(r.medianMs.median / b).toFixed(2)}×` : "n/a",
          `\`python bench/roundtrip.py --kernel ${r.kernel}${r.mode === "unique" ? " --unique" : ""}\``];
      })));
  for (const s of P.roundtrip.skipped) out.push(`- skipped ${s.label}: ${s.why}`);
}
if (P.streaming && !P.streaming.error) {
  const s = P.streaming;
  out.push("### Streaming through the kernel (%%generate, smollm2)", table(["engine tok/s", "client tok/s", "overhead", "command"],
    [[s.median_engine_tps.toFixed(1), s.median_client_tps.toFixed(1), `${(s.median_overhead * 100).toFixed(1)}%`, "`python bench/stream_overhead.py`"]]));
}
if (P.roofline && !P.roofline.error) {
  const r = P.roofline;
  out.push(`### Roofline (copy bandwidth ${r.bandwidth.gbps.toFixed(1)} GB/s, MLX ${r.bandwidth.mlx} ${r.bandwidth.backend})`, table(["backend", "model", "bytes/token MB", "decode tok/s", "GB/s", "of bandwidth"],
    r.rows.map((x) => [x.backend, x.model, mb(x.bytesPerToken), x.decodeTps.toFixed(1), x.achievedGBps.toFixed(2), `${(x.fraction * 100).toFixed(0)}%`])));
}
if (P.cellLoop && !P.cellLoop.error) {
  const c = P.cellLoop;
  const base = c.loop[0].ms.median;
  out.push(`### ${c.iterations.toLocaleString("en")} increments in a cell vs \`node -e\` (ms in the loop, median (min–max) of ${c.runs}; ${c.backend}; ${c.device}; model: none)`,
    table(["loop", "ms", "vs node -e", "command"], c.loop.map((r) => [r.label, fmt(r.ms, 1), `${(r.ms.median / base).toFixed(2)}×`, `\`node bench/cell-loop.mjs\`: ${r.command.replace(/\|/g, "\\|")}`])),
    `### New-cell latency (in-process Session.execute of a unique \`1+1\`; ${c.backend})`,
    table(["%typecheck", "median ms", "p90 ms", "n", "command"], c.latency.map((r) => [r.typecheck, fmt(r.ms, 2), r.p90.toFixed(2), r.n, "`node bench/cell-loop.mjs`"])),
    `- first cell after the session started (waits for the type checker to load lib and @types/node): ${c.firstCellMs.toFixed(0)} ms; load average ${c.loadavg[0].toFixed(1)}`,
    `- CPU per type check of \`1+1\`: ${c.checkCpu.newTextMs.toFixed(1)} ms for a new text, ${c.checkCpu.sameTextMs.toFixed(2)} ms for the same text again`);
}
for (const [name, p] of Object.entries(P)) if (p?.error) out.push(`- ${name}: failed: ${p.error}`);
const load = (l) => l.map((x) => x.toFixed(1)).join(" ");
process.stdout.write(`\n${out.join("\n\n")}\n\nmachine: ${results.machine.cpus} × ${results.machine.cpuModel}, ${mb(results.machine.totalMemBytes)} MB; load average ${load(results.machine.loadavg)} at the start, ${load(results.machine.loadavgAtEnd)} at the end; ${results.started} – ${results.finished}; results: bench/results/${resultsFile}\n`);
