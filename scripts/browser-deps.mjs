#!/usr/bin/env node
// Makes sure the headless Chromium the JupyterLab browser test drives is installed (Debian's `chromium`,
// not a Playwright download: only npm, PyPI and apt are reachable in CI). Idempotent: does nothing when
// /usr/bin/chromium exists. When it cannot install, it prints one line saying why and exits 0, so the
// rest of the suite still runs; the browser test then fails with the same reason.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";

const log = (msg) => process.stderr.write(`mlx-ts browser-deps: ${msg}\n`);

function aptGet() {
  for (const p of ["/usr/bin/apt-get", "/bin/apt-get"]) if (existsSync(p)) return p;
  return null;
}

/** Why Chromium cannot be installed here, or null when it can be tried. */
function cannotInstall() {
  if (process.platform !== "linux") return `${process.platform} is not Linux; install Chromium at ${CHROMIUM} to run the browser test`;
  if (!aptGet()) return "apt-get not found; install your distribution's chromium package so that /usr/bin/chromium exists";
  if (process.getuid?.() !== 0) return "not root, so apt-get cannot install chromium; run `sudo apt-get install -y --no-install-recommends chromium`";
  return null;
}

// An install from stale or missing package lists fails (no candidate, or 404 on the .deb): only then
// is `apt-get update` worth its time.
function hasCandidate() {
  const r = spawnSync("apt-cache", ["policy", "chromium"], { encoding: "utf8" });
  const m = /Candidate:\s*(\S+)/.exec(r.stdout ?? "");
  return Boolean(m && m[1] !== "(none)");
}

function apt(args) {
  const r = spawnSync(aptGet(), args, {
    stdio: ["ignore", "ignore", "pipe"], encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return { ok: r.status === 0, err: (r.stderr ?? r.error?.message ?? "").trim().split("\n").slice(-3).join(" | ") };
}

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return { ok: true };
  const why = cannotInstall();
  if (why) return { ok: false, reason: why };
  log("installing Debian's chromium for the JupyterLab browser test (apt-get, once)");
  if (!hasCandidate()) {
    const u = apt(["update"]);
    if (!u.ok) return { ok: false, reason: `apt-get update failed: ${u.err}` };
  }
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  let r = apt(install);
  if (!r.ok) {
    apt(["update"]);
    r = apt(install);
  }
  if (!r.ok || !existsSync(CHROMIUM)) return { ok: false, reason: `apt-get install chromium failed: ${r.err}` };
  return { ok: true };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = ensureChromium();
  if (!r.ok) log(`no Chromium, the JupyterLab browser test will fail: ${r.reason}`);
}
