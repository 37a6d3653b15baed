// The addon's training surface (native/src/train/napi_train.cpp), beside NativeAddon in native-types.ts.
import type { NativeAddon, NativeErrorCode, NativeModel } from "./native-types.js";

/** adapter_config.json's num_layers and lora_parameters, as the engine takes them. */
export interface NativeLoraConfig {
  rank: number;
  /** the multiplier of the low-rank update (mlx-lm's lora_parameters.scale) */
  scale: number;
  /** the last numLayers blocks; 0 or less: all (as mlx-lm's model.layers[-max(n, 0):]) */
  numLayers: number;
  /** module paths inside a block ("self_attn.q_proj"); empty: every linear layer of the blocks */
  keys: string[];
}

export interface NativeTrainParams {
  lora: NativeLoraConfig;
  examples: Int32Array[];
  /** per example: the first target step trained on (mlx-lm's offset; 0 = all) */
  offsets: Int32Array;
  /** iters * batchSize example indices */
  schedule: Int32Array;
  iters: number;
  batchSize: number;
  gradAccum: number;
  maxSeqLength: number;
  learningRate: number;
  optimizer: "adam" | "adamw";
  weightDecay: number;
  seed: number;
  /** a safetensors file with the initial lora_a / lora_b (instead of the random init) */
  initAdapter?: string;
  /** adapters.safetensors (and NNNNNNN_adapters.safetensors checkpoints) go here */
  adapterDir?: string;
  saveEvery: number;
  /** a validation set: its examples and offsets, and each evaluation's batches (indices into valExamples) */
  valExamples?: Int32Array[];
  valOffsets?: Int32Array;
  evals?: { step: number; batches: Int32Array[] }[];
}

export interface NativeFuseReport {
  fusedLayers: number;
  dequantizedLayers: number;
  /** tensor -> shard file (model.safetensors.index.json's weight_map) */
  weightMap: Record<string, string>;
  totalBytes: number;
  totalParameters: number;
}

export type NativeTrainEvent =
  | { type: "step"; step: number; loss: number; tokens: number; trainedTokens: number; elapsedS: number; tokensPerSec: number; peakMemory: number; saved?: string; valLoss?: number; valS?: number }
  | { type: "done"; steps: number; cancelled: boolean; layers: number; saved?: string; compiled?: boolean; uncompiledReason?: string }
  | { type: "error"; code: NativeErrorCode; message: string };

export interface NativeTrainAddon {
  /** Trains on a generation worker; the model is busy until the "done"/"error" event. The adapter stays set on the model. */
  train(model: NativeModel, params: NativeTrainParams, onEvent: (ev: NativeTrainEvent) => void): { cancel(): void };
  /** Sets the adapter in `file` (or removes it: null). Resolves to the number of adapted layers. */
  setAdapter(model: NativeModel, file: string | null, config?: NativeLoraConfig): Promise<number>;
  /** Writes the model's weights with its adapter merged into `dir` (existing): safetensors shards only. */
  fuse(model: NativeModel, dir: string, opts: { dequantize: boolean }): Promise<NativeFuseReport>;
}

export function trainAddon(addon: NativeAddon): NativeTrainAddon {
  return addon as unknown as NativeTrainAddon;
}
