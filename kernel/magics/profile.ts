// %profile STATEMENT and %%profile: wall time and MLX memory deltas of any code; for generations (a
// value that is a GenerationResult, or a stream whose result it awaits) also the prefill/decode split,
// TTFT and tok/s, with a phase chart.
import type { Engine, GenerationResult, GenerationStats } from "../engine/types.js";
import { chartBundle } from "../display/chart.js";
import { isGenerationResult as isResult } from "../display/generation-result.js";
import { TABLE_MIME, tableHtml, tableText, type TableData } from "../display/mime.js";
import { statsLine } from "../display/token-stream.js";
import { MagicArgError } from "../util/args.js";
import { formatBytes } from "../util/bytes.js";
import { defineMagic } from "./define.js";
import type { MagicContext } from "./registry.js";

export interface ProfileReport {
  wallMs: number;
  activeBefore: number;
  activeAfter: number;
  peak: number;
  generation?: GenerationStats;
}


function isStream(v: unknown): v is { result: Promise<GenerationResult> } {
  return typeof v === "object" && v !== null && "result" in v && typeof (v as { cancel?: unknown }).cancel === "function";
}

const signed = (n: number): string => `${n >= 0 ? "+" : "−"}${formatBytes(Math.abs(n))}`;
const msText = (v: number): string => `${v.toFixed(1)} ms`;

function reportTable(r: ProfileReport): TableData {
  const rows: string[][] = [["wall time", msText(r.wallMs)]];
  const g = r.generation;
  if (g) {
    rows.push(
      ["TTFT", msText(g.ttftMs)],
      ["prefill", `${msText(g.prefillMs)} (${g.promptTokens - g.reusedTokens} tokens, ${g.promptTps.toFixed(1)} tok/s)`],
      ["decode", `${msText(g.decodeMs)} (${g.generatedTokens} tokens, ${g.generationTps.toFixed(1)} tok/s)`],
    );
  }
  rows.push(
    ["active memory", `${formatBytes(r.activeBefore)} → ${formatBytes(r.activeAfter)} (${signed(r.activeAfter - r.activeBefore)})`],
    ["peak memory", `${formatBytes(r.peak)} (${signed(r.peak - r.activeBefore)} over the start)`],
  );
  return { columns: ["measure", "value"], rows };
}

async function profile(ctx: MagicContext, code: string, label: string): Promise<unknown> {
  if (!code.trim()) throw new MagicArgError(`${label}: nothing to profile. Write a statement after %profile, or code below %%profile.`);
  let engine: Engine | undefined;
  try {
    engine = await ctx.engine();
  } catch {
    engine = undefined; // plain code still gets its wall time when the native engine is missing
  }
  engine?.resetPeakMemory();
  const activeBefore = engine?.memory().active ?? 0;
  const t0 = performance.now();
  let value = await ctx.evaluate(code);
  if (isStream(value)) value = await value.result;
  const wallMs = performance.now() - t0;
  const mem = engine?.memory();
  const report: ProfileReport = { wallMs, activeBefore, activeAfter: mem?.active ?? 0, peak: mem?.peak ?? 0 };
  if (isResult(value)) report.generation = value.stats;
  const t = reportTable(report);
  const note = report.generation ? `\n${statsLine(report.generation)}` : "";
  ctx.sink.display({ "text/plain": tableText(t) + note, "text/html": tableHtml(t), [TABLE_MIME]: t });
  if (report.generation) {
    const g = report.generation;
    const other = Math.max(0, wallMs - g.prefillMs - g.decodeMs);
    ctx.sink.display(chartBundle({
      kind: "bar",
      title: `${label}: where the time went (ms)`,
      x: { field: "phase" },
      y: { field: "ms", title: "milliseconds" },
      data: [
        { phase: "prefill", ms: Number(g.prefillMs.toFixed(2)) },
        { phase: "decode", ms: Number(g.decodeMs.toFixed(2)) },
        { phase: "other (tokenize, JS, wait)", ms: Number(other.toFixed(2)) },
      ],
    }));
  }
  ctx.globals.lastProfile = report;
  return value;
}

defineMagic({
  spec: {
    name: "profile",
    kind: "line",
    summary: "Time a statement: wall time, MLX memory deltas; for generations prefill/decode split, TTFT, tok/s and a phase chart",
    positional: [{ name: "STATEMENT", help: "TypeScript to run (the rest of the line)", variadic: true }],
    examples: ['%profile await session.generate("Hello", { maxTokens: 64 })', "%profile mx.matmul(a, a)"],
  },
  verbatim: true,
  run(a, _body, ctx) {
    return profile(ctx, a.positional[0] ?? "", "%profile");
  },
});

defineMagic({
  spec: {
    name: "profile",
    kind: "cell",
    summary: "Time the cell's code: wall time, MLX memory deltas; for a generation result also the prefill/decode split and a phase chart",
    examples: ["%%profile\nconst r = await session.generate(\"Hi\", { maxTokens: 32 });\nr"],
  },
  run(_a, body, ctx) {
    return profile(ctx, body ?? "", "%%profile");
  },
});
