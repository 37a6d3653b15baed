// %memtrace on|off|show: samples engine.memory() on a timer while on (generations run on a native
// thread, so the JS timer keeps firing during them) and draws the timeline as a line chart.
import { memoryTimelineBundle } from "../display/memory-table.js";
import { defineMagic, num } from "./define.js";
import { stateOf } from "./state.js";

/** A long trace keeps its shape without growing without bound: every other sample is dropped past this. */
const MAX_SAMPLES = 4000;

defineMagic({
  spec: {
    name: "memtrace",
    kind: "line",
    summary: "Sample MLX memory on a timer during cells and generations, and draw the timeline",
    positional: [{ name: "ACTION", help: "on: start sampling; off: stop and draw; show: draw without stopping", required: true, choices: ["on", "off", "show"] }],
    flags: [{ name: "interval", type: "int", min: 5, max: 10_000, help: "sampling interval in ms (default 50)", metavar: "MS" }],
    examples: ["%memtrace on", "%%generate --max-tokens 64\nTell me a story.", "%memtrace off"],
  },
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const trace = stateOf(engine).memtrace;
    const action = a.positional[0];
    if (action === "on") {
      if (trace.timer !== undefined) clearInterval(trace.timer);
      trace.intervalMs = num(a, "interval") ?? 50;
      trace.samples = [];
      trace.startedAt = performance.now();
      const sample = (): void => {
        const m = engine.memory();
        trace.samples.push({ t: (performance.now() - trace.startedAt) / 1000, active: m.active, peak: m.peak, cache: m.cache });
        if (trace.samples.length > MAX_SAMPLES) trace.samples = trace.samples.filter((_, i) => i % 2 === 0);
      };
      sample();
      trace.timer = setInterval(sample, trace.intervalMs);
      // The trace must never keep a process alive on its own (the REPL exiting, a test ending).
      trace.timer.unref?.();
      ctx.sink.stream("stdout", `Memory trace on: sampling every ${trace.intervalMs} ms. %memtrace show draws it, %memtrace off stops and draws it.\n`);
      return undefined;
    }
    if (action === "off") {
      if (trace.timer === undefined) {
        ctx.sink.stream("stdout", "Memory trace is not on. Start it with %memtrace on.\n");
        return undefined;
      }
      clearInterval(trace.timer);
      trace.timer = undefined;
    }
    if (trace.samples.length === 0) {
      ctx.sink.stream("stdout", "No memory samples yet. Start tracing with %memtrace on.\n");
      return undefined;
    }
    const last = trace.samples[trace.samples.length - 1]!;
    const title = `MLX memory over ${last.t.toFixed(1)} s (${trace.samples.length} samples every ${trace.intervalMs} ms)`;
    ctx.sink.display(memoryTimelineBundle(trace.samples, title));
    ctx.globals.lastMemtrace = [...trace.samples];
    return undefined;
  },
});
