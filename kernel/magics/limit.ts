// %limit memory SIZE | cache SIZE: MLX's memory and cache limits. %limit models SIZE: the model budget
// that loads and reloads evict to stay within (registry.ts).
import { MagicArgError } from "../util/args.js";
import { formatBytes, parseSize } from "../util/bytes.js";
import { defineMagic } from "./define.js";
import { registryOf } from "../engine/registry.js";

defineMagic({
  spec: {
    name: "limit",
    kind: "line",
    summary: "Set MLX's memory or cache limit, or the model budget: %limit memory 4GB | %limit cache 512MB | %limit models 8GB",
    positional: [
      { name: "WHICH", help: "memory, cache, or models (the budget that loads evict to stay within)", required: true, choices: ["memory", "cache", "models"] },
      { name: "SIZE", help: "bytes, or a number with a unit (512MB, 4GB, 2GiB)", required: true },
    ],
  },
  async run(a, _body, ctx) {
    const [which, sizeText] = a.positional as [string, string];
    let bytes: number;
    try {
      bytes = parseSize(sizeText);
    } catch (e) {
      throw new MagicArgError(`%limit: ${(e as Error).message}`);
    }
    const engine = await ctx.engine();
    if (which === "models") {
      const reg = registryOf(engine);
      const before = reg.budget;
      reg.budget = bytes;
      const info = reg.budgetInfo();
      const over = info.used > bytes ? ` Resident models are charged ${formatBytes(info.used)}, more than the new budget: nothing is evicted now; the next load or reload evicts to make room.` : "";
      ctx.sink.stream("stdout", `Model budget: ${formatBytes(before)} → ${formatBytes(bytes)} (resident models charged ${formatBytes(info.used)}).${over}\n`);
      return undefined;
    }
    const previous = which === "memory" ? engine.setMemoryLimit(bytes) : engine.setCacheLimit(bytes);
    const m = engine.memory();
    const now = which === "memory" ? m.limit : m.cacheLimit;
    ctx.sink.stream("stdout", `MLX ${which} limit: ${formatBytes(previous)} → ${formatBytes(now)} (active now ${formatBytes(m.active)}).\n`);
    return undefined;
  },
});
