#!/usr/bin/env node
// Model load time, cold (first load in a fresh process) and warm (the same model loaded again in that
// process, files in the page cache), and the process's peak RSS, for one model id. Prints one JSON line.
//   node bench/load-time.mjs [MODEL_ID=smollm2]
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const id = process.argv[2] ?? "smollm2";
const { createEngine } = await import(join(root, "dist", "kernel", "engine", "index.js"));
const engine = createEngine();
const t0 = performance.now();
const model = await engine.load(id, { as: "a" });
const coldMs = performance.now() - t0;
const weightBytes = model.info().weightBytes;
engine.unload("a");
const t1 = performance.now();
await engine.load(id, { as: "b" });
const warmMs = performance.now() - t1;
const peakRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify({ model: id, coldMs, warmMs, peakRssBytes, weightBytes, mlxPeakBytes: engine.memory().peak }) + "\n");
process.exit(0);
