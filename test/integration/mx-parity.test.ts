// mx against Python mlx (the .venv reference) on identical inputs: the same inputs, generated here with
// a fixed seed, go to Python as JSON; both sides run the same operations and the results must agree.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { mx, type MxArray, type NestedList } from "../../kernel/mx/index.js";
import { mulberry32 as rng } from "../prng.js";

const python = join(process.cwd(), ".venv", "bin", "python");

interface Input { shape: number[]; data: number[] }
function makeInput(next: () => number, shape: number[]): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  // Round to float32 so both sides start from exactly the same values.
  return { shape, data: Array.from(Float32Array.from({ length: n }, () => next() * 4 - 2)) };
}

const REFERENCE = String.raw`
import json, sys
import mlx.core as mx
inp = json.load(sys.stdin)
A = {k: mx.array(v["data"], dtype=mx.float32).reshape(v["shape"]) for k, v in inp.items()}
out = {}
out["matmul"] = A["a"] @ A["b"]
out["softmax"] = mx.softmax(A["x"], axis=-1)
out["sum0"] = mx.sum(A["x"], axis=0)
out["mean01k"] = mx.mean(A["x3"], axis=(0, 1), keepdims=True)
out["max1k"] = mx.max(A["x"], axis=1, keepdims=True)
out["min"] = mx.min(A["x"])
out["argmax1"] = mx.argmax(A["x"], axis=1)
out["argmin0"] = mx.argmin(A["x"], axis=0)
out["logsumexp1"] = mx.logsumexp(A["x"], axis=1)
wq, scales, biases = mx.quantize(A["w"], group_size=32, bits=4)
out["q_wq"] = wq.astype(mx.int64)
out["q_scales"] = scales
out["q_biases"] = biases
out["dequant"] = mx.dequantize(wq, scales, biases, group_size=32, bits=4)
out["qmm"] = mx.quantized_matmul(A["xq"], wq, scales, biases, transpose=True, group_size=32, bits=4)
out["rmsnorm"] = mx.fast.rms_norm(A["x3"], A["g"], 1e-5)
out["rope"] = mx.fast.rope(A["q"], 16, traditional=False, base=10000.0, scale=1.0, offset=2)
out["rope_trad"] = mx.fast.rope(A["q"], 8, traditional=True, base=500.0, scale=0.5, offset=0)
out["sdpa"] = mx.fast.scaled_dot_product_attention(A["q"], A["k"], A["v"], scale=0.25, mask="causal")
out["sdpa_nomask"] = mx.fast.scaled_dot_product_attention(A["q"], A["k"], A["v"], scale=0.25)
out["where"] = mx.where(A["x"] > 0, A["x"], A["x"] * 0.5)
out["concat"] = mx.concatenate([A["a"], A["a"][:, :3]], axis=1)
out["take"] = mx.take(A["x"], mx.array([3, 0, 2]), axis=1)
out["slice"] = A["x"][1:3, ::2]
out["slice_neg"] = A["x3"][..., -1]
out["slice_rev"] = A["x"][::-1, 1:8:3]
out["bf16"] = A["x"].astype(mx.bfloat16).astype(mx.float32)
out["bf16_bits"] = A["x"].astype(mx.bfloat16).view(mx.uint16).astype(mx.int32)
json.dump({k: v.tolist() for k, v in out.items()}, sys.stdout)
`;

function ours(A: Record<string, MxArray>): Record<string, MxArray> {
  const [wq, scales, biases] = mx.quantize(A.w!, { groupSize: 32, bits: 4 });
  return {
    matmul: mx.matmul(A.a!, A.b!),
    softmax: mx.softmax(A.x!, -1),
    sum0: mx.sum(A.x!, 0),
    mean01k: mx.mean(A.x3!, [0, 1], true),
    max1k: A.x!.max(1, true),
    min: A.x!.min(),
    argmax1: mx.argmax(A.x!, 1),
    argmin0: A.x!.argmin(0),
    logsumexp1: mx.logsumexp(A.x!, 1),
    q_wq: wq.astype("int64"),
    q_scales: scales,
    q_biases: biases!,
    dequant: mx.dequantize(wq, scales, biases, { groupSize: 32, bits: 4 }),
    qmm: mx.quantizedMatmul(A.xq!, wq, scales, biases, { transpose: true, groupSize: 32, bits: 4 }),
    rmsnorm: mx.fast.rmsNorm(A.x3!, A.g!, 1e-5),
    rope: mx.fast.rope(A.q!, 16, { traditional: false, base: 10000, scale: 1, offset: 2 }),
    rope_trad: mx.fast.rope(A.q!, 8, { traditional: true, base: 500, scale: 0.5, offset: 0 }),
    sdpa: mx.fast.scaledDotProductAttention(A.q!, A.k!, A.v!, { scale: 0.25, mask: "causal" }),
    sdpa_nomask: mx.fast.scaledDotProductAttention(A.q!, A.k!, A.v!, { scale: 0.25 }),
    where: mx.where(A.x!.greater(0), A.x!, A.x!.multiply(0.5)),
    concat: mx.concatenate([A.a!, A.a!.index(":, :3")], 1),
    take: mx.take(A.x!, mx.array([3, 0, 2]), 1),
    slice: A.x!.index("1:3, ::2"),
    slice_neg: A.x3!.index("..., -1"),
    slice_rev: A.x!.index("::-1, 1:8:3"),
    bf16: A.x!.astype("bfloat16").astype("float32"),
    bf16_bits: mx.view(A.x!.astype("bfloat16"), "uint16").astype("int32"),
  };
}

function flat(v: NestedList): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : [Number(v)];
}
function shapeOfList(v: NestedList): number[] {
  const s: number[] = [];
  let c: NestedList = v;
  while (Array.isArray(c)) { s.push(c.length); c = c[0]!; }
  return s;
}

// Exact for integer results; float results within a tolerance that covers different summation orders.
const EXACT = new Set(["argmax1", "argmin0", "q_wq", "bf16_bits", "slice", "slice_neg", "slice_rev", "take", "concat", "bf16", "where"]);

describe("mx matches Python mlx on the same inputs", () => {
  let reference: Record<string, NestedList> = {};
  let results: Record<string, MxArray> = {};

  beforeAll(() => {
    if (!existsSync(python)) throw new Error(`${python} is missing: run node scripts/setup.mjs to create .venv with mlx`);
    const next = rng(1234);
    const inputs: Record<string, Input> = {
      a: makeInput(next, [8, 16]), b: makeInput(next, [16, 4]), x: makeInput(next, [4, 10]), x3: makeInput(next, [2, 3, 16]),
      w: makeInput(next, [16, 64]), xq: makeInput(next, [3, 64]), g: makeInput(next, [16]),
      q: makeInput(next, [1, 4, 5, 16]), k: makeInput(next, [1, 2, 5, 16]), v: makeInput(next, [1, 2, 5, 16]),
    };
    const r = spawnSync(python, ["-c", REFERENCE], { input: JSON.stringify(inputs), encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`the Python reference failed: ${r.stderr}`);
    reference = JSON.parse(r.stdout) as Record<string, NestedList>;
    const A: Record<string, MxArray> = {};
    for (const [k, v] of Object.entries(inputs)) A[k] = mx.array(Float32Array.from(v.data), { shape: v.shape });
    results = ours(A);
  });

  const names = ["matmul", "softmax", "sum0", "mean01k", "max1k", "min", "argmax1", "argmin0", "logsumexp1", "q_wq", "q_scales", "q_biases",
    "dequant", "qmm", "rmsnorm", "rope", "rope_trad", "sdpa", "sdpa_nomask", "where", "concat", "take", "slice", "slice_neg", "slice_rev", "bf16", "bf16_bits"];
  for (const name of names) {
    it(name, () => {
      const ref = reference[name]!;
      const got = results[name]!;
      expect(got, `${name} missing on our side`).toBeDefined();
      expect(got.shape).toEqual(shapeOfList(ref));
      const a = flat(got.tolist());
      const b = flat(ref);
      expect(a.length).toBe(b.length);
      if (EXACT.has(name)) {
        expect(a).toEqual(b);
        return;
      }
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1e-5 + Math.abs(b[i]!)));
      expect(worst, `${name}: worst relative error`).toBeLessThan(1e-4);
    });
  }
});
