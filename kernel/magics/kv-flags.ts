// KV-cache flags shared by %%generate and %%chat, as mlx_lm.generate names them.
import type { GenerateOptions } from "../engine/types.js";
import type { FlagSpec, ParsedArgs } from "../util/args.js";
import { num } from "./define.js";

export const KV_CACHE_FLAGS: FlagSpec[] = [
  { name: "kv-bits", type: "int", choices: [4, 8], help: "quantize the KV cache to 4 or 8 bits (default: not quantized)", metavar: "BITS" },
  { name: "kv-group-size", type: "int", choices: [32, 64, 128], help: "group size of the KV-cache quantization: 32, 64 or 128 (default 64)", metavar: "N" },
  { name: "quantized-kv-start", type: "int", min: 0, help: "with --kv-bits, quantize once the cache holds N positions (default 5000)", metavar: "N" },
  { name: "max-kv-size", type: "int", min: 5, help: "keep at most N positions (rotating cache; the first 4 stay)", metavar: "N" },
];

export function kvCacheOptions(a: ParsedArgs): GenerateOptions {
  const o: GenerateOptions = {};
  const bits = num(a, "kv-bits");
  if (bits !== undefined) o.kvBits = bits;
  const group = num(a, "kv-group-size");
  if (group !== undefined) o.kvGroupSize = group;
  const start = num(a, "quantized-kv-start");
  if (start !== undefined) o.quantizedKvStart = start;
  const max = num(a, "max-kv-size");
  if (max !== undefined) o.maxKvSize = max;
  return o;
}
