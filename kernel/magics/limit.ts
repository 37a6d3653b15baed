// %limit memory SIZE | cache SIZE: MLX's memory and cache limits. %limit models SIZE: the model budget
// that loads and reloads evict to stay within (registry.ts).
import { MagicArgError } from "../util/args.js";
import { formatBytes, parseSize } from "../util/bytes.js";
import { defineMagic } from "./define.js";
import { noteDefaultLimits } from "./state.js";
import { registryOf } from "../engine/registry.js";

defineMagic({
  spec: {
    name: "limit",
    kind: "line",
    summary: "Set MLX's memory or cache limit, or the model budget: %limit memory 4GB | %limit cache 512MB | %limit models 8GB | %limit memory default",
    positional: [
      { name: "WHICH", help: "memory, cache, or models (the budget that loads evict to stay within)", required: true, choices: ["memory", "cache", "models"] },
      { name: "SIZE", help: "bytes, a number with a unit (512MB, 4GB, 2GiB), or default (the limit MLX started with; for models, the default share of the device)", required: true },
    ],
  },
  async run(a, _body, ctx) {
    const [which, sizeText] = a.positional as [string, string];
    const engine = await ctx.engine();
    const defaults = noteDefaultLimits(engine);
    const isDefault = sizeText.toLowerCase() === "default";
    let bytes: number;
    try {
      bytes = isDefault ? (which === "memory" ? defaults.memory : defaults.cache) : parseSize(sizeText);
    } catch (e) {
      throw new MagicArgError(`%limit: ${(e as Error).message.replace(/\.$/, "")}, or default (the limit MLX started with).`);
    }
    if (which === "models") {
      const reg = registryOf(engine);
      const before = reg.budget;
      if (isDefault) reg.resetBudget();
      else reg.budget = bytes;
      bytes = reg.budget;
      const info = reg.budgetInfo();
      const over = info.used > bytes ? ` Resident models are charged ${formatBytes(info.used)}, more than the new budget: nothing is evicted now; the next load or reload evicts to make room.` : "";
      ctx.sink.stream("stdout", `Model budget: ${formatBytes(before)} → ${formatBytes(bytes)} (resident models charged ${formatBytes(info.used)}).${over}\n`);
      return undefined;
    }
    const previous = which === "memory" ? engine.setMemoryLimit(bytes) : engine.setCacheLimit(bytes);
    const m = engine.memory();
    const now = which === "memory" ? m.limit : m.cacheLimit;
    const note = which === "memory" && engine.runtime().backend === "cpu" ? " On the CPU backend MLX does not enforce it; %load refuses weights that would pass it." : "";
    ctx.sink.stream("stdout", `MLX ${which} limit: ${formatBytes(previous)} → ${formatBytes(now)}${isDefault ? " (the default)" : ""}, active now ${formatBytes(m.active)}.${note}\n`);
    return undefined;
  },
});
