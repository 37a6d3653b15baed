// What the JupyterLab browser tests share: when they may skip, getting headless Chromium (Debian's,
// driven by playwright-core), a JupyterLab from .venv with our kernelspec, and waiting on its kernel.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { installTempKernelSpec, ROOT, startJupyterServer, type JupyterServer } from "./kernel-harness.js";

export const CHROMIUM = "/usr/bin/chromium";

// Only a platform without Debian's chromium package may skip; on Linux a missing browser is a failure.
export const SKIP = process.platform !== "linux" && !existsSync(CHROMIUM)
  ? `${process.platform} is not Linux and ${CHROMIUM} is missing: install Chromium there to run the JupyterLab browser test`
  : undefined;

/** Installs Chromium the way `npm test` does (idempotent); throws scripts/browser-deps.mjs's reason when it cannot. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "browser-deps.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (!existsSync(CHROMIUM)) throw new Error(`headless Chromium is required for the JupyterLab browser test and could not be installed: ${(r.stderr || r.error?.message || "").trim()}`);
}

/** Polls `cond` until it holds; throws `what` after `timeout` ms (expect.poll works only inside a test). */
export async function until(cond: () => Promise<boolean>, timeout: number, what: string): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** JupyterLab on `root` with our kernelspec; `configDir` holds labconfig/page_config.json (writePageConfig). */
export async function startLab(root: string): Promise<{ lab: JupyterServer; configDir: string }> {
  const { env, dir } = installTempKernelSpec();
  // Temp config/data/runtime dirs (from installTempKernelSpec) keep the user's settings out.
  const configDir = join(dir, "config");
  writePageConfig(configDir, []);
  const lab = await startJupyterServer({ ...env, HOME: dir }, root, {
    app: "lab",
    args: ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.open_browser=False"],
  });
  return { lab, configDir };
}

/** JupyterLab's page config, read at every page load: the news toast is off (it would cover the notebook), and so are `disabled` extensions. */
export function writePageConfig(configDir: string, disabled: string[]): void {
  const labconfig = join(configDir, "labconfig");
  mkdirSync(labconfig, { recursive: true });
  const off = Object.fromEntries(["@jupyterlab/apputils-extension:announcements", ...disabled].map((e) => [e, true]));
  writeFileSync(join(labconfig, "page_config.json"), JSON.stringify({ disabledExtensions: off }));
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

// The toolbar says "idle" while the status bar still says "No Kernel | Initializing", and a Run All sent
// then runs nothing (seen under load): wait for the server to see the notebook's websocket on an idle
// kernel, and for the status bar to say Idle.
export async function waitForKernel(page: Page, server: JupyterServer, timeout: number): Promise<void> {
  await until(async () => {
    const r = await fetch(`${server.baseUrl}api/kernels`, { headers: { Authorization: `token ${server.token}` } });
    const kernels = (await r.json()) as { execution_state: string; connections: number }[];
    return kernels.some((k) => k.connections > 0 && k.execution_state === "idle");
  }, timeout, "the notebook's kernel to be started, connected and idle");
  await page.locator(".jp-StatusBar-TextItem", { hasText: /\| Idle$/ }).waitFor({ timeout });
}

/** A browser test file's teardown: a last screenshot, the browser closed, JupyterLab stopped and its log kept. */
export async function closeLab(browser: Browser | undefined, lastShot: (() => Promise<void>) | undefined, lab: JupyterServer | undefined, logFile: string): Promise<void> {
  if (browser) {
    if (lastShot) await lastShot();
    await browser.close().catch(() => undefined);
  }
  if (lab) {
    await lab.stop();
    mkdirSync(dirname(logFile), { recursive: true });
    writeFileSync(logFile, lab.log());
  }
}
