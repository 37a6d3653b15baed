// The magics through the real kernel process, driven by jupyter_client (as nbclient and JupyterLab do):
// rich outputs carry the expected mime types, a generation streams into one display updated in place,
// bad arguments come back as Jupyter errors, and an interrupt stops a generation and keeps the session.
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./kernel-harness.js";
import { cellOutputs, cellText, ensureFixtures, FIXTURES, runInKernel, STATS_LINE, type KernelCellResult } from "./magics-harness.js";

let cells: KernelCellResult[];
const byCode = (prefix: string): KernelCellResult => {
  const c = cells.find((x) => x.code.startsWith(prefix));
  if (!c) throw new Error(`no cell ${prefix}`);
  return c;
};
const displayIds = (c: KernelCellResult): Set<string | undefined> =>
  new Set(c.iopub.filter((m) => m.msg_type === "display_data" || m.msg_type === "update_display_data").map((m) => m.content.transient?.display_id));

beforeAll(() => {
  ensureBuilt();
  ensureFixtures();
  const out = join(mkdtempSync(join(tmpdir(), "mlx-ts-kbench-")), "bench.json");
  cells = runInKernel([
    { code: "%load smollm2" },
    { code: "%models" },
    { code: "%%generate --max-tokens 16\nWhat is the capital of France?" },
    { code: "%%generate --max-tokens 1500\nWrite a very long story about a dragon who learns to code.", interrupt_after: 3, settle: 3 },
    { code: "%%generate --max-tokens 4\nHi" },
    { code: "lastGeneration.stats.generatedTokens" },
    { code: "%quantize smollm2 --bits 9" },
    { code: "%unload nope" },
    { code: "%memory" },
    { code: `%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as q` },
    { code: "%%chat --model q --max-tokens 4 --no-think\nHello" },
    { code: `%bench q -p 8 -g 4 -n 1 --out ${out}` },
    { code: "%kernels" },
  ]);
}, 900_000);

describe("magics through the kernel (jupyter_client)", () => {
  it("%load: a progress display updated in place into the model card (HTML + text)", () => {
    const c = byCode("%load smollm2");
    expect(c.reply?.status).toBe("ok");
    expect(displayIds(c).size).toBe(1);
    expect(c.iopub.some((m) => m.msg_type === "update_display_data")).toBe(true);
    const card = cellOutputs(c)[0]!;
    expect(String(card["text/html"])).toContain("mlx-ts-model-card");
    expect(String(card["text/plain"])).toMatch(/^smollm2 — loaded in/);
  });

  it("%models and %memory: tables as HTML and text", () => {
    for (const code of ["%models", "%memory"]) {
      const b = cellOutputs(byCode(code))[0]!;
      expect(String(b["text/html"])).toContain("<table>");
      expect(typeof b["text/plain"]).toBe("string");
    }
    expect(cellText(byCode("%models"))).toMatch(/smollm2 │ llama/);
  });

  it("%%generate: one display, updated in place, ending with the stats line", () => {
    const c = byCode("%%generate --max-tokens 16");
    expect(c.reply?.status).toBe("ok");
    expect(displayIds(c).size).toBe(1);
    expect(c.iopub.filter((m) => m.msg_type === "display_data")).toHaveLength(1);
    const final = cellOutputs(c)[0]!;
    expect(String(final["text/plain"])).toMatch(STATS_LINE);
    expect(String(final["text/html"])).toContain("mlx-ts-stats");
  });

  it("an interrupt stops %%generate; the partial output and one line saying so stay; the session keeps working", () => {
    const c = byCode("%%generate --max-tokens 1500");
    expect(c.interrupted_at).not.toBeNull();
    expect(c.reply?.status).toBe("error");
    const text = String(cellOutputs(c)[0]!["text/plain"]);
    expect(text).not.toMatch(STATS_LINE);
    expect(Number(/interrupted after (\d+) tokens?; the partial output is kept$/.exec(text)![1])).toBeLessThan(1500);
    const after = byCode("%%generate --max-tokens 4");
    expect(after.reply?.status).toBe("ok");
    expect(String(cellOutputs(after)[0]!["text/plain"])).toMatch(STATS_LINE);
    const r = byCode("lastGeneration.stats.generatedTokens");
    expect(r.reply?.status).toBe("ok");
    const result = r.iopub.find((m) => m.msg_type === "execute_result");
    expect(Number(result?.content.data?.["text/plain"])).toBeGreaterThan(0);
  });

  it("bad arguments and unknown models come back as Jupyter errors that say what to do", () => {
    const q = byCode("%quantize smollm2 --bits 9");
    expect(q.reply?.status).toBe("error");
    expect(q.reply?.ename).toBe("MagicArgError");
    expect(q.reply?.evalue).toMatch(/--bits must be one of 2, 3, 4, 5, 6, 8 \(got 9\)/);
    const u = byCode("%unload nope");
    expect(u.reply?.evalue).toMatch(/No model named "nope" is loaded \(loaded: smollm2\)/);
  });

  it("%%chat on a second model, %bench and %kernels", () => {
    expect(byCode("%%chat --model q").reply?.status).toBe("ok");
    expect(cellText(byCode("%%chat --model q"))).toMatch(STATS_LINE);
    const b = byCode("%bench q");
    expect(b.reply?.status).toBe("ok");
    const outs = cellOutputs(b);
    expect(outs.some((o) => o["application/vnd.vegalite.v5+json"] && o["image/svg+xml"])).toBe(true);
    expect(cellText(byCode("%kernels"))).toContain("mx.fast.scaled_dot_product_attention (MLX built-in)");
  });
});
