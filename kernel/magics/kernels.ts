// %kernels on|off|status: the switch for custom attention kernels. None ship yet, so "on" is recorded
// but changes nothing, and status names the attention path actually in use — no invented numbers.
import { defineMagic } from "./define.js";
import { stateOf } from "./state.js";

export const BUILTIN_ATTENTION = "mx.fast.scaled_dot_product_attention (MLX built-in)";

defineMagic({
  spec: {
    name: "kernels",
    kind: "line",
    summary: "Custom attention kernels on/off, and which attention path is in use",
    positional: [{ name: "ACTION", help: "on, off, or status (default status)", choices: ["on", "off", "status"] }],
  },
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const s = stateOf(engine);
    const action = a.positional[0] ?? "status";
    const rt = engine.runtime();
    if (action === "on") {
      s.customKernelsRequested = true;
      ctx.sink.stream("stdout", `No custom attention kernels are available in this build (backend: ${rt.backend}), so attention stays on ${BUILTIN_ATTENTION}.\n`);
    } else if (action === "off") {
      s.customKernelsRequested = false;
      ctx.sink.stream("stdout", `Custom attention kernels off: attention uses ${BUILTIN_ATTENTION}.\n`);
    } else {
      ctx.sink.stream("stdout", [
        `attention path: ${BUILTIN_ATTENTION}`,
        `custom kernels: ${s.customKernelsRequested ? "requested, but none are available in this build" : "off (none are available in this build)"}`,
        `backend: ${rt.backend}, device: ${rt.device}${rt.deviceName ? ` (${rt.deviceName})` : ""}, MLX ${rt.mlxVersion}`,
      ].join("\n") + "\n");
    }
    return undefined;
  },
});
