// %limit memory SIZE | cache SIZE: MLX's memory and cache limits.
import { MagicArgError } from "../util/args.js";
import { formatBytes, parseSize } from "../util/bytes.js";
import { defineMagic } from "./define.js";
import { noteDefaultLimits } from "./state.js";

defineMagic({
  spec: {
    name: "limit",
    kind: "line",
    summary: "Set MLX's memory limit or cache limit: %limit memory 4GB | %limit cache 512MB | %limit memory default",
    positional: [
      { name: "WHICH", help: "memory or cache", required: true, choices: ["memory", "cache"] },
      { name: "SIZE", help: "bytes, a number with a unit (512MB, 4GB, 2GiB), or default (the limit MLX started with)", required: true },
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
    const previous = which === "memory" ? engine.setMemoryLimit(bytes) : engine.setCacheLimit(bytes);
    const m = engine.memory();
    const now = which === "memory" ? m.limit : m.cacheLimit;
    const note = which === "memory" && engine.runtime().backend === "cpu" ? " On the CPU backend MLX does not enforce it; %load refuses weights that would pass it." : "";
    ctx.sink.stream("stdout", `MLX ${which} limit: ${formatBytes(previous)} → ${formatBytes(now)}${isDefault ? " (the default)" : ""}, active now ${formatBytes(m.active)}.${note}\n`);
    return undefined;
  },
});
