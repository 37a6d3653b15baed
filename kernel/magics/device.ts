// %device cpu|gpu: MLX's default device for what runs next.
import { defineMagic } from "./define.js";

defineMagic({
  spec: {
    name: "device",
    kind: "line",
    summary: "Show or set MLX's default device (cpu or gpu)",
    positional: [{ name: "DEVICE", help: "cpu or gpu; without it, shows the current device", choices: ["cpu", "gpu"] }],
  },
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const want = a.positional[0] as "cpu" | "gpu" | undefined;
    if (want) engine.setDevice(want);
    const rt = engine.runtime();
    ctx.sink.stream("stdout", `${want ? "Default device is now" : "Default device:"} ${rt.device}${rt.deviceName ? ` (${rt.deviceName})` : ""}; backend ${rt.backend}, MLX ${rt.mlxVersion}.\n`);
    return undefined;
  },
});
