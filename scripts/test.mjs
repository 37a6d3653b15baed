#!/usr/bin/env node
// Runs the whole vitest suite and ends with the plain "N passed, N failed" line CI reads.
// Extra arguments go to vitest (e.g. `npm test -- test/unit`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "test", ".artifacts", "vitest.json");
mkdirSync(dirname(out), { recursive: true });
// Headless Chromium for the JupyterLab browser test; prints one line and goes on if it cannot be had.
spawnSync(process.execPath, [join(root, "scripts", "browser-deps.mjs")], { cwd: root, stdio: "inherit" });
// OpenSSH's server for the test of ranks started over a real ssh login; the same one-line rule.
spawnSync(process.execPath, [join(root, "scripts", "sshd-deps.mjs")], { cwd: root, stdio: "inherit" });
const r = spawnSync(process.execPath, [join(root, "node_modules", "vitest", "vitest.mjs"), "run",
  "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit", env: { ...process.env, FORCE_COLOR: process.env.CI ? "0" : process.env.FORCE_COLOR } });

let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const j = JSON.parse(readFileSync(out, "utf8"));
  passed = j.numPassedTests ?? 0;
  failed = (j.numFailedTests ?? 0) + (j.testResults ?? []).filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
} else failed = 1;
const code = r.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(code);
