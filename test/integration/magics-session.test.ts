// Every magic through a real Session (in-process) over the real engine and MLX, outputs recorded as a
// front end receives them: streams, displays, and in-place updates by display_id.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findMagic } from "../../kernel/magics/index.js";
import { TABLE_MIME } from "../../kernel/display/mime.js";
import { formatBytes } from "../../kernel/util/bytes.js";
import type { ExecuteOutcome, MimeBundle } from "../../kernel/session/types.js";

const completeMagic = (kind: "line" | "cell", name: string, typed: string, models: string[]): string[] => findMagic(kind, name)?.complete?.(typed, models) ?? [];
import { ensureFixtures, FIXTURES, RecordingSink, startHarness, STATS_LINE, until, type Harness, type Recorded } from "./magics-harness.js";

const QWEN = join(FIXTURES, "qwen3-tiny-bf16");
let h: Harness & { engine: import("../../kernel/engine/engine.js").MlxEngine };
const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-magics-test-"));

const errorOf = (o: ExecuteOutcome): { ename: string; evalue: string } => {
  if (o.status !== "error") throw new Error(`expected an error, got ok`);
  return { ename: o.ename, evalue: o.evalue };
};
const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};
const last = (bundles: MimeBundle[]): MimeBundle => bundles[bundles.length - 1]!;
/** a full stop doubled (an ellipsis "..." or a path "../" is not) */
const DOUBLED_STOP = /(?<!\.)\.\.(?![./])/;
/** the limit shown in %memory is rounded; the restored one must round to the same text */
const parseSizeOf = (shown: string, actual: number): number => (formatBytes(actual) === shown ? actual : NaN);

beforeAll(async () => {
  ensureFixtures();
  h = (await startHarness()) as typeof h;
});

afterAll(async () => {
  await h?.shutdown();
});

describe("magic arguments and missing models", () => {
  it("%%generate with no model loaded says to %load smollm2", async () => {
    const { outcome } = await h.run("%%generate\nHello");
    expect(errorOf(outcome).evalue).toMatch(/none is loaded.*%load smollm2/);
  });

  it("bad arguments say exactly what is wrong and how to write it", async () => {
    const cases: [string, RegExp][] = [
      ["%load", /%load: missing ID_OR_PATH/],
      ["%load smollm2 --quant 5", /--quant must be one of 4, 8 \(got 5\)/],
      ["%load smollm2 --dtype f64", /--dtype must be one of bf16, f16, f32 \(got 'f64'\)/],
      ["%load smollm2 --group-size 64", /--group-size only applies with --quant/],
      ["%%generate --max-tokens ten\nHi", /%%generate: --max-tokens needs a whole number \(got 'ten'\)/],
      ["%%generate --seeds 1\nHi", /unknown option --seeds\. Did you mean '--seed'\?/],
      ["%quantize q --bits 7", /--bits must be one of 2, 3, 4, 5, 6, 8 \(got 7\)/],
      ["%bench -p 12x", /--prompt-tokens needs whole numbers separated by commas/],
      ["%limit memory lots", /'lots' is not a size/],
      ["%limit disk 4GB", /WHICH must be one of memory, cache, models \(got 'disk'\)/],
      ["%memtrace sideways", /ACTION must be one of on, off, show/],
      ["%cache purge", /must be one of clear/],
      ["%device tpu", /must be one of cpu, gpu/],
    ];
    for (const [code, want] of cases) {
      const { outcome } = await h.run(code);
      expect(errorOf(outcome).evalue, code).toMatch(want);
      expect(errorOf(outcome).evalue, code).not.toMatch(DOUBLED_STOP);
    }
  });

  it("unknown model names list what is loaded, and name only what exists in a cell", async () => {
    const ghost = errorOf((await h.run("%unload ghost")).outcome).evalue;
    expect(ghost).toMatch(/No model named "ghost" is loaded \(none loaded\)/);
    expect(ghost).toContain("%load ID_OR_PATH");
    expect(ghost).not.toContain("engine.");
    const missing = errorOf((await h.run("%load ./no/such/dir")).outcome).evalue;
    expect(missing).toMatch(/does not exist/);
    expect(missing).not.toMatch(DOUBLED_STOP);
  });

  it("a memory limit below a load's needs: human units, one piece of advice, the forms that exist; %limit memory default restores it", async () => {
    const start = (await h.run("%memory")).sink;
    const row = (start.outputs[0]![TABLE_MIME] as { rows: string[][] }).rows.find((r) => r[0] === "memory limit")!;
    expect(row[2]).toMatch(h.engine.runtime().backend === "cpu" ? /not enforced by MLX on the CPU backend/ : /a guideline/);
    ok((await h.run("%limit memory 1000")).outcome);
    let e: string;
    try {
      e = errorOf((await h.run("%load smollm2 --as tight")).outcome).evalue;
    } finally {
      var restored = await h.run("%limit memory default");
    }
    expect(e).toMatch(/^E_MEMORY_LIMIT: Loading tight from \S+ failed: its weights need [\d.]+ MB, but [\d.]+ (B|KB|MB|GB) are in use and the MLX memory limit is 1\.00 KB\. /);
    expect(e).toContain("%limit memory SIZE");
    expect(e).not.toContain("with setMemoryLimit");
    expect(e).not.toMatch(DOUBLED_STOP);
    expect(e.match(/Free memory|Unload a model/g)).toHaveLength(1);
    const { outcome, sink } = restored;
    ok(outcome);
    expect(sink.stdout).toMatch(/MLX memory limit: 1\.00 KB → .* \(the default\)/);
    expect(h.engine.memory().limit).toBe(parseSizeOf(row[1]!, h.engine.memory().limit));
    expect(h.engine.models.has("tight")).toBe(false);
  });

  it("--help shows the usage with every flag", async () => {
    const { outcome, sink } = await h.run("%quantize --help");
    ok(outcome);
    expect(sink.stdout).toContain("%quantize NAME [--bits B]");
    expect(sink.stdout).toContain("--as");
    const b = await h.run("%bench --help");
    expect(b.sink.stdout).toContain("-p, --prompt-tokens");
  });
});

describe("models, memory and runtime magics", () => {
  it("%load shows progress, then the model card in the same output; %models lists it", async () => {
    const { outcome, sink } = await h.run(`%load ${QWEN} --as q`);
    ok(outcome);
    const first = sink.events[0] as Extract<Recorded, { kind: "display" }>;
    expect(first.kind).toBe("display");
    expect(String(first.data["text/plain"])).toMatch(/loading/);
    const lastEv = sink.events[sink.events.length - 1] as Extract<Recorded, { kind: "update" }>;
    expect(lastEv.kind).toBe("update");
    expect(lastEv.displayId).toBe(first.displayId);
    expect(String(lastEv.data["text/html"])).toContain("mlx-ts-model-card");
    expect(String(lastEv.data["text/plain"])).toMatch(/^q — loaded in [\d.]+ s\n\s+architecture\s+qwen3/);
    expect(sink.outputs).toHaveLength(1);

    const m = await h.run("%models");
    const table = last(m.sink.outputs)[TABLE_MIME] as { columns: string[]; rows: string[][] };
    expect(table.columns).toEqual(["name", "architecture", "quantization", "role", "priority", "resident", "weight bytes", "KV bytes", "charged", "context", "last used", "generations"]);
    expect(table.rows[0]!.slice(0, 2)).toEqual(["q", "qwen3"]);
    expect(table.rows[0]![2]).toBe("none (bfloat16)");
    expect(table.rows[0]![5]).toBe("yes");
    expect(String(last(m.sink.outputs)["text/html"])).toContain("<table>");
  });

  it("%memory shows MLX's counters, limits and each model's weights", async () => {
    const { sink } = await h.run("%memory");
    // first MLX's own counters; then the per-model table and chart (test/integration/models-budget.test.ts)
    const t = sink.outputs[0]![TABLE_MIME] as { rows: string[][] };
    const names = t.rows.map((r) => r[0]);
    expect(names).toEqual(["active", "peak", "cache", "memory limit", "cache limit", "weights: q"]);
    expect(t.rows[5]![1]).toBe(`${(h.engine.get("q").info().weightBytes / 1e6).toFixed(1)} MB`);
  });

  it("%kernels names the attention path in use; %device, %limit and %cache act on MLX", async () => {
    const k = await h.run("%kernels status");
    expect(k.sink.text()).toContain("fallback: mx.fast.scaled_dot_product_attention (MLX built-in)");
    const on = await h.run("%kernels on");
    expect(on.sink.stdout).toMatch(/every kernel: on\. It cannot run here/);
    await h.run("%kernels auto");
    const d = await h.run("%device cpu");
    expect(d.sink.stdout).toMatch(/Default device is now cpu/);
    const before = h.engine.memory().cacheLimit;
    const l = await h.run("%limit cache 64MB");
    ok(l.outcome);
    expect(h.engine.memory().cacheLimit).toBe(64e6);
    expect(l.sink.stdout).toMatch(/MLX cache limit: .* → 64\.0 MB/);
    h.engine.setCacheLimit(before);
    const c = await h.run("%cache clear");
    expect(c.sink.stdout).toMatch(/MLX cache cleared: .* → 0 B/);
  });

  it("a memory limit too small for a load fails the load with a clear error and loads nothing", async () => {
    const previous = h.engine.memory().limit;
    ok((await h.run("%limit memory 1MB")).outcome);
    try {
      const { outcome } = await h.run(`%load ${QWEN} --as too-big`);
      const e = errorOf(outcome);
      expect(e.evalue).toMatch(/E_MEMORY_LIMIT|memory limit/i);
      expect(h.engine.models.has("too-big")).toBe(false);
    } finally {
      h.engine.setMemoryLimit(previous);
    }
  });

  it("complete_request completes magic flags and loaded model names", async () => {
    const flags = await h.session.complete("%%generate --mo", 15);
    expect(flags.matches).toContain("--model");
    const models = await h.session.complete("%unload ", 8);
    expect(models.matches).toContain("q");
  });

  it("%load completes aliases, paths and HF cache ids; %help completes magic names", async () => {
    const alias = await h.session.complete("%load sm", 8);
    expect(alias.matches).toContain("smollm2");
    expect(alias.cursorStart).toBe(6);
    mkdirSync(join(tmp, "models-here", "prefix-model"), { recursive: true });
    writeFileSync(join(tmp, "models-here", "prefix-file.gguf"), "");
    writeFileSync(join(tmp, "models-here", "prefix-notes.txt"), "");
    const code = `%load ${join(tmp, "models-here", "pre")}`;
    const paths = await h.session.complete(code, code.length);
    expect(paths.matches).toEqual([join(tmp, "models-here", "prefix-file.gguf"), join(tmp, "models-here", "prefix-model") + "/"]);
    const hub = join(tmp, "hub");
    mkdirSync(join(hub, "models--mlx-community--SmolLM2-135M-Instruct"), { recursive: true });
    const saved = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = hub;
    try {
      expect((await h.session.complete("%load mlx-comm", 14)).matches).toEqual(["mlx-community/SmolLM2-135M-Instruct"]);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved;
    }
    const help = await h.session.complete("%help ", 6);
    expect(help.matches).toEqual(expect.arrayContaining(["bench", "generate", "load", "quantize"]));
    expect((await h.session.complete("%help ge", 8)).matches).toEqual(["generate"]);
  });

  it("inspect (Shift-Tab) on a magic line shows the magic's help", async () => {
    const bench = await h.session.inspect("%bench smollm2 -p 128", 3, 0);
    expect(bench.found).toBe(true);
    expect(String(bench.data["text/plain"])).toMatch(/^%bench: [\s\S]*--prompt-tokens/);
    const gen = await h.session.inspect("%%generate --max-tokens 8\nHello", 5, 0);
    expect(String(gen.data["text/plain"])).toMatch(/^%%generate: [\s\S]*--max-tokens N/);
    // inside the body of a %% cell it is the prompt, not a magic
    expect(String((await h.session.inspect("%%generate\n%bench", 13, 0)).data["text/plain"] ?? "")).not.toMatch(/^%bench:/);
  });

  it("the globals magics leave are typed, and mx functions complete as functions", async () => {
    const gen = await h.session.complete("lastGeneration.st", 17);
    expect(gen.matches).toContain("stats");
    const info = await h.session.inspect("lastGeneration", 5, 0);
    expect(String(info.data["text/plain"])).toMatch(/GenerationResult/);
    expect(String((await h.session.inspect("chatHistory", 3, 0)).data["text/plain"])).toMatch(/ChatMessage\[\]/);
    const mm = await h.session.complete("mx.matm", 7);
    const t = mm.types!.find((x) => x.text === "matmul")!;
    expect(t.type).toBe("function");
  });

  it("completes flags and model names for magics", () => {
    expect(completeMagic("line", "unload", "", ["q", "smollm2"])).toEqual(["q", "smollm2"]);
    expect(completeMagic("cell", "generate", "--mo", [])).toEqual(["--model"]);
    expect(completeMagic("cell", "generate", "--model s", ["q", "smollm2"])).toEqual(["smollm2"]);
    expect(completeMagic("line", "quantize", "q --mode ", [])).toEqual(["affine", "mxfp4", "mxfp8"]);
    expect(completeMagic("line", "bench", "smollm2 -p 128 --comp", [])).toEqual(["--compare-quant", "--compare-kernels"]);
    expect(completeMagic("line", "memtrace", "s", [])).toEqual(["show"]);
  });
});

describe("generation magics (smollm2)", () => {
  beforeAll(async () => {
    ok((await h.run("%load smollm2")).outcome);
  });

  it("%%generate streams into ONE output updated in place (≤ 20 updates/s), ending with the stats line", async () => {
    const sink = new RecordingSink();
    const times: number[] = [];
    sink.onEvent = () => times.push(performance.now());
    const { outcome } = await h.run("%%generate --max-tokens 24\nWhat is the capital of France?", sink);
    ok(outcome);
    const shown = sink.events.filter((e) => e.kind === "display" || e.kind === "update") as { displayId?: string; data: MimeBundle }[];
    expect(new Set(shown.map((e) => e.displayId)).size).toBe(1);
    expect(sink.events[0]!.kind).toBe("display");
    // coalescing: consecutive live updates are at least ~50 ms apart (the final render may follow at once)
    const live = times.slice(0, -1);
    for (let i = 1; i < live.length; i++) expect(live[i]! - live[i - 1]!).toBeGreaterThan(45);
    const final = last(sink.outputs);
    expect(String(final["text/plain"])).toMatch(STATS_LINE);
    expect(String(final["text/html"])).toContain("mlx-ts-stats");
    const r = await h.run("lastGeneration.stats.generatedTokens > 0 && lastGeneration.text.length > 0");
    expect(r.outcome.status === "ok" && r.outcome.result?.["text/plain"]).toBe("true");
  });

  it("%%generate --raw, --system and sampling flags reach the engine", async () => {
    const { outcome, sink } = await h.run('%%generate --raw --max-tokens 6 --temp 0.8 --top-p 0.9 --top-k 20 --seed 3 --system "Be brief."\nOnce upon a time');
    ok(outcome);
    expect(String(last(sink.outputs)["text/plain"])).toMatch(/generation: [1-6] tokens/);
  });

  it("%%chat keeps the conversation and the second turn reuses the prompt cache", async () => {
    ok((await h.run('%%chat --reset --system "You are a terse assistant."')).outcome);
    const t1 = await h.run("%%chat --max-tokens 12\nName a color.");
    ok(t1.outcome);
    const t2 = await h.run("%%chat --max-tokens 12\nName another one.");
    ok(t2.outcome);
    expect(String(last(t2.sink.outputs)["text/plain"])).toMatch(/prompt: \d+ tokens \(\d+ reused\)/);
    const r = await h.run("[chatHistory.length, lastGeneration.stats.reusedTokens > 0]");
    expect(r.outcome.status === "ok" && r.outcome.result?.["text/plain"]).toBe("[ 4, true ]");
  });

  it("an interrupt during %%generate stops the stream within a token; the partial output and one line saying so stay; the session works after", async () => {
    const sink = new RecordingSink();
    let interruptedAt = -1;
    sink.onEvent = (e) => {
      if (e.kind === "update" && interruptedAt < 0) {
        interruptedAt = sink.events.length;
        h.session.interrupt();
      }
    };
    const { outcome } = await h.run("%%generate --max-tokens 1500\nWrite a very long story about a dragon who learns to code.", sink);
    expect(outcome.status).toBe("error");
    expect(await until(() => /interrupted after \d+ tokens?/.test(String(last(sink.outputs)["text/plain"])))).toBe(true);
    const text = String(last(sink.outputs)["text/plain"]);
    expect(text).not.toMatch(STATS_LINE);
    const n = Number(/interrupted after (\d+) tokens?/.exec(text)![1]);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(1500);
    const after = await h.run("%%generate --max-tokens 4\nHi");
    ok(after.outcome);
    expect(String(last(after.sink.outputs)["text/plain"])).toMatch(STATS_LINE);
  });

  it("%profile of a generation shows the prefill/decode split, memory deltas and a phase chart", async () => {
    const { outcome, sink } = await h.run('%profile await session.generate("Hello", { maxTokens: 8, model: "smollm2" })');
    ok(outcome);
    const table = sink.outputs.find((b) => b[TABLE_MIME]) as MimeBundle;
    const rows = (table[TABLE_MIME] as { rows: string[][] }).rows.map((r) => r[0]);
    expect(rows).toEqual(["wall time", "TTFT", "prefill", "decode", "active memory", "peak memory"]);
    const chart = sink.outputs.find((b) => b["application/vnd.vegalite.v5+json"]);
    expect(chart?.["image/svg+xml"]).toMatch(/^<svg/);
    const p = await h.run("%%profile\nlet s = 0;\nfor (let i = 0; i < 1e5; i++) s += i;\ns");
    ok(p.outcome);
    expect(p.outcome.status === "ok" && p.outcome.result?.["text/plain"]).toBe("4999950000");
    expect(String(p.sink.outputs[0]!["text/plain"])).toMatch(/wall time\s+│ [\d.]+ ms/);
  });

  it("%memtrace samples during a generation and draws a timeline", async () => {
    ok((await h.run("%memtrace on --interval 20")).outcome);
    ok((await h.run("%%generate --max-tokens 16\nCount to ten.")).outcome);
    const { outcome, sink } = await h.run("%memtrace off");
    ok(outcome);
    const chart = last(sink.outputs);
    const spec = chart["application/vnd.vegalite.v5+json"] as { data: { values: { series: string; MB: number }[] } };
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(new Set(["active", "cache", "peak"]));
    expect(spec.data.values.length).toBeGreaterThan(6);
    expect(spec.data.values.some((v) => v.MB > 50)).toBe(true); // smollm2's weights alone are ~98 MB
  });

  it("%bench runs a sweep, shows a table and a chart, and saves JSON", async () => {
    const out = join(tmp, "bench.json");
    const { outcome, sink } = await h.run(`%bench smollm2 -p 16,32 -g 8 -n 1 --out ${out}`);
    ok(outcome);
    const saved = JSON.parse(readFileSync(out, "utf8")) as { command: string; rows: { model: string; promptTokens: number; generationTps: number; peakMemory: number }[] };
    expect(saved.rows.map((r) => [r.model, r.promptTokens])).toEqual([["smollm2", 16], ["smollm2", 32]]);
    for (const r of saved.rows) {
      expect(r.generationTps).toBeGreaterThan(0);
      expect(r.peakMemory).toBeGreaterThan(0);
    }
    expect(saved.command).toContain("-p 16,32 -g 8 -n 1");
    expect(sink.outputs.some((b) => b["application/vnd.vegalite.v5+json"])).toBe(true);
    expect(String(sink.outputs[0]!["text/plain"])).toContain(`saved to ${out}`);
  });

  it("%quantize refuses an already-quantized model", async () => {
    expect(errorOf((await h.run("%quantize smollm2 --bits 4")).outcome).evalue).toMatch(/already quantized/);
  });
});

describe("%quantize (qwen3-tiny fixture)", () => {
  it("--as keeps the original, loads a quantized copy, reports sizes and quality, and saves it", async () => {
    const dir = join(tmp, "q4");
    const { outcome, sink } = await h.run(`%quantize q --bits 4 --as q4 --check-tokens 2 --save ${dir}`);
    ok(outcome);
    const t = sink.outputs.find((b) => b[TABLE_MIME] && String(b["text/plain"]).includes("agreement"))!;
    const rows = (t[TABLE_MIME] as { columns: string[]; rows: string[][] }).rows;
    expect(rows[0]).toEqual(["quantization", "none", "affine 4-bit, group 64"]);
    expect(rows[2]![1]).toBe("2/2 (100%)");
    expect(rows[2]![2]).toMatch(/^[0-2]\/2/);
    expect(h.engine.get("q").info().quantization).toBeNull();
    expect(h.engine.get("q4").info().quantization?.bits).toBe(4);
    expect(h.engine.get("q4").info().weightBytes).toBeLessThan(h.engine.get("q").info().weightBytes / 2);
    expect(existsSync(join(dir, "config.json"))).toBe(true);
  });

  it("--save into a non-empty folder fails before quantizing, names --overwrite, and loads nothing", async () => {
    const dir = join(tmp, "q4"); // the test above saved a model here
    const { outcome, sink } = await h.run(`%quantize q --bits 4 --as q4b --save ${dir}`);
    const e = errorOf(outcome);
    expect(e.evalue).toMatch(/is not empty; nothing was quantized\. Add --overwrite/);
    expect(e.evalue).not.toContain("overwrite: true");
    expect(sink.stdout).not.toContain("Reference:");
    expect(h.engine.models.has("q4b")).toBe(false);
  });

  it("--overwrite replaces it; the folder gets the umask's mode; the copy's source is the saved folder", async () => {
    const dir = join(tmp, "q4");
    const { outcome, sink } = await h.run(`%quantize q --bits 4 --as q4b --check-tokens 0 --save ${dir} --overwrite`);
    ok(outcome);
    expect(String(sink.outputs[sink.outputs.length - 1]!["text/plain"])).toContain(`saved to ${dir}`);
    expect(statSync(dir).mode & 0o777).toBe(0o777 & ~process.umask());
    expect(h.engine.get("q4b").source).toBe(dir);
    const card = sink.outputs.find((b) => String(b["text/html"]).includes("mlx-ts-model-card"))!;
    expect(String(card["text/plain"])).toMatch(new RegExp(`source\\s+${dir}`));
  });

  it("a failed run unloads its --as copy, so running it again is not refused on the name", async () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "x");
    // saving under a regular file fails after the copy was made
    const bad = await h.run(`%quantize q --bits 4 --as q4c --check-tokens 0 --save ${join(file, "sub")}`);
    expect(errorOf(bad.outcome).evalue).toMatch(/a-file/);
    expect(h.engine.models.has("q4c")).toBe(false);
    expect(bad.sink.stdout).toContain("q4c was unloaded again because the run failed.");
    ok((await h.run(`%quantize q --bits 4 --as q4c --check-tokens 0`)).outcome);
  });

  it("%load --as and %quantize --as follow one rule: a model of that name is replaced, and the card says so", async () => {
    const q = await h.run(`%quantize q --bits 8 --as q4c --check-tokens 0`);
    ok(q.outcome);
    expect(q.sink.outputs.map((b) => String(b["text/plain"])).join("\n")).toMatch(/replaced the q4c loaded before/);
    const l = await h.run(`%load ${QWEN} --as q4c`);
    ok(l.outcome);
    expect(String(l.sink.outputs[0]!["text/plain"])).toMatch(/replaced the q4c loaded before/);
    expect(errorOf((await h.run("%quantize q --bits 4 --as q")).outcome).evalue).toMatch(/--as q names the model being quantized/);
    ok((await h.run("%unload q4c")).outcome);
    ok((await h.run("%unload q4b")).outcome);
  });

  it("in place: measures the original first, then quantizes it", async () => {
    const { outcome, sink } = await h.run("%quantize q --bits 8 --check-tokens 1");
    ok(outcome);
    expect(sink.stdout).toMatch(/Quantizing q in place to affine 8-bit, group 64/);
    expect(h.engine.get("q").info().quantization?.bits).toBe(8);
    const t = sink.outputs.find((b) => b[TABLE_MIME])!;
    expect((t[TABLE_MIME] as { columns: string[] }).columns).toEqual(["", "q (before)", "q"]);
  });

  it("%bench --compare-quant measures a quantized copy next to the original and unloads it", async () => {
    ok((await h.run(`%load ${QWEN} --as qb`)).outcome);
    const out = join(tmp, "bench-q.json");
    const { outcome } = await h.run(`%bench qb -p 8 -g 2 -n 1 --compare-quant 8 --out ${out}`);
    ok(outcome);
    const rows = (JSON.parse(readFileSync(out, "utf8")) as { rows: { model: string; quantization: string }[] }).rows;
    expect(rows.map((r) => [r.model, r.quantization])).toEqual([["qb", "none (bfloat16)"], ["qb-bench-q8", "affine 8-bit g64"]]);
    expect(h.engine.models.has("qb-bench-q8")).toBe(false);
    ok((await h.run("%unload qb")).outcome);
  });

  it("%unload frees the model", async () => {
    const { outcome, sink } = await h.run("%unload q4");
    ok(outcome);
    expect(sink.stdout).toMatch(/^Unloaded q4/);
    expect(h.engine.models.has("q4")).toBe(false);
  });
});
