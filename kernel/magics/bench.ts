// %bench: the sweep of kernel/bench/sweep.ts from a cell, shown as a table and a chart and saved as JSON.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chartBundle } from "../display/chart.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "../display/mime.js";
import { escapeHtml } from "../util/html.js";
import { runSweep, type SweepRow } from "../bench/sweep.js";
import { SWEEP_DEFAULTS, SWEEP_FLAGS } from "../bench/spec.js";
import { bool, defineMagic, ints, num, str } from "./define.js";
import { BUILTIN_ATTENTION } from "./kernels.js";
import { stateOf } from "./state.js";

function rowsTable(rows: SweepRow[]): TableData {
  return {
    columns: ["model", "quantization", "prompt tokens", "gen tokens", "prompt tok/s", "gen tok/s", "TTFT ms", "peak MB", "n"],
    rows: rows.map((r) => [r.model, r.quantization, r.actualPromptTokens, r.actualGenTokens, r.promptTps.toFixed(1), r.generationTps.toFixed(1), r.ttftMs.toFixed(1), (r.peakMemory / 1e6).toFixed(1), r.repeats]),
  };
}

defineMagic({
  spec: {
    name: "bench",
    kind: "line",
    summary: "Benchmark sweep like mlx_lm.benchmark: prompt tok/s, generation tok/s, peak memory (median of n)",
    positional: [{ name: "MODEL", help: "loaded models to benchmark (default: the most recently loaded)", variadic: true }],
    flags: SWEEP_FLAGS.map((f) => (f.name === "out" ? { ...f, help: "JSON file to write (default: a file in the temp directory)" } : f)),
    examples: ["%bench smollm2 -p 128,512 -g 64 -n 3", "%bench qwen3-tiny -p 64 -g 32 --compare-quant 4,8"],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const models = a.positional.length ? a.positional.map((n) => engine.get(n).name) : [engine.model(undefined, "%bench").name];
    const opts = {
      models,
      promptTokens: ints(a, "prompt-tokens") ?? SWEEP_DEFAULTS.promptTokens,
      genTokens: ints(a, "gen-tokens") ?? SWEEP_DEFAULTS.genTokens,
      repeats: num(a, "repeats") ?? SWEEP_DEFAULTS.repeats,
      compareQuant: ints(a, "compare-quant"),
      signal: ctx.signal,
    };
    if (bool(a, "compare-kernels")) {
      ctx.sink.stream("stdout", `--compare-kernels: every row is measured with the kernels as dispatched now (see %kernels status); %kernels bench compares ours with ${BUILTIN_ATTENTION} shape by shape.\n`);
    }
    const progressId = `mlx-ts-bench-${Date.now()}`;
    ctx.sink.display({ "text/plain": "benchmark: starting" }, { displayId: progressId });
    const rows: SweepRow[] = [];
    const show = (extra: string): void => {
      const t = rowsTable(rows);
      ctx.sink.updateDisplay({ "text/plain": `${rows.length ? tableText(t) + "\n" : ""}${extra}`, "text/html": `${rows.length ? tableHtml(t) : ""}<div>${extra}</div>` }, { displayId: progressId });
    };
    const loadedWith = stateOf(engine).loadedWith;
    const all = await runSweep(engine, { ...opts, onRow: (r) => { rows.push(r); show("running…"); }, onProgress: (t) => show(t) }, (name) => {
      const how = loadedWith.get(name);
      return { idOrPath: how?.idOrPath ?? engine.get(name).source, ...(how?.opts.dtype ? { dtype: how.opts.dtype } : {}) };
    });
    const out = resolve(str(a, "out") ?? join(tmpdir(), `mlx-ts-bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`));
    const command = `%bench ${a.positional.join(" ")} -p ${opts.promptTokens.join(",")} -g ${opts.genTokens.join(",")} -n ${opts.repeats}${opts.compareQuant ? ` --compare-quant ${opts.compareQuant.join(",")}` : ""}`.replace(/\s+/g, " ");
    writeFileSync(out, `${JSON.stringify({ command, date: new Date().toISOString(), rows: all }, null, 2)}\n`);
    const t = rowsTable(all);
    const interrupted = ctx.signal.aborted ? " (interrupted: partial results)" : "";
    if (!all.length) {
      // nothing finished: a header with no rows says less than one line does
      const line = ctx.signal.aborted ? "%bench interrupted before its first measurement finished; nothing was measured." : "%bench measured nothing.";
      ctx.sink.updateDisplay({ "text/plain": line, "text/html": `<div>${escapeHtml(line)}</div>` }, { displayId: progressId });
    } else ctx.sink.updateDisplay({ "text/plain": `${tableText(t)}\nsaved to ${out}${interrupted}`, "text/html": `${tableHtml(t)}<div>saved to ${escapeHtml(out)}${interrupted}</div>`, [TABLE_MIME]: t }, { displayId: progressId });
    if (all.length) {
      const data = all.flatMap((r) => {
        const label = `${r.model}${r.quantization.startsWith("none") ? "" : ` (${r.quantization})`}`;
        return [
          { point: `p${r.actualPromptTokens} g${r.actualGenTokens}`, series: `${label} prompt`, "tok/s": Number(r.promptTps.toFixed(1)) },
          { point: `p${r.actualPromptTokens} g${r.actualGenTokens}`, series: `${label} generation`, "tok/s": Number(r.generationTps.toFixed(1)) },
        ];
      });
      ctx.sink.display(chartBundle({ kind: "bar", title: "Throughput (median tok/s)", x: { field: "point", title: "prompt / generation tokens" }, y: { field: "tok/s" }, series: { field: "series" }, data }));
    }
    ctx.globals.lastBench = all;
    return undefined;
  },
});
