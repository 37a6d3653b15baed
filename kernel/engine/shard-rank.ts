// One rank of a sharded model: a child process of the session (kernel/engine/shards.ts forks it with
// MLX_RANK and MLX_HOSTFILE set, as mlx.launch does). It joins MLX's distributed group, loads its shard and
// runs the same commands as every other rank; rank 0's tokens are the ones the session streams.
import { loadNative } from "./native.js";
import type { NativeGeneration, NativeLoadOptions, NativeModel } from "./native-types.js";
import type { RankEvent, RankRequest } from "./shards-protocol.js";
import type { DistAddon } from "./shards-protocol.js";

function send(m: RankEvent): void {
  process.send?.(m);
}

// The session gone (or it closed the channel): nothing may keep running. SIGKILL, because a rank blocked in
// a collective never returns to the event loop.
process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));

let model: NativeModel | undefined;
let gen: NativeGeneration | undefined;
const addon = loadNative() as ReturnType<typeof loadNative> & DistAddon;

function fail(id: number, e: unknown): void {
  const err = e as { code?: string; message?: string };
  send({ id, type: "error", code: err.code ?? "E_MLX", message: err.message ?? String(e) });
}

function memory(): { activeMemory: number; peakMemory: number } {
  const m = addon.memory();
  return { activeMemory: m.active, peakMemory: m.peak };
}

async function load(id: number, backend: string, opts: NativeLoadOptions & { shards: number; shardMode: "tensor" | "pipeline" }): Promise<void> {
  send({ id, type: "joining" });
  const g = await addon.distInit(backend);
  send({ id, type: "joined", rank: g.rank, size: g.size });
  model = await addon.loadModel(opts);
  const info = model.info();
  send({ id, type: "loaded", info, weightBytes: info.weightBytes, ...memory() });
}

process.on("message", (m: RankRequest) => {
  switch (m.op) {
    case "load":
      load(m.id, m.backend, m.opts).catch((e) => fail(m.id, e));
      return;
    case "generate":
      try {
        if (!model) throw new Error("no model is loaded on this rank");
        addon.resetPeakMemory();
        gen = model.generate(Int32Array.from(m.prompt), m.params, (ev) => {
          if (ev.type === "done" || ev.type === "error") gen = undefined;
          send({ id: m.id, type: "event", event: ev, ...(ev.type === "tokens" ? {} : memory()) });
        });
      } catch (e) {
        fail(m.id, e);
      }
      return;
    case "cancel":
      gen?.cancel();
      return;
    case "logits":
      if (!model) return fail(m.id, new Error("no model is loaded on this rank"));
      model.logits(Int32Array.from(m.tokens), m.positions).then(
        (data) => send({ id: m.id, type: "logits", data: Array.from(data) }),
        (e) => fail(m.id, e),
      );
      return;
    case "resetCache":
      model?.resetCache();
      return;
    case "exit":
      process.exit(0);
  }
});

send({ id: 0, type: "started", pid: process.pid });
// A heartbeat from this thread, which stays free while the addon's pool runs the model (even blocked in a
// collective): a rank that stops beating is stopped or hung, and the session names it (shards.ts).
setInterval(() => send({ id: 0, type: "beat" }), 1000).unref();
