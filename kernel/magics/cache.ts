// %cache clear: returns MLX's cached buffers to the system.
import { formatBytes } from "../util/bytes.js";
import { defineMagic } from "./define.js";

defineMagic({
  spec: {
    name: "cache",
    kind: "line",
    summary: "Clear MLX's buffer cache: %cache clear",
    positional: [{ name: "ACTION", help: "clear", required: true, choices: ["clear"] }],
  },
  async run(_a, _body, ctx) {
    const engine = await ctx.engine();
    const before = engine.memory().cache;
    engine.clearCache();
    const after = engine.memory().cache;
    ctx.sink.stream("stdout", `MLX cache cleared: ${formatBytes(before)} → ${formatBytes(after)}.\n`);
    return undefined;
  },
});
