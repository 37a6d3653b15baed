// The messages between the session (shards.ts) and its rank processes (shard-rank.ts), over Node's IPC
// channel, and the addon's distributed surface (native/src/dist/napi_dist.cpp).
import type { NativeGenerateParams, NativeGenerationEvent, NativeLoadOptions, NativeModelInfo } from "./native-types.js";

export interface DistAddon {
  /** Joins MLX's distributed group (strict init); a ring resolves once every rank has connected. */
  distInit(backend: string): Promise<{ rank: number; size: number }>;
}

export type RankRequest =
  | { op: "load"; id: number; backend: string; opts: NativeLoadOptions & { shards: number; shardMode: "tensor" | "pipeline" } }
  | { op: "generate"; id: number; prompt: number[]; params: Omit<NativeGenerateParams, "draft"> }
  | { op: "cancel"; id: number }
  | { op: "logits"; id: number; tokens: number[]; positions?: number }
  | { op: "resetCache"; id: number }
  | { op: "exit"; id: number };

export interface RankMemory {
  activeMemory: number;
  peakMemory: number;
}

export type RankEvent =
  | { id: number; type: "started"; pid: number }
  | { id: number; type: "beat" }
  | { id: number; type: "joining" }
  | { id: number; type: "joined"; rank: number; size: number }
  | ({ id: number; type: "loaded"; info: NativeModelInfo; weightBytes: number } & RankMemory)
  | ({ id: number; type: "event"; event: NativeGenerationEvent } & Partial<RankMemory>)
  | { id: number; type: "logits"; data: number[] }
  | { id: number; type: "error"; code: string; message: string };
