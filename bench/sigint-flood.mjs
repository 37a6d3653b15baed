#!/usr/bin/env node
// A flood of interrupts against the real Session: each run starts a session in a child process and runs
// short cells (a synchronous loop, an await then a loop, `1+1`) while a shell sends it SIGINTs about
// 10-15 ms apart. A run ends "survived" (every cell finished, the session still answers), "died" (the
// process was killed by the signal) or "hung" (no result within the time limit).
// --via interrupt_request: the same cells and count through a real kernel started by jupyter_client,
// which sends interrupt_request messages on the control channel about every 15 ms
// (bench/interrupt-flood-kernel.py); "survived" also means a variable set before the flood is intact.
//   node bench/sigint-flood.mjs [--runs 20] [--signals 300] [--limit-s 40] [--via sigint|interrupt_request]
// Prints a table and writes bench/results/sigint-flood[-interrupt_request]-<signals>.json. Needs the
// TypeScript build (npm run build or npm test). No MLX work runs: the figures are the interrupt path's.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

async function child(signals) {
  const { createSession } = await import(pathToFileURL(join(root, "dist", "kernel", "session", "index.js")).href);
  const { processInterrupter } = await import(pathToFileURL(join(root, "dist", "kernel", "session", "interrupt.js")).href);
  const dir = mkdtempSync(join(tmpdir(), "mlx-ts-flood-"));
  const session = await createSession({ historyFile: join(dir, "history.jsonl"), cwd: dir, catchProcessErrors: false, warmLanguageService: false });
  const sink = { stream() {}, display() {}, updateDisplay() {}, clearOutput() {}, input: () => Promise.reject(new Error("no stdin")) };
  const killer = spawn("sh", ["-c", `for i in $(seq 1 ${signals}); do kill -INT ${process.pid}; sleep 0.01; done`], { stdio: "ignore" });
  let flooding = true;
  killer.on("exit", () => { flooding = false; });
  const cells = ["let a = 0; for (let i = 0; i < 2e5; i++) a += i; a", "await new Promise((r) => setTimeout(r, 2)); let b = 0; for (let i = 0; i < 2e5; i++) b += i; b", "1+1"];
  const seen = { ok: 0, interrupted: 0, other: 0 };
  let k = 0;
  // the parent asks for this before it kills a run that stopped answering: where it was
  process.on("SIGUSR2", () => {
    process.stdout.write(JSON.stringify({ stuck: { pid: process.pid, cell: cells[k % cells.length], ...seen, flooding, running: Boolean(session.running), starting: session.starting } }) + "\n");
  });
  for (; flooding; k++) {
    const r = await session.execute({ code: cells[k % cells.length], silent: false, storeHistory: false, allowStdin: false }, sink);
    if (r.status === "ok") seen.ok++;
    else if (r.ename === "InterruptError") seen.interrupted++;
    else seen.other++;
  }
  const last = await session.execute({ code: "40 + 2", silent: false, storeHistory: false, allowStdin: false }, sink);
  // taken by the listeners, delivered to the session, main-thread terminations sent and skipped
  const interrupter = processInterrupter().stats();
  await session.shutdown();
  process.stdout.write(JSON.stringify({ ...seen, answers: last.status === "ok" && last.result?.["text/plain"] === "42", interrupter }) + "\n");
  process.exit(0);
}

function oneRun(signals, limitS) {
  return new Promise((done) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", "--signals", String(signals)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => { out += d; });
    p.stderr.on("data", (d) => { err = (err + d).slice(-2000); });
    const timer = setTimeout(() => {
      p.kill("SIGUSR2");
      setTimeout(() => p.kill("SIGKILL"), 2000);
    }, limitS * 1000);
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      const pid = p.pid;
      const line = out.trim().split("\n").pop();
      if (code === 0 && line?.startsWith("{")) done({ outcome: "survived", pid, ...JSON.parse(line) });
      else if (signal === "SIGKILL") done({ outcome: "hung", pid, ...(line?.startsWith("{") ? JSON.parse(line) : {}) });
      else done({ outcome: signal === "SIGINT" || code === 130 ? "died" : "failed", pid, code, signal, stderr: err });
    });
  });
}

/** One run through a real kernel and jupyter_client (interrupt_request messages); `jupyterPath` holds the kernelspec. */
function oneKernelRun(signals, limitS, jupyterPath) {
  return new Promise((done) => {
    const py = join(root, ".venv", "bin", "python");
    const p = spawn(py, [join(root, "bench", "interrupt-flood-kernel.py"), "--interrupts", String(signals), "--limit-s", String(limitS)],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, JUPYTER_PATH: jupyterPath, PYTHONUNBUFFERED: "1" } });
    let out = "", err = "";
    p.stdout.on("data", (d) => { out += d; });
    p.stderr.on("data", (d) => { err = (err + d).slice(-2000); });
    // the driver has its own limit; this one is for a driver that itself stops answering
    const timer = setTimeout(() => p.kill("SIGKILL"), (limitS + 120) * 1000);
    p.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop();
      if (line?.startsWith("{")) {
        const r = JSON.parse(line);
        done(r.outcome === "survived" ? r : { ...r, stderr: err });
      } else done({ outcome: "failed", code, stderr: err });
    });
  });
}

if (process.argv.includes("--child")) {
  await child(arg("signals", 300));
} else {
  const runs = arg("runs", 20), signals = arg("signals", 300), limitS = arg("limit-s", 40);
  const viaAt = process.argv.indexOf("--via");
  const via = viaAt > 0 ? process.argv[viaAt + 1] : "sigint";
  if (via !== "sigint" && via !== "interrupt_request") throw new Error(`--via ${via}: expected sigint or interrupt_request`);
  let run = () => oneRun(signals, limitS);
  let cleanup = () => undefined;
  if (via === "interrupt_request") {
    const prefix = mkdtempSync(join(tmpdir(), "mlx-ts-flood-spec-"));
    const r = spawnSync(process.execPath, [join(root, "dist", "bin", "mlx-ts.js"), "install", "--prefix", prefix], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`mlx-ts install failed: ${r.stderr}`);
    run = () => oneKernelRun(signals, limitS, join(prefix, "share", "jupyter"));
    cleanup = () => rmSync(prefix, { recursive: true, force: true });
  }
  const results = [];
  try {
    for (let i = 0; i < runs; i++) {
      results.push(await run());
      process.stderr.write(`run ${i + 1}/${runs}: ${results.at(-1).outcome}\n`);
    }
  } finally {
    cleanup();
  }
  const count = (o) => results.filter((r) => r.outcome === o).length;
  const command = `node bench/sigint-flood.mjs ${process.argv.slice(2).join(" ")}`.trim();
  const summary = {
    when: new Date().toISOString(), command, via, node: process.version, cpus: cpus().length, backend: "none (no MLX work; the interrupt path only)",
    runs, signals, survived: count("survived"), died: count("died"), hung: count("hung"), failed: count("failed"), results,
  };
  const what = via === "sigint" ? "SIGINTs" : "interrupt_requests";
  console.log(`| via | runs | ${what} per run | survived | died | hung | failed |\n|---|---|---|---|---|---|---|\n| ${via} | ${runs} | ${signals} | ${summary.survived} | ${summary.died} | ${summary.hung} | ${summary.failed} |`);
  console.log(`(${command}; Node ${process.version}, ${cpus().length} CPUs)`);
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(join(root, "bench", "results", `sigint-flood${via === "sigint" ? "" : "-" + via}-${signals}.json`), JSON.stringify(summary, null, 2) + "\n");
}
