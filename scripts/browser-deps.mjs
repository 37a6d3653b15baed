#!/usr/bin/env node
// Makes sure the headless Chromium the JupyterLab browser test drives is installed (Debian's `chromium`,
// not a Playwright download: only npm, PyPI and apt are reachable in CI). Idempotent: does nothing when
// /usr/bin/chromium exists. When it cannot install, it prints one line saying why and exits 0, so the
// rest of the suite still runs; the browser test then fails with the same reason.
import { existsSync } from "node:fs";
import { ensureDebPackages } from "./lib/apt.mjs";

export const CHROMIUM = "/usr/bin/chromium";

const log = (msg) => process.stderr.write(`mlx-ts browser-deps: ${msg}\n`);

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return { ok: true };
  if (process.platform !== "linux") return { ok: false, reason: `${process.platform} is not Linux; install Chromium at ${CHROMIUM} to run the browser test` };
  log("installing Debian's chromium for the JupyterLab browser test (apt-get, once)");
  const r = ensureDebPackages(["chromium"], log);
  if (!r.ok) return { ok: false, reason: r.why };
  return existsSync(CHROMIUM) ? { ok: true } : { ok: false, reason: `the chromium package is installed but ${CHROMIUM} is missing` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureChromium();
  if (!r.ok) log(`no Chromium, the JupyterLab browser test will fail: ${r.reason}`);
}
