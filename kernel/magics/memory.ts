// %memory: MLX's memory counters and limits as they are, plus each model's weight bytes.
import { memoryTableBundle } from "../display/memory-table.js";
import { defineMagic } from "./define.js";
import { noteDefaultLimits } from "./state.js";

defineMagic({
  spec: { name: "memory", kind: "line", summary: "MLX active/peak/cache memory, limits, and per-model weight bytes (a table)" },
  async run(_a, _body, ctx) {
    const engine = await ctx.engine();
    const models = [...engine.models.values()].map((m) => ({ name: m.name, weightBytes: m.info().weightBytes }));
    const mem = engine.memory();
    noteDefaultLimits(engine);
    ctx.sink.display(memoryTableBundle(mem, models, engine.runtime().backend));
    return undefined;
  },
});
