// %models: every registered model (resident or not) with its role, priority, bytes, last use and
// generations, and the model budget with what it is a share of.
import { fleetTableBundle } from "../display/fleet-table.js";
import { registryOf } from "../engine/registry.js";
import { defineMagic } from "./define.js";

defineMagic({
  spec: { name: "models", kind: "line", summary: "List registered and loaded models: role, priority, resident, weight and KV bytes, last used, generations; and the budget" },
  async run(_a, _body, ctx) {
    const engine = await ctx.engine();
    const reg = registryOf(engine);
    const rows = await reg.rows();
    ctx.sink.display(fleetTableBundle(rows, reg.budgetInfo()));
    ctx.globals.lastModels = rows;
    return undefined;
  },
});
