// The user's first contact, end to end: JupyterLab from .venv with our kernelspec, quickstart.ipynb opened
// in headless Chromium (Debian's, driven by playwright-core), Run All, then a long %%generate stopped with
// the toolbar's interrupt button. Screenshots and the JupyterLab log go to test/.artifacts/ for debugging.
// The extension's part (highlighting, a restart during a generation) is jupyterlab-labextension.test.ts.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type JupyterServer } from "./kernel-harness.js";
import { SKIP, closeLab, ensureChromium, launchChromium, startLab, waitForKernel as waitForLabKernel } from "./lab-browser.js";

const ARTIFACTS = join(ROOT, "test", ".artifacts");
const SHOTS = join(ARTIFACTS, "screenshots");
const LAB_LOG = join(ARTIFACTS, "jupyterlab-browser.log");
const STATS = /prompt: \d+ tokens.*TTFT: .*generation: \d+ tokens, [\d.–]+ tok\/s.*peak memory: .*stop: \w+/;
const LIVE_CURSOR = "▌";

let lab: JupyterServer | undefined;
let browser: Browser | undefined;
let page: Page;
let step = 0;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${String(++step).padStart(2, "0")}-${name}.png`), fullPage: false }).catch(() => undefined);
}

/** The first code cell whose editor holds `start` (the cells of quickstart.ipynb differ in their first line). */
function codeCell(start: string): Locator {
  return page.locator(".jp-Notebook .jp-CodeCell").filter({ has: page.locator(".jp-InputArea-editor", { hasText: start }) }).first();
}

const idle = (): Locator => page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']");

async function waitForKernel(timeout: number): Promise<void> {
  await waitForLabKernel(page, lab!, timeout);
}

/** Waits until no cell shows the running prompt `[*]` and the kernel indicator says idle. */
async function waitForIdle(timeout: number): Promise<void> {
  await expect.poll(async () => (await page.locator(".jp-Notebook .jp-InputPrompt").allInnerTexts()).some((t) => t.includes("*")), { timeout, interval: 250 }).toBe(false);
  await idle().waitFor({ timeout });
}

beforeAll(async () => {
  if (SKIP) return;
  ensureChromium();
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });

  // A copy of notebooks/, so the run never writes into the repo's quickstart.ipynb.
  const root = mkdtempSync(join(tmpdir(), "mlx-ts-lab-root-"));
  cpSync(join(ROOT, "notebooks"), root, { recursive: true });
  ({ lab } = await startLab(root));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // Every render of a generation output, as the DOM saw it: proves tokens arrived in several updates,
  // however fast the generation ends.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __mlxTsGenerations: string[] }).__mlxTsGenerations = seen;
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of Array.from(r.addedNodes)) {
          if (!(n instanceof Element)) continue;
          const g = n.matches(".mlx-ts-generation") ? [n] : Array.from(n.querySelectorAll(".mlx-ts-generation"));
          for (const e of g) seen.push(e.textContent ?? "");
        }
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${lab.baseUrl}lab/tree/quickstart.ipynb?reset&token=${lab.token}`);
  await page.locator(".jp-Notebook .jp-CodeCell").first().waitFor({ timeout: 120_000 });
  await waitForKernel(120_000);
  await shot("opened");
}, 300_000);

afterAll(() => closeLab(browser, page ? () => shot("final") : undefined, lab, LAB_LOG), 60_000);

describe.skipIf(SKIP !== undefined)(`quickstart.ipynb in JupyterLab, headless Chromium${SKIP ? ` (skipped: ${SKIP})` : ""}`, () => {
  it("Run All: tokens stream in, the stats line and a Vega-Lite chart render, no errors, the kernel returns to idle", async () => {
    await page.locator(".lm-MenuBar-itemLabel", { hasText: /^Run$/ }).click();
    await page.locator(".lm-Menu-item[data-command='runmenu:run-all']:not(.lm-mod-disabled)").click();
    // The first cell is queued or done: otherwise the click reached no kernel, and waiting is pointless.
    await expect.poll(() => codeCell("%load smollm2").locator(".jp-InputPrompt").innerText(), { timeout: 60_000, message: "Run All started no cell" }).toMatch(/\[(\*|\d+)\]/);
    const last = codeCell("%memory");
    await last.locator(".jp-OutputArea-output").first().waitFor({ timeout: 600_000 });
    await waitForIdle(120_000);
    await shot("run-all-done");

    const gen = codeCell("%%generate");
    const final = await gen.locator(".mlx-ts-generation").innerText();
    expect(final).toMatch(STATS);
    expect(final).not.toContain(LIVE_CURSOR);
    expect(await gen.locator(".mlx-ts-stats").innerText()).toMatch(/stop: (length|stop|eos)/);
    const renders = await page.evaluate(() => (window as unknown as { __mlxTsGenerations: string[] }).__mlxTsGenerations);
    // a live render (cursor, text, no stats yet) came before the final one
    expect(renders.some((t) => t.includes(LIVE_CURSOR) && !STATS.test(t) && t.replace(LIVE_CURSOR, "").trim().length > 0)).toBe(true);

    // wrapped between words (JupyterLab's output area says break-all): in a narrow box no word is split across lines
    const split = await gen.locator(".mlx-ts-generation pre").first().evaluate((pre: HTMLElement) => {
      pre.style.width = "140px";
      const text = pre.firstChild as Text;
      const broken: string[] = [];
      for (const m of (text.data ?? "").matchAll(/\S{2,14}/g)) {
        const r = document.createRange();
        r.setStart(text, m.index!);
        r.setEnd(text, m.index! + m[0].length);
        const tops = new Set(Array.from(r.getClientRects()).map((b) => Math.round(b.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
      pre.style.width = "";
      return { broken, style: getComputedStyle(pre).wordBreak, lines: Math.round(pre.getBoundingClientRect().height) };
    });
    expect(split.style).toBe("normal");
    expect(split.broken).toEqual([]);

    expect(await codeCell("%%chat --max-tokens 32").locator(".mlx-ts-stats").innerText()).toMatch(/prompt: \d+ tokens \(\d+ reused\)/);

    const prof = codeCell("%profile");
    await expect.poll(() => prof.locator(".jp-OutputArea-output").allInnerTexts(), { timeout: 30_000 }).toEqual(expect.arrayContaining([expect.stringMatching(/prefill/)]));
    // JupyterLab picks the Vega-Lite bundle and vega-embed draws it as SVG or canvas
    const chart = prof.locator(".jp-RenderedVegaCommon5, .jp-RenderedVegaCommon, .vega-embed").first();
    await chart.locator("svg, canvas").first().waitFor({ timeout: 30_000 });
    await prof.scrollIntoViewIfNeeded();
    await shot("profile-chart");
    // the phases in time order, as drawn: prefill, decode, then the rest
    const axis = await chart.locator("svg .role-axis-label text").evaluateAll((ts) => ts.map((t) => ({ s: t.textContent ?? "", x: t.getBoundingClientRect().left })));
    const phaseX = (name: string): number => axis.find((a) => a.s.startsWith(name))?.x ?? NaN;
    expect(phaseX("prefill")).toBeLessThan(phaseX("decode"));
    expect(phaseX("decode")).toBeLessThan(phaseX("other"));

    expect(await page.locator(".jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()).toBe(0);
    expect(await codeCell("%memory").innerText()).toMatch(/weights: smollm2/);
    await expect.poll(() => page.locator(".jp-Notebook-ExecutionIndicator").getAttribute("data-status")).toBe("idle");
  }, 900_000);

  it("the toolbar's interrupt stops a long %%generate, and the next cell runs with every variable intact", async () => {
    // A new cell at the end, typed like a user would (insertText: no auto-closed brackets).
    await codeCell("%memory").locator(".jp-InputArea-editor").click();
    await page.keyboard.press("Escape");
    await page.keyboard.press("b");
    await page.keyboard.press("Enter");
    await page.keyboard.insertText("%%generate --max-tokens 2000\nTell a very long story about a lighthouse keeper and the sea.");
    await page.keyboard.press("Shift+Enter");

    const long = codeCell("%%generate --max-tokens 2000");
    const out = long.locator(".mlx-ts-generation");
    // tokens are streaming: the live cursor is there and the text grows
    await expect.poll(async () => ((await out.count()) ? (await out.innerText()).replace(LIVE_CURSOR, "").trim().length : 0), { timeout: 120_000, interval: 200 }).toBeGreaterThan(20);
    const before = await out.innerText();
    expect(before).toContain(LIVE_CURSOR);
    await shot("streaming");

    await page.locator(".jp-NotebookPanel-toolbar [data-command='notebook:interrupt-kernel']").click();
    await waitForIdle(60_000);
    await shot("interrupted");
    // Stopped: the text stays with one line saying so, and the cell raised the interrupt; not 2000 tokens.
    const stopped = await long.locator(".jp-OutputArea").innerText();
    expect(stopped).toMatch(/InterruptError/);
    const m = /interrupted after (\d+) tokens?; the partial output is kept/.exec(stopped);
    expect(Number(m?.[1])).toBeLessThan(2000);
    expect(stopped.match(/interrupted after/g)).toHaveLength(1);
    expect(stopped).not.toContain(LIVE_CURSOR);

    // The next cell sees variables from earlier cells and the loaded model.
    await page.keyboard.insertText('[typeof r.text, stats.generatedTokens > 0, session.models.has("smollm2")].join(" ")');
    await page.keyboard.press("Shift+Enter");
    const next = codeCell("[typeof r.text");
    await expect.poll(() => next.locator(".jp-OutputArea-output").allInnerTexts(), { timeout: 60_000 }).toEqual([expect.stringMatching(/string true true/)]);
    await waitForIdle(60_000);
    await shot("next-cell");
  }, 300_000);

  it("%bench's legend shows each series whole, so prompt and generation bars can be told apart", async () => {
    await codeCell("[typeof r.text").locator(".jp-InputArea-editor").click();
    await page.keyboard.press("Escape");
    await page.keyboard.press("b");
    await page.keyboard.press("Enter");
    await page.keyboard.insertText("%bench smollm2 -p 16 -g 4 -n 1");
    await page.keyboard.press("Shift+Enter");
    const bench = codeCell("%bench smollm2");
    const chart = bench.locator(".jp-RenderedVegaCommon5, .jp-RenderedVegaCommon, .vega-embed").first();
    await chart.locator("svg .role-legend-label text").first().waitFor({ timeout: 300_000 });
    await bench.scrollIntoViewIfNeeded();
    await shot("bench-legend");
    const labels = await chart.locator("svg .role-legend-label text").allTextContents();
    expect(labels.some((l) => /prompt$/.test(l))).toBe(true);
    expect(labels.some((l) => /generation$/.test(l))).toBe(true);
    for (const l of labels) expect(l).not.toContain("…");
    await waitForIdle(120_000);
  }, 400_000);
});
