// %memory: MLX's memory counters and limits as they are, each resident model's weight and KV bytes,
// the model budget, and a chart of the per-model breakdown.
import { memoryTableBundle } from "../display/memory-table.js";
import { defineMagic } from "./define.js";
import { noteDefaultLimits } from "./state.js";
import { perModelChartBundle, perModelTableBundle } from "../display/fleet-table.js";
import { registryOf } from "../engine/registry.js";

defineMagic({
  spec: { name: "memory", kind: "line", summary: "MLX active/peak/cache memory and limits; per resident model weights, KV cache and budget charge (a table and a chart)" },
  async run(_a, _body, ctx) {
    const engine = await ctx.engine();
    const models = [...engine.models.values()].map((m) => ({ name: m.name, weightBytes: m.info().weightBytes }));
    const mem = engine.memory();
    noteDefaultLimits(engine);
    ctx.sink.display(memoryTableBundle(mem, models, engine.runtime().backend));
    const reg = registryOf(engine);
    const rows = (await reg.rows()).filter((r) => r.resident);
    if (rows.length) {
      const budget = reg.budgetInfo();
      ctx.sink.display(perModelTableBundle(rows, budget));
      ctx.sink.display(perModelChartBundle(rows, budget));
    }
    return undefined;
  },
});
