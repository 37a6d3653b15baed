// mlx-ts's JupyterLab extension (labextension/, built and installed into .venv by the set-up) as a person
// sees it, in headless Chromium: magic lines and `%%` bodies are drawn as plain text while TypeScript
// stays TypeScript; a restart during a generation ends its output as "cut off by restart" at once (not
// after the 20 s CSS expiry, token-stream.ts); and with the extension disabled, cells fall back to
// JupyterLab's TypeScript. Screenshots and the JupyterLab log go to test/.artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type JupyterServer } from "./kernel-harness.js";
import { SKIP, closeLab, ensureChromium, launchChromium, startLab, waitForKernel, writePageConfig } from "./lab-browser.js";

const ARTIFACTS = join(ROOT, "test", ".artifacts");
const SHOTS = join(ARTIFACTS, "screenshots-labextension");
const LAB_LOG = join(ARTIFACTS, "jupyterlab-labextension.log");
const EXTENSION = "mlx-ts-labextension";
const INSTALLED = join(ROOT, ".venv", "share", "jupyter", "labextensions", EXTENSION, "package.json");
const LIVE_CURSOR = "▌";

const MAGIC_CELL = "%%generate --max-tokens 32\nWrite a haiku about the sea; const x = 1 - -2;";
const MIXED_CELL = "%load smollm2\nlet n = 1;\nn--";
const LONG_CELL = "%%generate --max-tokens 2000\nTell a very long story about a harbour and its boats.";

function notebook(): string {
  const cell = (source: string, id: string): object => ({ cell_type: "code", id, execution_count: null, metadata: {}, outputs: [], source });
  return JSON.stringify({
    cells: [cell(MAGIC_CELL, "magic"), cell(MIXED_CELL, "mixed"), cell(LONG_CELL, "long")],
    metadata: { kernelspec: { name: "mlx-ts", display_name: "TypeScript (MLX)", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

let lab: JupyterServer | undefined;
let configDir = "";
let browser: Browser | undefined;
let page: Page;
let step = 0;
/** The page's console errors and uncaught exceptions (an extension that fails to activate says so there). */
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${String(++step).padStart(2, "0")}-${name}.png`) }).catch(() => undefined);
}

function codeCell(start: string): Locator {
  return page.locator(".jp-Notebook .jp-CodeCell").filter({ has: page.locator(".jp-InputArea-editor", { hasText: start }) }).first();
}

/** A new page on the notebook, its kernel connected and idle. */
async function openNotebook(): Promise<void> {
  if (page) await page.close({ runBeforeUnload: false });
  page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("console", (m) => void (m.type() === "error" && pageErrors.push(m.text())));
  page.on("pageerror", (e) => void pageErrors.push(e.message));
  await page.goto(`${lab!.baseUrl}lab/tree/cells.ipynb?reset&token=${lab!.token}`);
  await page.locator(".jp-Notebook .jp-CodeCell").first().waitFor({ timeout: 120_000 });
  await waitForKernel(page, lab!, 120_000);
}

interface Token {
  text: string;
  weight: string;
}

/**
 * The highlighted tokens of each line of a cell's editor, as drawn: CodeMirror wraps a highlighted token
 * in a span whose class its highlight style generated (`ͼ…`); plain text is a bare text node.
 */
async function tokens(cell: Locator): Promise<Token[][]> {
  return cell.locator(".jp-InputArea-editor .cm-line").evaluateAll((lines) =>
    lines.map((line) =>
      Array.from(line.querySelectorAll("span"))
        .filter((s) => /ͼ/.test(s.className))
        .map((s) => ({ text: s.textContent ?? "", weight: getComputedStyle(s).fontWeight })),
    ),
  );
}

const bold = (t: Token): boolean => Number(t.weight) >= 600;

beforeAll(async () => {
  if (SKIP) return;
  ensureChromium();
  if (!existsSync(INSTALLED)) throw new Error(`the JupyterLab extension is not installed at ${INSTALLED}: run npm run setup`);
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), "mlx-ts-labext-root-"));
  writeFileSync(join(root, "cells.ipynb"), notebook());
  ({ lab, configDir } = await startLab(root));
  browser = await launchChromium();
  await openNotebook();
  await shot("opened");
}, 300_000);

afterAll(() => closeLab(browser, page ? () => shot("final") : undefined, lab, LAB_LOG), 60_000);

describe.skipIf(SKIP !== undefined)(`the mlx-ts JupyterLab extension, headless Chromium${SKIP ? ` (skipped: ${SKIP})` : ""}`, () => {
  it("JupyterLab loads it, and a %%generate cell is plain text while TypeScript lines keep their highlighting", async () => {
    const config = await page.evaluate(() => JSON.parse(document.getElementById("jupyter-config-data")?.textContent ?? "{}") as { federated_extensions?: { name: string }[] });
    expect(config.federated_extensions?.map((e) => e.name)).toContain(EXTENSION);

    const mixed = codeCell("%load smollm2");
    // The TypeScript lines are highlighted: the language has loaded and parsed the cell.
    await expect.poll(async () => (await tokens(mixed))[1]?.some((t) => t.text === "let" && bold(t)), { timeout: 30_000 }).toBe(true);
    await shot("highlighting");
    const m = await tokens(mixed);
    expect(m[0]).toEqual([]); // `%load smollm2`: no token at all
    expect(m[2]?.some((t) => t.text === "--" && bold(t))).toBe(true); // `n--` is TypeScript's operator

    const magic = await tokens(codeCell("%%generate --max-tokens 32"));
    // the magic line (`--max-tokens` is no decrement) and the prompt (`const`, `-` are words) are plain
    expect(magic).toEqual([[], []]);
    expect(pageErrors.filter((e) => /mlx-ts/i.test(e))).toEqual([]);
  }, 180_000);

  it("a restart during a generation ends the output as 'cut off by restart' at once, without the live cursor", async () => {
    // %load smollm2, then the long generation
    await codeCell("%load smollm2").locator(".jp-InputArea-editor").click();
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.press("Shift+Enter");
    const out = codeCell("%%generate --max-tokens 2000").locator(".mlx-ts-generation");
    await expect.poll(async () => ((await out.count()) ? (await out.innerText()).replace(LIVE_CURSOR, "").trim().length : 0), { timeout: 180_000, interval: 200 }).toBeGreaterThan(20);
    expect(await out.innerText()).toContain(LIVE_CURSOR);
    await shot("streaming");

    await page.locator(".jp-NotebookPanel-toolbar [data-command='notebook:restart-kernel']").click();
    await page.locator(".jp-Dialog .jp-mod-accept").click();
    const restarted = Date.now();
    // well inside the 20 s after which the kernel's CSS would hide the cursor by itself
    await expect.poll(async () => out.innerText(), { timeout: 8_000, interval: 200 }).toMatch(/cut off by restart/);
    const seconds = (Date.now() - restarted) / 1000;
    await shot("cut-off-by-restart");
    const text = await out.innerText();
    expect(text).not.toContain(LIVE_CURSOR);
    expect(text).not.toMatch(/no update for/);
    expect(await out.locator(".mlx-ts-live-cursor, .mlx-ts-stale-note, style").count()).toBe(0);
    expect(text.match(/cut off by restart/g)).toHaveLength(1);
    expect(seconds).toBeLessThan(8);
    await waitForKernel(page, lab!, 120_000);
  }, 300_000);

  // Here JupyterLab keeps listening until the kernel has gone, so the kernel's own final render lands.
  it("shutting the kernel down during a generation ends the output as cut off, without the live cursor", async () => {
    const long = codeCell("%%generate --max-tokens 2000");
    await codeCell("%load smollm2").locator(".jp-InputArea-editor").click();
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.press("Shift+Enter");
    const out = long.locator(".mlx-ts-generation");
    await expect.poll(async () => ((await out.count()) ? await out.innerText() : ""), { timeout: 180_000, interval: 200 }).toMatch(new RegExp(`\\S{3}.*${LIVE_CURSOR}`, "s"));
    await page.locator(".lm-MenuBar-itemLabel", { hasText: /^Kernel$/ }).click();
    await page.locator(".lm-Menu-item[data-command='kernelmenu:shutdown']").click();
    const dialog = page.locator(".jp-Dialog .jp-mod-accept");
    if (await dialog.isVisible({ timeout: 2_000 }).catch(() => false)) await dialog.click();
    await expect.poll(async () => out.innerText(), { timeout: 8_000, interval: 200 }).toMatch(/cut off: the kernel (shut down|stopped)/);
    await shot("cut-off-by-shutdown");
    expect(await out.innerText()).not.toContain(LIVE_CURSOR);
  }, 300_000);

  it("with the extension disabled, mlx-ts cells fall back to JupyterLab's TypeScript", async () => {
    writePageConfig(configDir, [EXTENSION]);
    await openNotebook();
    const config = await page.evaluate(() => JSON.parse(document.getElementById("jupyter-config-data")?.textContent ?? "{}") as { disabledExtensions?: string[] });
    expect(config.disabledExtensions).toContain(EXTENSION);
    const magic = codeCell("%%generate --max-tokens 32");
    // TypeScript's highlighting, magic line included: `--` before max-tokens is drawn as an operator
    await expect.poll(async () => (await tokens(magic))[0]?.some((t) => t.text === "--" && bold(t)), { timeout: 30_000 }).toBe(true);
    await shot("without-extension");
    expect((await tokens(magic))[1]?.some((t) => t.text === "const" && bold(t))).toBe(true);
  }, 180_000);
});
