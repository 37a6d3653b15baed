#!/usr/bin/env node
// Cells against plain Node: 10 million increments of a cell-level `let` in a real Session (in-process),
// beside the same loop under `node -e`, and the latency of a new `1+1` cell with the type check on and off.
//   node bench/cell-loop.mjs [--runs 5] [--iterations 10000000] [--cells 40] [--legacy]
// --legacy adds one run of the loop over a property of a contextified global object (plain node:vm: how
// cells kept their variables before), which takes seconds.
// Prints tables and writes bench/results/cell-loop.json (and one JSON line on stdout for bench/run.mjs).
// Needs the TypeScript build (npm run build).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { fmt, summarize } from "./lib/stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const runs = arg("runs", 5);
const n = arg("iterations", 10_000_000);
const cells = arg("cells", 40);
const log = (m) => process.stderr.write(`cell-loop: ${m}\n`);
const device = `CPU: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores)`;
const backend = `V8 ${process.versions.v8} (node ${process.version}), no MLX`;

const { createSession } = await import(pathToFileURL(join(root, "dist", "kernel", "session", "index.js")).href);
const dir = mkdtempSync(join(tmpdir(), "mlx-ts-cell-loop-"));
const session = await createSession({ historyFile: join(dir, "history.jsonl"), cwd: dir, handleSigint: false, catchProcessErrors: false });
const sink = { stream() {}, display() {}, updateDisplay() {}, clearOutput() {}, input: () => Promise.reject(new Error("no stdin")) };
const exec = async (code) => {
  const r = await session.execute({ code, silent: false, storeHistory: false, allowStdin: false }, sink);
  if (r.status !== "ok") throw new Error(`cell failed: ${r.ename}: ${r.evalue}\n${code}`);
  return r.result?.["text/plain"];
};

const rows = [];
const row = (label, command, ms, extra = {}) => {
  rows.push({ label, command, backend, device, model: "none", iterations: n, ms: summarize(ms), runs: ms, ...extra });
};

try {
  // the first cell waits for the language service to parse lib and @types/node (reported on its own)
  const firstStart = performance.now();
  await exec("0");
  const firstCellMs = performance.now() - firstStart;

  const nodeCode = `let c = 0; const t0 = performance.now(); for (let i = 0; i < ${n}; i++) c++; console.log(performance.now() - t0)`;
  const nodeMs = [];
  for (let k = 0; k < runs; k++) {
    const r = spawnSync(process.execPath, ["-e", nodeCode], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`node -e exited ${r.status}: ${r.stderr}`);
    nodeMs.push(Number(r.stdout.trim()));
  }
  row("node -e, top-level let", `node -e '${nodeCode}'`, nodeMs);

  // a fresh name each run, so every cell declares a new variable (and is a new cell text)
  const same = [];
  const sameWall = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    same.push(Number(await exec(`let loopA${k} = 0\nconst t${k} = performance.now()\nfor (let i = 0; i < ${n}; i++) loopA${k}++\nperformance.now() - t${k}`)));
    sameWall.push(performance.now() - t0);
  }
  row("cell, let declared in the same cell", `let loopA = 0; for (let i = 0; i < ${n}; i++) loopA++`, same, { executeMs: summarize(sameWall) });

  await exec("let shared = 0");
  const later = [];
  for (let k = 0; k < runs; k++) {
    later.push(Number(await exec(`const s${k} = performance.now()\nfor (let i = 0; i < ${n}; i++) shared++\nperformance.now() - s${k}`)));
  }
  row("cell, let declared by an earlier cell", `(earlier cell: let shared = 0) for (let i = 0; i < ${n}; i++) shared++`, later);

  const block = [];
  for (let k = 0; k < runs; k++) {
    block.push(Number(await exec(`const b${k} = performance.now()\n{ let local = 0; for (let i = 0; i < ${n}; i++) local++ }\nperformance.now() - b${k}`)));
  }
  row("cell, block-scoped let", `{ let local = 0; for (let i = 0; i < ${n}; i++) local++ }`, block);

  if (process.argv.includes("--legacy")) {
    log("legacy: a property of a contextified global (seconds)");
    const ctx = vm.createContext({});
    const ms = Number(vm.runInContext(`globalThis.g = 0; const t0 = performance.now(); for (let i = 0; i < ${n}; i++) g++; performance.now() - t0`, Object.assign(ctx, { performance })));
    row("plain node:vm, property of the context's global (before)", "vm.runInContext('globalThis.g = 0; for (...) g++', vm.createContext({}))", [ms]);
  }

  // new-cell latency: a different `1+1` text each time (no transform cache), in-process execute()
  const latency = [];
  for (const mode of ["on", "off"]) {
    await exec(`%typecheck ${mode}`);
    const ms = [];
    for (let k = 0; k < cells + 5; k++) {
      const t0 = performance.now();
      await exec(`1+1 // ${mode} ${k} ${Math.random()}`);
      if (k >= 5) ms.push(performance.now() - t0); // the first few warm the paths up
    }
    latency.push({ label: `new \`1+1\` cell, %typecheck ${mode}`, typecheck: mode, command: "session.execute({ code: `1+1 // <unique>` })", backend, device, model: "none", n: ms.length, ms: summarize(ms), p90: ms.sort((a, b) => a - b)[Math.floor(ms.length * 0.9)] });
  }

  // the check's own CPU cost, in-process (the session runs it in a worker): a new text needs a new
  // program and checker, the same text keeps them
  const { CellLanguageService } = await import(pathToFileURL(join(root, "dist", "kernel", "session", "language-service.js")).href);
  const ls = new CellLanguageService(dir, root);
  ls.warm();
  const cpuPerCheck = (texts) => {
    for (const t of texts.slice(0, 3)) ls.diagnostics(t + " warm");
    const c0 = process.cpuUsage();
    for (const t of texts) ls.diagnostics(t);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / texts.length;
  };
  const checkCpu = {
    newTextMs: cpuPerCheck(Array.from({ length: cells }, (_, k) => `1+1 // ${k}`)),
    sameTextMs: cpuPerCheck(Array.from({ length: cells }, () => "1+1 // same")),
    command: "new CellLanguageService(...).diagnostics('1+1 // <text>'), process.cpuUsage()",
  };

  const nodeMedian = rows[0].ms.median;
  const table = (head, body) => [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  process.stderr.write(`\n### ${n.toLocaleString("en")} increments (ms inside the loop, median (min–max) of ${runs}; ${backend}; ${device}; load average ${loadavg()[0].toFixed(1)})\n` +
    table(["loop", "ms", "vs node -e", "command"], rows.map((r) => [r.label, fmt(r.ms, 1), `${(r.ms.median / nodeMedian).toFixed(2)}×`, `\`${r.command}\``])) + "\n");
  process.stderr.write(`\n### New-cell latency, in-process Session.execute (median (min–max), p90 over ${cells} cells)\n` +
    table(["cell", "median ms", "p90 ms", "command"], latency.map((r) => [r.label, fmt(r.ms, 2), r.p90.toFixed(2), `\`${r.command}\``])) +
    `\nfirst cell after the session started (waits for the type checker to load lib and @types/node): ${firstCellMs.toFixed(0)} ms\n` +
    `CPU per type check of \`1+1\`: ${checkCpu.newTextMs.toFixed(1)} ms for a new text, ${checkCpu.sameTextMs.toFixed(2)} ms for the same text again\n`);
  // this machine is shared: the load average says how much the figures were squeezed
  const out = { started: new Date().toISOString(), backend, device, model: "none", loadavg: loadavg(), iterations: n, runs, loop: rows, latency, firstCellMs, checkCpu };
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(join(root, "bench", "results", "cell-loop.json"), JSON.stringify(out, null, 2) + "\n");
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ error: e.message }) + "\n");
  process.exitCode = 1;
} finally {
  const keepAlive = setTimeout(() => undefined, 10_000); // until the language-service worker has ended
  await session.shutdown();
  clearTimeout(keepAlive);
  rmSync(dir, { recursive: true, force: true });
}
