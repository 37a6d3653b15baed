// %limit memory SIZE | cache SIZE: MLX's memory and cache limits.
import { MagicArgError } from "../util/args.js";
import { formatBytes, parseSize } from "../util/bytes.js";
import { defineMagic } from "./define.js";

defineMagic({
  spec: {
    name: "limit",
    kind: "line",
    summary: "Set MLX's memory limit or cache limit: %limit memory 4GB | %limit cache 512MB",
    positional: [
      { name: "WHICH", help: "memory or cache", required: true, choices: ["memory", "cache"] },
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
    const previous = which === "memory" ? engine.setMemoryLimit(bytes) : engine.setCacheLimit(bytes);
    const m = engine.memory();
    const now = which === "memory" ? m.limit : m.cacheLimit;
    ctx.sink.stream("stdout", `MLX ${which} limit: ${formatBytes(previous)} → ${formatBytes(now)} (active now ${formatBytes(m.active)}).\n`);
    return undefined;
  },
});
