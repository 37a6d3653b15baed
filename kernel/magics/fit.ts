// %fit NAME: what a registered model would take at 16/8/4 bits with a 4k and a 32k context, against
// the model budget, computed from its checkpoint's headers (nothing is loaded).
import { fitTableBundle } from "../display/fleet-table.js";
import { fitTable } from "../engine/estimate.js";
import { registryOf } from "../engine/registry.js";
import { defineMagic, ints } from "./define.js";

defineMagic({
  spec: {
    name: "fit",
    kind: "line",
    summary: "Estimate a model's memory at 16/8/4 bits and 4k/32k context against the model budget (from its headers)",
    positional: [{ name: "NAME", help: "a registered or loaded model (%register NAME PATH first for one on disk)", required: true }],
    flags: [
      { name: "bits", type: "ints", help: "bit widths to show (default 16,8,4)", metavar: "B,B" },
      { name: "context", type: "ints", help: "context lengths in tokens (default 4096,32768)", metavar: "T,T" },
    ],
    examples: ["%fit fast", "%fit coder --context 4096,16384,65536"],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const reg = registryOf(engine);
    const name = a.positional[0]!;
    const e = await reg.estimate(name);
    const rows = fitTable(e, reg.budget, ints(a, "bits") ?? [16, 8, 4], ints(a, "context") ?? [4096, 32768]);
    ctx.sink.display(fitTableBundle(name, rows, reg.budget, e.path));
    ctx.globals.lastFit = rows;
    return undefined;
  },
});
