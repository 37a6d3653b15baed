// One rank of a sharded model: a child process of the session (kernel/engine/shards.ts forks it with
// MLX_RANK and MLX_HOSTFILE set, as mlx.launch does), or a process on another host started over ssh
// (shards-remote.ts) with the hostfile's text in MLX_TS_HOSTS. It joins MLX's distributed group, loads its
// shard and runs the same commands as every other rank; rank 0's tokens are the ones the session streams.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNative } from "./native.js";
import type { NativeGeneration, NativeLoadOptions, NativeModel } from "./native-types.js";
import { openChannel } from "./shard-rank-channel.js";
import type { RankEvent, RankRequest } from "./shards-protocol.js";
import type { DistAddon } from "./shards-protocol.js";

// A remote rank gets the hostfile's text, not a path on the session's machine: MLX's ring reads a file.
if (process.env.MLX_TS_HOSTS && !process.env.MLX_HOSTFILE) {
  const dir = mkdtempSync(join(tmpdir(), "mlx-ts-rank-"));
  writeFileSync(join(dir, "hosts.json"), process.env.MLX_TS_HOSTS);
  process.env.MLX_HOSTFILE = join(dir, "hosts.json");
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
}

const channel = openChannel(onRequest);

function send(m: RankEvent): void {
  channel.send(m);
}

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

function onRequest(m: RankRequest): void {
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
}

send({ id: 0, type: "started", pid: process.pid });
// A heartbeat from this thread, which stays free while the addon's pool runs the model (even blocked in a
// collective): a rank that stops beating is stopped or hung, and the session names it (shards.ts).
setInterval(() => send({ id: 0, type: "beat" }), 1000).unref();
