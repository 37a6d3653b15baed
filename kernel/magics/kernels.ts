// %kernels: the custom kernels of metal/ with their measured fallback. status says what runs where;
// on/off/auto NAME switch one (auto: where this device's measured table says ours is faster); bench
// measures ours against MLX's SDPA here and saves the table the dispatcher follows.
import { chartBundle } from "../display/chart.js";
import { tableHtml, tableText, TABLE_MIME, type TableData } from "../display/mime.js";
import { benchKernels, benchKernelsEndToEnd, KERNEL_NAMES, saveKernelTable, SPEEDUP_TO_USE, type KernelBenchRow } from "../engine/kernels.js";
import { EngineModel } from "../engine/model.js";
import { kernelsConfig, loadNative, reconfigureKernels } from "../engine/native.js";
import { MlxTsError } from "../protocol.js";
import { defineMagic, ints, str } from "./define.js";

export const BUILTIN_ATTENTION = "mx.fast.scaled_dot_product_attention (MLX built-in)";

function statusTable(): { table: TableData; notes: string[] } {
  const addon = loadNative();
  const cfg = kernelsConfig();
  const rt = addon.runtime();
  const rows: unknown[][] = [];
  const notes: string[] = [];
  for (const s of addon.kernelsStatus()) {
    const checks = s.checks.length
      ? s.checks.map((c) => `${c.dtype} d${c.headDim} g${c.gqa}: ${c.ok ? `ok (max err ${c.maxError.toExponential(1)})` : `FAILED ${c.error}`}`).join("; ")
      : s.available ? "not yet (checked against SDPA at first use)" : "—";
    const rules = cfg.table?.rules.filter((r) => r.kernel === s.name) ?? [];
    const on = rules.filter((r) => r.use);
    const rule = !s.allowed ? "switched off by MLX_TS_KERNELS"
      : s.mode === "on" ? "on for every shape it takes (%kernels on)"
      : s.mode === "off" ? "off (%kernels off)"
      : cfg.table ? `measured table: on for ${on.length} of ${rules.length} shape ranges (≥ ${SPEEDUP_TO_USE}× faster)`
      : "no measured table on this device: fallback everywhere (run %kernels bench)";
    rows.push([s.name, s.available ? s.backend : `none (${s.reason})`, checks, rule, s.calls, s.fallbacks]);
    if (rt.backend !== "metal") rows.push([`${s.name} (Metal twin)`, "metal", "unverified: no Metal device here", "—", 0, 0]);
  }
  notes.push(`fallback: ${BUILTIN_ATTENTION}`);
  notes.push(`backend: ${rt.backend}, device: ${rt.device}${rt.deviceName ? ` (${rt.deviceName})` : ""}, MLX ${rt.mlxVersion}`);
  notes.push(`table: ${cfg.tableFile}${cfg.table ? ` (measured ${cfg.table.measuredAt})` : " (none)"}`);
  if (cfg.tableError) notes.push(cfg.tableError);
  if (cfg.env.allOff) notes.push("MLX_TS_KERNELS=off: every custom kernel is off.");
  else if (cfg.env.unknown.length) notes.push(`MLX_TS_KERNELS names no kernel called ${cfg.env.unknown.join(", ")} (there is: ${KERNEL_NAMES.join(", ")}).`);
  return { table: { columns: ["kernel", "backend", "verified on this device", "dispatch", "calls", "fallback calls"], rows }, notes };
}

function benchTable(rows: KernelBenchRow[]): TableData {
  return {
    columns: ["kernel", "dtype", "heads (q:kv)", "head dim", "KV length", "SDPA µs", "ours µs", "speed-up", "max abs err", "dispatch"],
    rows: rows.map((r) => [r.kernel, r.dtype, `${r.nHeads}:${r.nKvHeads}`, r.headDim, r.kvLen, r.sdpaUs.toFixed(1), r.customUs.toFixed(1),
      `${(r.sdpaUs / r.customUs).toFixed(2)}×`, r.maxError.toExponential(1), r.sdpaUs / r.customUs >= SPEEDUP_TO_USE ? "ours" : "SDPA"]),
  };
}

defineMagic({
  spec: {
    name: "kernels",
    kind: "line",
    summary: "Custom kernels (metal/): status, on/off/auto per kernel, and bench against MLX's SDPA on this device",
    positional: [
      { name: "ACTION", help: "status (default), on, off, auto or bench", choices: ["status", "on", "off", "auto", "bench"] },
      { name: "NAME", help: `a kernel (${KERNEL_NAMES.join(", ")}); on/off/auto without it switch every kernel` },
    ],
    flags: [
      { name: "lengths", type: "ints", help: "bench: KV lengths (default 1024,4096,16384,32768)", metavar: "N,N" },
      { name: "dtype", type: "string", help: "bench: bfloat16 (default), float16 or float32", metavar: "DTYPE" },
      { name: "iters", type: "number", help: "bench: calls per timing (default 50)", metavar: "N" },
      { name: "model", type: "string", help: "bench: also decode tok/s end to end on this loaded model, kernel off vs on, at each KV length", metavar: "NAME" },
      { name: "runs", type: "number", help: "bench --model: trials per mode and length (default 3)", metavar: "N" },
    ],
    examples: ["%kernels", "%kernels off decode_attention", "%kernels bench --lengths 1024,32768", "%kernels bench --model q8 --lengths 4096,32768"],
  },
  modelFlags: ["model"],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const addon = loadNative();
    const action = a.positional[0] ?? "status";
    const name = a.positional[1];
    if (action === "on" || action === "off" || action === "auto") {
      if (name !== undefined && !(KERNEL_NAMES as readonly string[]).includes(name))
        throw new MlxTsError("E_BAD_ARGUMENT", `no custom kernel named "${name}" (there is: ${KERNEL_NAMES.join(", ")}). %kernels status lists them.`);
      for (const n of name ? [name] : KERNEL_NAMES) addon.kernelsSetMode(n, action);
      const rt = addon.runtime();
      const st = addon.kernelsStatus();
      const unavailable = st.filter((s) => !s.available).map((s) => `${s.name}: ${s.reason}`);
      ctx.sink.stream("stdout", `${name ?? "every kernel"}: ${action}${action === "auto" ? " (where this device's measured table says ours is faster)" : ""}.` +
        (action === "on" && unavailable.length ? ` It cannot run here (backend ${rt.backend}: ${unavailable.join("; ")}), so attention stays on ${BUILTIN_ATTENTION}.` : "") + "\n");
      return undefined;
    }
    if (action === "bench") {
      const st = addon.kernelsStatus();
      const cannot = st.filter((s) => !s.available);
      if (cannot.length === st.length) {
        ctx.sink.stream("stdout", `Nothing to measure here: ${cannot.map((s) => `${s.name}: ${s.reason}`).join("; ")}. The table is not changed.\n`);
        return undefined;
      }
      const dtype = (str(a, "dtype") ?? "bfloat16") as KernelBenchRow["dtype"];
      const rows: KernelBenchRow[] = [];
      const id = `mlx-ts-kernels-bench-${Date.now()}`;
      ctx.sink.display({ "text/plain": "kernels bench: starting" }, { displayId: id });
      await benchKernels(addon, {
        lengths: ints(a, "lengths"), dtypes: [dtype], iters: typeof a.flags.iters === "number" ? a.flags.iters : undefined,
        onRow: (r) => {
          rows.push(r);
          const t = benchTable(rows);
          ctx.sink.updateDisplay({ "text/plain": tableText(t), "text/html": tableHtml(t) }, { displayId: id });
        },
      });
      const t = benchTable(rows);
      ctx.sink.updateDisplay({ "text/plain": tableText(t), "text/html": tableHtml(t), [TABLE_MIME]: t }, { displayId: id });
      ctx.sink.display(chartBundle({
        kind: "line", title: "decode attention: SDPA µs / ours µs (above 1 = ours faster)",
        x: { field: "KV length" }, y: { field: "speed-up" }, series: { field: "shape" },
        data: rows.map((r) => ({ "KV length": r.kvLen, "speed-up": Number((r.sdpaUs / r.customUs).toFixed(3)), shape: `${r.nHeads}:${r.nKvHeads} d${r.headDim}` })),
      }));
      const saved = saveKernelTable(addon, rows, `%kernels bench${ints(a, "lengths") ? ` --lengths ${ints(a, "lengths")!.join(",")}` : ""} --dtype ${dtype}`);
      const cfg = reconfigureKernels();
      ctx.sink.stream("stdout", `Saved ${saved.rules.length} dispatch rules (${saved.rules.filter((r) => r.use).length} use ours) for ${saved.deviceName || saved.backend}: ${cfg.tableFile}\n`);
      ctx.globals.lastKernelBench = rows;
      const modelName = str(a, "model");
      if (modelName) {
        const model = engine.get(modelName);
        if (!(model instanceof EngineModel)) throw new MlxTsError("E_BAD_ARGUMENT", `%kernels bench --model: ${modelName} is not a model this engine runs natively (a sharded model runs in rank processes).`);
        const lengths = ints(a, "lengths") ?? [1024, 4096, 16384, 32768];
        const e2eId = `${id}-e2e`;
        const med = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)] ?? NaN;
        const e2eTable = (rs: Awaited<ReturnType<typeof benchKernelsEndToEnd>>): TableData => ({
          columns: ["model", "KV length", "decode tok/s, kernel off (median)", "kernel on (median)", "on/off", "kernel calls"],
          rows: rs.map((r) => [model.name, r.kvLen, med(r.off).toFixed(1), med(r.on).toFixed(1), `${(med(r.on) / med(r.off)).toFixed(2)}×`, r.kernelCalls]),
        });
        ctx.sink.display({ "text/plain": `kernels bench --model ${model.name}: starting` }, { displayId: e2eId });
        const e2e = await benchKernelsEndToEnd(addon, model.nativeModel, {
          lengths, runs: typeof a.flags.runs === "number" ? a.flags.runs : undefined, signal: ctx.signal,
        });
        const et = e2eTable(e2e);
        ctx.sink.updateDisplay({ "text/plain": tableText(et), "text/html": tableHtml(et), [TABLE_MIME]: et }, { displayId: e2eId });
        ctx.sink.display(chartBundle({
          kind: "bar", title: `${model.name}: decode tok/s, decode_attention off vs on`, x: { field: "KV length" }, y: { field: "tok/s" }, series: { field: "kernel" },
          data: e2e.flatMap((r) => [{ "KV length": String(r.kvLen), "tok/s": med(r.off), kernel: "off (SDPA)" }, { "KV length": String(r.kvLen), "tok/s": med(r.on), kernel: "on (ours)" }]),
        }));
        ctx.globals.lastKernelBenchModel = e2e;
      }
      return undefined;
    }
    const { table, notes } = statusTable();
    // no TABLE_MIME here: the REPL draws that alone, and the notes below the table matter as much
    ctx.sink.display({ "text/plain": `${tableText(table)}\n${notes.join("\n")}`, "text/html": `${tableHtml(table)}<pre>${notes.join("\n")}</pre>` });
    return undefined;
  },
});
