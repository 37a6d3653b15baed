// The free functions of the mx namespace (creation, math, shapes, reductions, nn, runtime). Each takes
// MxArrays or anything mx.array accepts; scalars follow MLX's weak-scalar dtype rules.
import { type ArrayInput, type Axes, axesOf, binaryOp, handleOf, MxArray, type Operand, reduceOp, toArray, unaryOp, wrap } from "./array.js";
import { checkDtype, type Dtype, scalarDtype, typedArrayKind } from "./dtype.js";
import { badArgument } from "./errors.js";
import { runtimeControls } from "../engine/runtime.js";
import type { NativeMemory } from "../engine/native-types.js";
import { type NativeArray, native } from "./native.js";

const isScalar = (v: unknown): v is number | boolean | bigint => typeof v === "number" || typeof v === "boolean" || typeof v === "bigint";
const h = (x: ArrayInput): NativeArray => handleOf(toArray(x));
const hOpt = (x: ArrayInput | null | undefined): NativeArray | null => (x === undefined || x === null ? null : h(x));

// ---- creation ----
/**
 * An array from numbers, booleans, nested lists, a typed array, or another array. Ints -> int32,
 * fractions -> float32, booleans -> bool unless `dtype` says otherwise. `shape` reshapes typed-array
 * data; `raw` reads a Uint16Array as the stored bits of a float16/bfloat16 array (the inverse of
 * toTypedArray({ raw: true })).
 */
export function array(data: ArrayInput, dtypeOrOpts?: Dtype | { dtype?: Dtype; shape?: number[]; raw?: boolean }): MxArray {
  const opts = typeof dtypeOrOpts === "string" ? { dtype: dtypeOrOpts } : dtypeOrOpts ?? {};
  if (opts.raw) {
    if (typedArrayKind(data) !== "Uint16Array" || (opts.dtype !== "float16" && opts.dtype !== "bfloat16")) {
      throw badArgument("raw: true takes a Uint16Array with dtype float16 or bfloat16.");
    }
    const bits = data as Uint16Array;
    return wrap(native().fromRawBits(bits, opts.shape ?? [bits.length], opts.dtype));
  }
  return toArray(data, opts.dtype, opts.shape);
}
const shapeOf = (shape: number | number[]): number[] => [shape].flat();
/** An array of zeros (default float32). */
export function zeros(shape: number | number[], dtype: Dtype = "float32"): MxArray {
  return wrap(native().zeros(shapeOf(shape), checkDtype(dtype)));
}
/** An array of ones (default float32). */
export function ones(shape: number | number[], dtype: Dtype = "float32"): MxArray {
  return wrap(native().ones(shapeOf(shape), checkDtype(dtype)));
}
/** An array filled with `value` (broadcast); dtype defaults to the value's. */
export function full(shape: number | number[], value: ArrayInput, dtype?: Dtype): MxArray {
  return wrap(native().full(shapeOf(shape), h(value), dtype === undefined ? null : checkDtype(dtype)));
}
/** Zeros with a's shape and dtype. */
export function zerosLike(a: MxArray): MxArray { return zeros(a.shape, a.dtype); }
/** Ones with a's shape and dtype. */
export function onesLike(a: MxArray): MxArray { return ones(a.shape, a.dtype); }
/**
 * Evenly spaced values in [start, stop): arange(stop), arange(start, stop), arange(start, stop, step).
 * int32 when every bound is an integer, else float32 (as in Python).
 */
export function arange(start: number, stop?: number, step?: number, dtype?: Dtype): MxArray {
  const [s, e] = stop === undefined ? [0, start] : [start, stop];
  const st = step ?? 1;
  const ints = [s, e, st].every(Number.isInteger);
  return wrap(native().arange(s, e, st, dtype ? checkDtype(dtype) : ints ? "int32" : "float32"));
}
/** `num` evenly spaced values from start to stop inclusive (default 50, float32). */
export function linspace(start: number, stop: number, num = 50, dtype: Dtype = "float32"): MxArray {
  return wrap(native().linspace(start, stop, num, checkDtype(dtype)));
}
/** An n×m identity-like matrix with ones on diagonal k. */
export function eye(n: number, m?: number, k = 0, dtype: Dtype = "float32"): MxArray {
  return wrap(native().eye(n, m ?? n, k, checkDtype(dtype)));
}
/** The n×n identity matrix. */
export function identity(n: number, dtype: Dtype = "float32"): MxArray { return eye(n, n, 0, dtype); }

// ---- elementwise ----
/** a + b, elementwise with broadcasting. */
export const add = (a: Operand, b: Operand): MxArray => binaryOp("add", a, b);
/** a - b, elementwise with broadcasting. */
export const subtract = (a: Operand, b: Operand): MxArray => binaryOp("subtract", a, b);
/** a * b, elementwise with broadcasting. */
export const multiply = (a: Operand, b: Operand): MxArray => binaryOp("multiply", a, b);
/** a / b (true division: integers give floats). */
export const divide = (a: Operand, b: Operand): MxArray => binaryOp("divide", a, b);
/** floor(a / b), elementwise. */
export const floorDivide = (a: Operand, b: Operand): MxArray => binaryOp("floorDivide", a, b);
/** a mod b with the sign of b (Python's %). */
export const remainder = (a: Operand, b: Operand): MxArray => binaryOp("remainder", a, b);
/** a ** b, elementwise. */
export const power = (a: Operand, b: Operand): MxArray => binaryOp("power", a, b);
/** The larger of a and b, elementwise. */
export const maximum = (a: Operand, b: Operand): MxArray => binaryOp("maximum", a, b);
/** The smaller of a and b, elementwise. */
export const minimum = (a: Operand, b: Operand): MxArray => binaryOp("minimum", a, b);
/** atan2(a, b), elementwise. */
export const arctan2 = (a: Operand, b: Operand): MxArray => binaryOp("arctan2", a, b);
/** log(exp(a) + exp(b)) computed stably. */
export const logaddexp = (a: Operand, b: Operand): MxArray => binaryOp("logaddexp", a, b);
/** a == b as a bool array. */
export const equal = (a: Operand, b: Operand): MxArray => binaryOp("equal", a, b);
/** a != b as a bool array. */
export const notEqual = (a: Operand, b: Operand): MxArray => binaryOp("notEqual", a, b);
/** a < b as a bool array. */
export const less = (a: Operand, b: Operand): MxArray => binaryOp("less", a, b);
/** a <= b as a bool array. */
export const lessEqual = (a: Operand, b: Operand): MxArray => binaryOp("lessEqual", a, b);
/** a > b as a bool array. */
export const greater = (a: Operand, b: Operand): MxArray => binaryOp("greater", a, b);
/** a >= b as a bool array. */
export const greaterEqual = (a: Operand, b: Operand): MxArray => binaryOp("greaterEqual", a, b);
/** a && b for bool arrays. */
export const logicalAnd = (a: Operand, b: Operand): MxArray => binaryOp("logicalAnd", a, b);
/** a || b for bool arrays. */
export const logicalOr = (a: Operand, b: Operand): MxArray => binaryOp("logicalOr", a, b);
/** Matrix product with broadcasting over leading axes (a: [..., n, k], b: [..., k, m]). */
export const matmul = (a: Operand, b: Operand): MxArray => binaryOp("matmul", a, b);
/** Inner product over the last axes. */
export const inner = (a: Operand, b: Operand): MxArray => binaryOp("inner", a, b);
/** Outer product of two vectors. */
export const outer = (a: Operand, b: Operand): MxArray => binaryOp("outer", a, b);

/** -a */
export const negative = (a: ArrayInput): MxArray => unaryOp("negative", a);
/** |a| */
export const abs = (a: ArrayInput): MxArray => unaryOp("abs", a);
/** -1, 0 or 1 by the sign of each element. */
export const sign = (a: ArrayInput): MxArray => unaryOp("sign", a);
/** e ** a */
export const exp = (a: ArrayInput): MxArray => unaryOp("exp", a);
/** exp(a) - 1, accurate near 0. */
export const expm1 = (a: ArrayInput): MxArray => unaryOp("expm1", a);
/** Natural logarithm. */
export const log = (a: ArrayInput): MxArray => unaryOp("log", a);
/** Base-2 logarithm. */
export const log2 = (a: ArrayInput): MxArray => unaryOp("log2", a);
/** Base-10 logarithm. */
export const log10 = (a: ArrayInput): MxArray => unaryOp("log10", a);
/** log(1 + a), accurate near 0. */
export const log1p = (a: ArrayInput): MxArray => unaryOp("log1p", a);
/** Square root. */
export const sqrt = (a: ArrayInput): MxArray => unaryOp("sqrt", a);
/** 1 / sqrt(a). */
export const rsqrt = (a: ArrayInput): MxArray => unaryOp("rsqrt", a);
/** a * a */
export const square = (a: ArrayInput): MxArray => unaryOp("square", a);
/** 1 / a */
export const reciprocal = (a: ArrayInput): MxArray => unaryOp("reciprocal", a);
/** Sine (radians). */
export const sin = (a: ArrayInput): MxArray => unaryOp("sin", a);
/** Cosine (radians). */
export const cos = (a: ArrayInput): MxArray => unaryOp("cos", a);
/** Tangent (radians). */
export const tan = (a: ArrayInput): MxArray => unaryOp("tan", a);
/** Inverse sine. */
export const arcsin = (a: ArrayInput): MxArray => unaryOp("arcsin", a);
/** Inverse cosine. */
export const arccos = (a: ArrayInput): MxArray => unaryOp("arccos", a);
/** Inverse tangent. */
export const arctan = (a: ArrayInput): MxArray => unaryOp("arctan", a);
/** Hyperbolic sine. */
export const sinh = (a: ArrayInput): MxArray => unaryOp("sinh", a);
/** Hyperbolic cosine. */
export const cosh = (a: ArrayInput): MxArray => unaryOp("cosh", a);
/** Hyperbolic tangent. */
export const tanh = (a: ArrayInput): MxArray => unaryOp("tanh", a);
/** 1 / (1 + exp(-a)). */
export const sigmoid = (a: ArrayInput): MxArray => unaryOp("sigmoid", a);
/** The error function. */
export const erf = (a: ArrayInput): MxArray => unaryOp("erf", a);
/** The inverse error function. */
export const erfinv = (a: ArrayInput): MxArray => unaryOp("erfinv", a);
/** Rounds down. */
export const floor = (a: ArrayInput): MxArray => unaryOp("floor", a);
/** Rounds up. */
export const ceil = (a: ArrayInput): MxArray => unaryOp("ceil", a);
/** Rounds to the nearest integer (halves to even). */
export const round = (a: ArrayInput): MxArray => unaryOp("round", a);
/** !a for bool arrays. */
export const logicalNot = (a: ArrayInput): MxArray => unaryOp("logicalNot", a);
/** Whether each element is NaN. */
export const isnan = (a: ArrayInput): MxArray => unaryOp("isnan", a);
/** Whether each element is ±infinity. */
export const isinf = (a: ArrayInput): MxArray => unaryOp("isinf", a);
/** The same values, treated as a constant by autodiff. */
export const stopGradient = (a: ArrayInput): MxArray => unaryOp("stopGradient", a);
/** x * sigmoid(x) */
export const silu = (a: ArrayInput): MxArray => { const x = toArray(a); return x.multiply(x.sigmoid()); };
/** max(x, 0) */
export const relu = (a: ArrayInput): MxArray => { const x = toArray(a); return x.maximum(0); };
/** GELU, the erf form: x * (1 + erf(x / sqrt 2)) / 2 */
export const gelu = (a: ArrayInput): MxArray => { const x = toArray(a); return x.multiply(erf(x.multiply(Math.SQRT1_2)).add(1)).multiply(0.5); };

/** Elements of x where `condition` is true, else of y (all three broadcast). */
export function where(condition: Operand, x: Operand, y: Operand): MxArray {
  let X = isScalar(x) ? undefined : toArray(x);
  let Y = isScalar(y) ? undefined : toArray(y);
  if (!X && !Y) X = toArray(x);
  Y ??= toArray(y, scalarDtype(y as number, X!.dtype));
  X ??= toArray(x, scalarDtype(x as number, Y.dtype));
  return wrap(native().where(h(condition), handleOf(X), handleOf(Y)));
}
/** Limits values to [min, max] (either may be null). */
export function clip(a: ArrayInput, min: Operand | null, max: Operand | null): MxArray {
  const x = toArray(a);
  const lim = (v: Operand | null): NativeArray | null => (v === null ? null : handleOf(isScalar(v) ? toArray(v, scalarDtype(v, x.dtype)) : toArray(v)));
  return wrap(native().clip(handleOf(x), lim(min), lim(max)));
}
/** True when every element of a and b is within atol + rtol * |b|. Returns a bool scalar array. */
export function allclose(a: ArrayInput, b: ArrayInput, rtol = 1e-5, atol = 1e-8): MxArray {
  return wrap(native().allclose(h(a), h(b), rtol, atol));
}

// ---- reductions ----
/** Sum over `axis` (all axes when omitted); keepdims keeps reduced axes with size 1. */
export const sum = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("sum", a, axis, keepdims);
/** Mean over `axis` (all when omitted). */
export const mean = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("mean", a, axis, keepdims);
/** Maximum over `axis` (all when omitted). */
export const max = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("max", a, axis, keepdims);
/** Minimum over `axis` (all when omitted). */
export const min = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("min", a, axis, keepdims);
/** Product over `axis` (all when omitted). */
export const prod = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("prod", a, axis, keepdims);
/** Whether every element over `axis` is true. */
export const all = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("all", a, axis, keepdims);
/** Whether some element over `axis` is true. */
export const any = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("any", a, axis, keepdims);
/** log(sum(exp(a))) computed stably. */
export const logsumexp = (a: ArrayInput, axis?: Axes, keepdims = false): MxArray => reduceOp("logsumexp", a, axis, keepdims);
/** Variance (ddof = delta degrees of freedom). */
export function variance(a: ArrayInput, axis?: Axes, keepdims = false, ddof = 0): MxArray {
  return wrap(native().variance(h(a), axesOf(axis), keepdims, ddof));
}
/** Standard deviation (ddof = delta degrees of freedom). */
export function std(a: ArrayInput, axis?: Axes, keepdims = false, ddof = 0): MxArray { return variance(a, axis, keepdims, ddof).sqrt(); }
/** Index of the largest element along `axis` (of the flattened array when omitted). */
export const argmax = (a: ArrayInput, axis?: number, keepdims = false): MxArray => toArray(a).argmax(axis, keepdims);
/** Index of the smallest element along `axis` (flattened when omitted). */
export const argmin = (a: ArrayInput, axis?: number, keepdims = false): MxArray => toArray(a).argmin(axis, keepdims);
/** Cumulative sum along `axis` (flattened when omitted). */
export function cumsum(a: ArrayInput, axis?: number, opts: { reverse?: boolean; inclusive?: boolean } = {}): MxArray {
  const x = axis === undefined ? toArray(a).flatten() : toArray(a);
  return wrap(native().cumulative("cumsum", handleOf(x), axis ?? 0, opts.reverse ?? false, opts.inclusive ?? true));
}
/** exp(a) / sum(exp(a)) over `axis` (default the last); `precise` accumulates half types in float32. */
export function softmax(a: ArrayInput, axis: Axes = -1, opts: { precise?: boolean } = {}): MxArray {
  return wrap(native().softmax(h(a), axesOf(axis), opts.precise ?? false));
}
/** Sorted values along `axis` (default the last). */
export const sort = (a: ArrayInput, axis: number | null = -1): MxArray => wrap(native().sort("sort", h(a), axis));
/** Indices that sort along `axis` (default the last). */
export const argsort = (a: ArrayInput, axis: number | null = -1): MxArray => wrap(native().sort("argsort", h(a), axis));
/** The k largest values along `axis` (unordered, as MLX returns them). */
export const topk = (a: ArrayInput, k: number, axis = -1): MxArray => wrap(native().topk(h(a), k, axis));

// ---- shapes ----
/** A copy converted to `dtype`. */
export const astype = (a: ArrayInput, dtype: Dtype): MxArray => toArray(a).astype(dtype);
/** The same bytes read as another dtype (sizes must be compatible). */
export const view = (a: ArrayInput, dtype: Dtype): MxArray => wrap(native().view(h(a), checkDtype(dtype)));
/** Same data, new shape (one dimension may be -1). */
export const reshape = (a: ArrayInput, shape: number[]): MxArray => toArray(a).reshape(shape);
/** Flattens axes startAxis..endAxis into one. */
export const flatten = (a: ArrayInput, startAxis = 0, endAxis = -1): MxArray => toArray(a).flatten(startAxis, endAxis);
/** Permutes axes (reverses them when omitted). */
export const transpose = (a: ArrayInput, axes?: number[]): MxArray => toArray(a).transpose(axes ?? []);
/** Exchanges two axes. */
export const swapaxes = (a: ArrayInput, axis1: number, axis2: number): MxArray => toArray(a).swapaxes(axis1, axis2);
/** Moves one axis to a new position. */
export const moveaxis = (a: ArrayInput, source: number, destination: number): MxArray => toArray(a).moveaxis(source, destination);
/** Inserts axes of size 1. */
export const expandDims = (a: ArrayInput, axes: number | number[]): MxArray => toArray(a).expandDims(axes);
/** Removes axes of size 1 (all of them when none are named). */
export const squeeze = (a: ArrayInput, axes?: number | number[]): MxArray => toArray(a).squeeze(axes);
/** Broadcasts to `shape` without copying. */
export const broadcastTo = (a: ArrayInput, shape: number[]): MxArray => toArray(a).broadcastTo(shape);
/** Joins arrays along an existing axis (default 0). */
export function concatenate(arrays: ArrayInput[], axis = 0): MxArray {
  return wrap(native().concatenate(arrays.map(h), axis));
}
/** Joins arrays along a new axis (default 0). */
export function stack(arrays: ArrayInput[], axis = 0): MxArray {
  return wrap(native().stack(arrays.map(h), axis));
}
/** Splits into `sections` equal parts, or at the given indices, along `axis` (default 0). */
export function split(a: ArrayInput, sectionsOrIndices: number | number[], axis = 0): MxArray[] {
  return native().split(h(a), sectionsOrIndices, axis).map(wrap);
}
/** Repeats each element `repeats` times along `axis` (flattened when omitted). */
export const repeat = (a: ArrayInput, repeats: number, axis?: number): MxArray => wrap(native().repeat(h(a), repeats, axis ?? null));
/** Repeats the whole array `reps` times per axis. */
export const tile = (a: ArrayInput, reps: number | number[]): MxArray => wrap(native().tile(h(a), [reps].flat()));
/** Pads with `value` (default 0): width per axis as [before, after], or one number for every side. */
export function pad(a: ArrayInput, width: number | [number, number][], value: number = 0): MxArray {
  const x = toArray(a);
  const widths: [number, number][] = typeof width === "number" ? x.shape.map(() => [width, width]) : width;
  return wrap(native().pad(handleOf(x), widths, handleOf(toArray(value, x.dtype))));
}
/** Elements at `indices` along `axis` (flattened when omitted). */
export const take = (a: ArrayInput, indices: ArrayInput, axis?: number): MxArray => toArray(a).take(indices, axis);
/** Picks elements along `axis` at per-position `indices` (as from argsort). */
export const takeAlongAxis = (a: ArrayInput, indices: ArrayInput, axis: number): MxArray => wrap(native().takeAlongAxis(h(a), h(indices), axis));

// ---- quantization ----
/** Options of quantize, dequantize and quantizedMatmul. */
export interface QuantizeOptions {
  /** elements sharing one scale (and bias); default 64 */
  groupSize?: number;
  /** bits per weight; default 4 */
  bits?: number;
  /** "affine" (scales + biases, the mlx-lm default), "mxfp4", "mxfp8" (no biases) */
  mode?: "affine" | "mxfp4" | "mxfp8" | "nvfp4";
}
/** [packed weights (uint32), scales, biases (affine mode only)] */
export type Quantized = [wq: MxArray, scales: MxArray, biases?: MxArray];
/** Quantizes a matrix along its last axis (which must divide by groupSize). */
export function quantize(w: ArrayInput, opts: QuantizeOptions = {}): Quantized {
  const out = native().quantize(h(w), opts.groupSize ?? null, opts.bits ?? null, opts.mode ?? "affine").map(wrap);
  return out as Quantized;
}
/** The float matrix that quantize() packed (dtype defaults to the scales'). */
export function dequantize(wq: MxArray, scales: MxArray, biases?: MxArray | null, opts: QuantizeOptions & { dtype?: Dtype } = {}): MxArray {
  return wrap(native().dequantize(handleOf(wq), handleOf(scales), biases ? handleOf(biases) : null, opts.groupSize ?? null, opts.bits ?? null,
    opts.mode ?? "affine", opts.dtype ? checkDtype(opts.dtype) : null));
}
/** x @ dequantize(w).T (or without the transpose), without materialising the float weights. */
export function quantizedMatmul(x: ArrayInput, wq: MxArray, scales: MxArray, biases?: MxArray | null, opts: QuantizeOptions & { transpose?: boolean } = {}): MxArray {
  return wrap(native().quantizedMatmul(h(x), handleOf(wq), handleOf(scales), biases ? handleOf(biases) : null, opts.transpose ?? true,
    opts.groupSize ?? null, opts.bits ?? null, opts.mode ?? "affine"));
}

// ---- fast (MLX's fused kernels) ----
/** MLX's fused kernels, as used by language models. */
export const fast = {
  /** x / sqrt(mean(x², last axis) + eps) * weight (weight may be null). */
  rmsNorm(x: ArrayInput, weight: ArrayInput | null = null, eps = 1e-5): MxArray {
    return wrap(native().rmsNorm(h(x), hOpt(weight), eps));
  },
  /** (x - mean) / sqrt(var + eps) * weight + bias over the last axis (weight and bias may be null). */
  layerNorm(x: ArrayInput, weight: ArrayInput | null = null, bias: ArrayInput | null = null, eps = 1e-5): MxArray {
    return wrap(native().layerNorm(h(x), hOpt(weight), hOpt(bias), eps));
  },
  /**
   * Rotary position embedding over the first `dims` features of x ([..., seq, features]).
   * Defaults: traditional false (halves rotated, as Llama/Qwen), base 10000, scale 1, offset 0.
   */
  rope(x: ArrayInput, dims: number, opts: { traditional?: boolean; base?: number | null; scale?: number; offset?: number | MxArray; freqs?: MxArray } = {}): MxArray {
    const offset = opts.offset instanceof MxArray ? handleOf(opts.offset) : opts.offset ?? 0;
    const base = opts.freqs ? null : opts.base === undefined ? 10000 : opts.base;
    return wrap(native().rope(h(x), dims, opts.traditional ?? false, base, opts.scale ?? 1, offset, opts.freqs ? handleOf(opts.freqs) : null));
  },
  /**
   * softmax(q·kᵀ·scale + mask)·v for q [B, Hq, Lq, D], k/v [B, Hkv, Lk, D] (grouped-query when Hq > Hkv).
   * scale defaults to 1/sqrt(D); mask is "causal", an additive/boolean MxArray, or none.
   */
  scaledDotProductAttention(q: MxArray, k: MxArray, v: MxArray, opts: { scale?: number; mask?: "causal" | MxArray | null; sinks?: MxArray } = {}): MxArray {
    const scale = opts.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]!);
    const mask = opts.mask instanceof MxArray ? handleOf(opts.mask) : null;
    const mode = opts.mask === "causal" ? "causal" : null;
    if (opts.mask !== undefined && opts.mask !== null && opts.mask !== "causal" && !(opts.mask instanceof MxArray)) {
      throw badArgument(`mask must be "causal", an MxArray, or null; got ${JSON.stringify(opts.mask)}.`);
    }
    return wrap(native().scaledDotProductAttention(handleOf(q), handleOf(k), handleOf(v), scale, mode, mask, opts.sinks ? handleOf(opts.sinks) : null));
  },
};

// ---- random ----
type RandOpts = { dtype?: Dtype; key?: MxArray };
/** Random numbers from MLX's generator (mx.random.seed makes them repeat). */
export const random = {
  /** Seeds MLX's global generator so later random calls repeat. */
  seed(seed: number): void {
    native().randomSeed(seed);
  },
  /** An explicit PRNG key (pass as opts.key for reproducibility independent of the global seed). */
  key(seed: number): MxArray {
    return wrap(native().randomKey(seed));
  },
  /** Splits a key into `num` new keys (rows of the result). */
  split(key: MxArray, num = 2): MxArray {
    return wrap(native().randomSplit(handleOf(key), num));
  },
  /** Samples of N(loc, scale²) (defaults 0, 1; float32). */
  normal(shape: number | number[] = [], opts: RandOpts & { loc?: number; scale?: number } | Dtype = {}): MxArray {
    const o = typeof opts === "string" ? { dtype: opts } : opts;
    return wrap(native().randomNormal(shapeOf(shape), checkDtype(o.dtype ?? "float32"), o.loc ?? 0, o.scale ?? 1, o.key ? handleOf(o.key) : null));
  },
  /** Uniform samples in [low, high): uniform(shape, { low, high }) or uniform(low, high, shape). Default [0, 1). */
  uniform(a: number | number[] = [], b?: number | RandOpts & { low?: number; high?: number }, c?: number | number[], dtype?: Dtype): MxArray {
    let low = 0, high = 1, shape: number[], o: RandOpts = {};
    if (typeof a === "number" && typeof b === "number") {
      low = a; high = b; shape = shapeOf(c ?? []); o = { dtype };
    } else {
      shape = shapeOf(a);
      const opts = (typeof b === "object" ? b : {}) as RandOpts & { low?: number; high?: number };
      low = opts.low ?? 0; high = opts.high ?? 1; o = opts;
    }
    const dt = checkDtype(o.dtype ?? "float32");
    return wrap(native().randomUniform(handleOf(toArray(low, dt)), handleOf(toArray(high, dt)), shape, dt, o.key ? handleOf(o.key) : null));
  },
  /** Integers uniformly in [low, high) (default int32). */
  randint(low: number, high: number, shape: number | number[] = [], opts: RandOpts | Dtype = {}): MxArray {
    const o = typeof opts === "string" ? { dtype: opts } : opts;
    const dt = checkDtype(o.dtype ?? "int32");
    return wrap(native().randomRandint(handleOf(toArray(low, dt)), handleOf(toArray(high, dt)), shapeOf(shape), dt, o.key ? handleOf(o.key) : null));
  },
  /** Samples category indices from unnormalised log-probabilities along `axis` (default the last). */
  categorical(logits: ArrayInput, axis = -1, opts: { key?: MxArray } = {}): MxArray {
    return wrap(native().randomCategorical(h(logits), axis, opts.key ? handleOf(opts.key) : null));
  },
};

// ---- evaluation, memory, devices ----
type Tree = MxArray | readonly Tree[] | { readonly [k: string]: Tree } | null | undefined | number | string | boolean;
function collect(trees: readonly Tree[], out: NativeArray[] = []): NativeArray[] {
  for (const t of trees) {
    if (t instanceof MxArray) out.push(handleOf(t));
    else if (Array.isArray(t)) collect(t, out);
    else if (t !== null && typeof t === "object") collect(Object.values(t), out);
  }
  return out;
}
/** Computes the given arrays (and lists / objects of arrays) now, blocking this thread. */
export function evaluate(...arrays: Tree[]): void {
  native().eval(collect(arrays));
}
/** Starts computing the arrays and resolves when they are ready, without blocking the JS thread. */
export function asyncEval(...arrays: Tree[]): Promise<void> {
  return native().asyncEval(collect(arrays));
}
/** MLX's memory counters in bytes (active, peak, cache, limit, cacheLimit). */
export type MemoryInfo = NativeMemory;
/** MLX's memory counters (shared with loaded models: one MLX runtime per process). */
export const memory = (): MemoryInfo => runtimeControls.memory();
/** Starts a new peak measurement from the current active memory. */
export const resetPeakMemory = (): void => runtimeControls.resetPeakMemory();
/** Sets MLX's memory limit in bytes; returns the previous one. */
export const setMemoryLimit = (bytes: number): number => runtimeControls.setMemoryLimit(bytes);
/** Sets how many bytes the allocator may keep cached; returns the previous limit. */
export const setCacheLimit = (bytes: number): number => runtimeControls.setCacheLimit(bytes);
/** Returns the allocator's cached memory to the system. */
export const clearCache = (): void => runtimeControls.clearCache();
/** "cpu" or "gpu": where new operations run. */
export const defaultDevice = (): "cpu" | "gpu" => (runtimeControls.runtime().device === "gpu" ? "gpu" : "cpu");
/** Switches the default device; throws when this MLX build has no such device (the Linux CPU wheel has no gpu). */
export const setDefaultDevice = (device: "cpu" | "gpu"): void => runtimeControls.setDevice(device);
/** An MLX stream: a queue of work on one device. Operations run on the default stream of the default device. */
export interface MxStream {
  readonly index: number;
  readonly device: "cpu" | "gpu";
}
/** A new stream on `device` (default: the default device), for work that should not queue behind the default stream. */
export const newStream = (device?: "cpu" | "gpu"): MxStream => native().newStream(device ?? defaultDevice());
/** The default stream of `device` (default: the default device). */
export const defaultStream = (device?: "cpu" | "gpu"): MxStream => native().defaultStream(device ?? defaultDevice());
/** Makes `stream` the default for its device: later operations run there. */
export const setDefaultStream = (stream: MxStream): void => native().setDefaultStream(stream);
/** Runs `fn` with `stream` as the default stream, then restores the previous one (for synchronous code). */
export function withStream<T>(stream: MxStream, fn: () => T): T {
  const previous = defaultStream(stream.device);
  setDefaultStream(stream);
  try {
    return fn();
  } finally {
    setDefaultStream(previous);
  }
}
/** Blocks until all work queued on `stream` (default: every stream of the default device) has finished. */
export const synchronize = (stream?: MxStream): void => native().synchronize(stream ?? null);
/** Whether this MLX build has the device. */
export const isAvailable = (device: "cpu" | "gpu"): boolean => native().isAvailable(device);
/** Digits after the decimal point when arrays print as text (-1: MLX's default, 6 significant digits). */
export const setPrintOptions = (opts: { precision?: number }): void => native().setPrintPrecision(opts.precision ?? -1);
/** MLX's version, e.g. "0.32.4". */
export const version = (): string => native().version();
