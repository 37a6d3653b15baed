// The sweep's arguments, shared by %bench and the command line (node dist/kernel/bench/cli.js).
import type { FlagSpec } from "../util/args.js";

export const SWEEP_FLAGS: FlagSpec[] = [
  { name: "prompt-tokens", short: "p", type: "ints", min: 1, help: "prompt lengths, comma-separated (default 128)", metavar: "P,..." },
  { name: "gen-tokens", short: "g", type: "ints", min: 1, help: "generation lengths, comma-separated (default 64)", metavar: "G,..." },
  { name: "repeats", short: "n", type: "int", min: 1, max: 100, help: "runs per point; the median is reported (default 3)", metavar: "N" },
  { name: "compare-quant", type: "ints", choices: [2, 3, 4, 5, 6, 8], help: "also measure copies quantized to these bits, e.g. 4,8", metavar: "B,..." },
  { name: "compare-kernels", type: "bool", help: "compare attention paths (only the MLX built-in one exists yet)" },
  { name: "out", type: "string", help: "JSON file to write", metavar: "FILE" },
];

export const SWEEP_DEFAULTS = { promptTokens: [128], genTokens: [64], repeats: 3 };
