// The notebooks in notebooks/ run headless with nbclient against the real kernel, without errors, and
// their outputs hold the expected mime types: model cards, generations with stats lines, tables, charts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT, VENV_BIN } from "./kernel-harness.js";
import { installKernelWithMagics, STATS_LINE } from "./magics-harness.js";
import { exampleModels, exampleModelsDir } from "../../scripts/setup.mjs";

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

const NBCLIENT = `
import sys, nbformat
from nbclient import NotebookClient
src, dst, cwd = sys.argv[1:4]
nb = nbformat.read(src, as_version=4)
NotebookClient(nb, kernel_name="mlx-ts", timeout=1200, startup_timeout=120, resources={"metadata": {"path": cwd}}).execute()
nbformat.write(nb, dst)
`;

let env: NodeJS.ProcessEnv;
const out = mkdtempSync(join(tmpdir(), "mlx-ts-notebooks-"));

function execute(name: string): Cell[] {
  const dst = join(out, name);
  const r = spawnSync(join(VENV_BIN, "python"), ["-c", NBCLIENT, join(ROOT, "notebooks", name), dst, join(ROOT, "notebooks")], {
    env, encoding: "utf8", timeout: 1_500_000, maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${name} failed under nbclient (${r.status}):\n${r.stderr.slice(-4000)}`);
  return (JSON.parse(readFileSync(dst, "utf8")) as { cells: Cell[] }).cells;
}

const src = (c: Cell): string => (Array.isArray(c.source) ? c.source.join("") : c.source);
const cell = (cells: Cell[], start: string): Cell => {
  const c = cells.find((x) => x.cell_type === "code" && src(x).startsWith(start));
  if (!c) throw new Error(`no cell starting with ${start}`);
  return c;
};
const plain = (o: Output): string => {
  const t = o.data?.["text/plain"] ?? o.text ?? "";
  return Array.isArray(t) ? t.join("") : String(t);
};
const html = (o: Output): string => {
  const t = o.data?.["text/html"] ?? "";
  return Array.isArray(t) ? t.join("") : String(t);
};
function noErrors(cells: Cell[]): void {
  for (const c of cells) for (const o of c.outputs ?? []) expect(o.output_type, `${src(c)}: ${o.ename}: ${o.evalue}`).not.toBe("error");
}

const NOTEBOOKS = join(ROOT, "notebooks");
const read = (name: string): Cell[] => (JSON.parse(readFileSync(join(NOTEBOOKS, name), "utf8")) as { cells: Cell[] }).cells;
const shipped = readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort();
/** the notebooks each test below runs; every shipped one must be among them */
const RUN_HERE = ["bench.ipynb", "quantize-and-profile.ipynb", "quickstart.ipynb", "smoke.ipynb"];

/** The longest run of one phrase (2 to 6 words) repeated back to back, in repeats. */
function longestLoop(text: string): number {
  const w = text.toLowerCase().split(/\s+/).filter(Boolean);
  let best = 1;
  for (let n = 2; n <= 6; n++) {
    for (let i = 0; i + n <= w.length; i++) {
      let k = 1;
      while (w.slice(i + k * n, i + (k + 1) * n).join(" ") === w.slice(i, i + n).join(" ")) k++;
      best = Math.max(best, k);
    }
  }
  return best;
}

describe("the shipped notebooks need only what set-up provides", () => {
  it("every notebook in notebooks/ is run by this file", () => {
    expect(shipped).toEqual(RUN_HERE);
  });

  it("loads only the embedded alias or checkpoints that set-up makes, and checks quality on at least 16 tokens", () => {
    exampleModels(); // what `npm start` runs; a no-op when its stamp matches
    for (const name of shipped) {
      for (const c of read(name).filter((x) => x.cell_type === "code")) {
        for (const m of src(c).matchAll(/^%load\s+(\S+)/gm)) {
          const target = m[1]!;
          if (target === "smollm2") continue;
          const abs = resolve(NOTEBOOKS, target);
          expect(relative(exampleModelsDir, abs).startsWith(".."), `${name}: %load ${target} is outside what set-up makes`).toBe(false);
          expect(existsSync(join(abs, "config.json")), `${name}: ${target} after set-up`).toBe(true);
        }
        for (const m of src(c).matchAll(/--check-tokens\s+(\d+)/g)) expect(Number(m[1]), `${name}: ${src(c)}`).toBeGreaterThanOrEqual(16);
      }
    }
  });
});

beforeAll(() => {
  ensureBuilt();
  exampleModels();
  env = installKernelWithMagics().env;
}, 600_000);

describe("notebooks run headless with nbclient", () => {
  it("quickstart.ipynb: model card, streamed generations with stats lines, chat reusing the cache, profile chart, tables", () => {
    const cells = execute("quickstart.ipynb");
    noErrors(cells);
    const card = cell(cells, "%load smollm2").outputs!;
    expect(card).toHaveLength(1);
    expect(html(card[0]!)).toContain("mlx-ts-model-card");
    const gen = cell(cells, "%%generate").outputs!;
    expect(gen).toHaveLength(1);
    // the first answer a newcomer sees reads as text: no phrase looping back to back
    const answer = plain(gen[0]!).split("\nprompt: ")[0]!;
    expect(answer.split(/\s+/).length).toBeGreaterThan(5);
    expect(longestLoop(answer), answer).toBeLessThan(3);
    expect(gen[0]!.output_type).toBe("display_data");
    expect(plain(gen[0]!)).toMatch(STATS_LINE);
    expect(html(gen[0]!)).toContain("mlx-ts-stats");
    const turn2 = cell(cells, "%%chat --max-tokens 32").outputs!;
    expect(plain(turn2[0]!)).toMatch(/prompt: \d+ tokens \(\d+ reused\)/);
    expect(cell(cells, "const { stats }").outputs!.find((o) => o.output_type === "execute_result")).toBeDefined();
    const prof = cell(cells, "%profile").outputs!;
    expect(prof.map(plain).join("\n")).toMatch(/prefill .*\d+ tokens/);
    expect(prof.some((o) => o.data?.["application/vnd.vegalite.v5+json"] && o.data?.["image/svg+xml"])).toBe(true);
    expect(html(cell(cells, "%models").outputs![0]!)).toContain("<table>");
    expect(plain(cell(cells, "%memory").outputs![0]!)).toMatch(/weights: smollm2/);
  }, 1_500_000);

  it("quantize-and-profile.ipynb: sizes and quality of 8- and 4-bit copies, speed table, profile chart, memory timeline", () => {
    const cells = execute("quantize-and-profile.ipynb");
    noErrors(cells);
    for (const bits of [8, 4]) {
      const q = cell(cells, `%quantize qwen3-tiny --bits ${bits}`).outputs!;
      const table = q.find((o) => plain(o).includes("greedy-token agreement"))!;
      expect(plain(table)).toMatch(new RegExp(`affine ${bits}-bit, group 64`));
      expect(html(table)).toContain("<table>");
    }
    const speed = cell(cells, "const speed").outputs!.find((o) => o.output_type === "execute_result")!;
    expect(html(speed)).toContain("qwen3-tiny-4bit");
    const prof = cell(cells, "%profile").outputs!;
    expect(prof.some((o) => o.data?.["application/vnd.vegalite.v5+json"] && o.data?.["image/svg+xml"])).toBe(true);
    expect(prof.map(plain).join("\n")).toMatch(/prefill/);
    const trace = cell(cells, "%memtrace off").outputs!;
    expect(trace.some((o) => o.data?.["application/vnd.vegalite.v5+json"] && o.data?.["image/svg+xml"])).toBe(true);
  }, 1_500_000);

  it("smoke.ipynb: values, output, a display and top-level await", () => {
    const cells = execute("smoke.ipynb");
    noErrors(cells);
    expect(plain(cell(cells, "await new Promise").outputs!.find((o) => o.output_type === "execute_result")!)).toBe("6");
  }, 1_500_000);

  it("bench.ipynb: a sweep table and chart", () => {
    const cells = execute("bench.ipynb");
    noErrors(cells);
    const b = cell(cells, "%bench").outputs!;
    expect(html(b[0]!)).toContain("<table>");
    expect(plain(b[0]!)).toMatch(/saved to .*\.json/);
    expect(b.some((o) => o.data?.["application/vnd.vegalite.v5+json"] && o.data?.["image/svg+xml"])).toBe(true);
    const rows = cell(cells, "lastBench").outputs!.find((o) => o.output_type === "execute_result")!;
    expect(plain(rows)).toMatch(/genTokPerSec/);
  }, 1_500_000);
});
