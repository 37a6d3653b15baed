// Loads the mx addon (native/mx/build/Release/mlx_ts_mx.node) and types its surface. Loaded on first
// use so that importing kernel/mx never fails; a missing build becomes an MlxError that says how to build.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { useLastingKernelCache } from "../engine/kernel-cache.js";
import { repoRoot } from "../util/repo-root.js";
import { MlxError } from "./errors.js";

export type NativeTypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array
  | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A handle of one mx::array: an opaque object only the addon reads (through the functions below). */
export interface NativeArray {
  readonly __mxArrayHandle: unique symbol;
}

type A = NativeArray;
type Opt<T> = T | null;

export interface NativeMx {
  /** the class native errors are made with: new ctor(code, message) */
  setErrorClass(ctor: new (code: string, message: string) => Error): void;
  version(): string;
  shape(a: A): number[];
  dtype(a: A): string;
  nbytes(a: A): number;
  /** MLX's printer: the text Python's repr(mx.array) shows. Evaluates. */
  repr(a: A): string;
  /** Evaluates; typed array over the array's memory (float16/bfloat16: a Float32Array copy, or raw=true: Uint16Array bits). */
  toTypedArray(a: A, raw: boolean): NativeTypedArray;
  setPrintPrecision(precision: number): void;
  fromTypedArray(data: NativeTypedArray, shape: number[], dtype: string): A;
  fromRawBits(data: Uint16Array, shape: number[], dtype: string): A;
  scalar(value: number | boolean | bigint, dtype: string): A;
  zeros(shape: number[], dtype: string): A;
  ones(shape: number[], dtype: string): A;
  full(shape: number[], value: A, dtype: Opt<string>): A;
  arange(start: number, stop: number, step: number, dtype: string): A;
  linspace(start: number, stop: number, num: number, dtype: string): A;
  eye(n: number, m: number, k: number, dtype: string): A;
  randomSeed(seed: number): void;
  randomKey(seed: number): A;
  randomSplit(key: A, num: number): A;
  randomNormal(shape: number[], dtype: string, loc: number, scale: number, key: Opt<A>): A;
  randomUniform(low: A, high: A, shape: number[], dtype: string, key: Opt<A>): A;
  randomRandint(low: A, high: A, shape: number[], dtype: string, key: Opt<A>): A;
  randomCategorical(logits: A, axis: number, key: Opt<A>): A;
  unary(op: string, a: A): A;
  /** A JS number/boolean operand becomes a scalar of `scalarDtype`. */
  binary(op: string, a: A | number | boolean, b: A | number | boolean, scalarDtype?: string): A;
  reduce(op: string, a: A, axes: Opt<number[]>, keepdims: boolean): A;
  variance(a: A, axes: Opt<number[]>, keepdims: boolean, ddof: number): A;
  argReduce(op: "argmax" | "argmin", a: A, axis: Opt<number>, keepdims: boolean): A;
  cumulative(op: string, a: A, axis: number, reverse: boolean, inclusive: boolean): A;
  softmax(a: A, axes: Opt<number[]>, precise: boolean): A;
  astype(a: A, dtype: string): A;
  view(a: A, dtype: string): A;
  where(c: A, x: A, y: A): A;
  clip(a: A, min: Opt<A>, max: Opt<A>): A;
  reshape(a: A, shape: number[]): A;
  flatten(a: A, start: number, end: number): A;
  transpose(a: A, axes: Opt<number[]>): A;
  swapaxes(a: A, i: number, j: number): A;
  moveaxis(a: A, src: number, dst: number): A;
  expandDims(a: A, axes: number[]): A;
  squeeze(a: A, axes: Opt<number[]>): A;
  broadcastTo(a: A, shape: number[]): A;
  concatenate(arrays: A[], axis: Opt<number>): A;
  stack(arrays: A[], axis: number): A;
  split(a: A, sectionsOrIndices: number | number[], axis: number): A[];
  repeat(a: A, repeats: number, axis: Opt<number>): A;
  tile(a: A, reps: number[]): A;
  pad(a: A, widths: [number, number][], value: A): A;
  slice(a: A, start: number[], stop: number[], strides: number[]): A;
  take(a: A, indices: A, axis: Opt<number>): A;
  takeAlongAxis(a: A, indices: A, axis: number): A;
  sort(op: "sort" | "argsort", a: A, axis: Opt<number>): A;
  topk(a: A, k: number, axis: number): A;
  allclose(a: A, b: A, rtol: number, atol: number): A;
  quantize(w: A, groupSize: Opt<number>, bits: Opt<number>, mode: string): A[];
  dequantize(w: A, scales: A, biases: Opt<A>, groupSize: Opt<number>, bits: Opt<number>, mode: string, dtype: Opt<string>): A;
  quantizedMatmul(x: A, w: A, scales: A, biases: Opt<A>, transpose: boolean, groupSize: Opt<number>, bits: Opt<number>, mode: string): A;
  rmsNorm(x: A, weight: Opt<A>, eps: number): A;
  layerNorm(x: A, weight: Opt<A>, bias: Opt<A>, eps: number): A;
  rope(x: A, dims: number, traditional: boolean, base: Opt<number>, scale: number, offset: number | A, freqs: Opt<A>): A;
  scaledDotProductAttention(q: A, k: A, v: A, scale: number, maskMode: Opt<string>, mask: Opt<A>, sinks: Opt<A>): A;
  eval(arrays: A[]): void;
  asyncEval(arrays: A[]): Promise<void>;
  isAvailable(device: string): boolean;
  newStream(device: string): { index: number; device: "cpu" | "gpu" };
  defaultStream(device: string): { index: number; device: "cpu" | "gpu" };
  setDefaultStream(stream: { index: number; device: string }): void;
  synchronize(stream: { index: number; device: string } | null): void;
}

const ADDON_RELATIVE = join("native", "mx", "build", "Release", "mlx_ts_mx.node");

/** Where the addon is: $MLX_TS_MX_ADDON, else <checkout>/native/mx/build/Release (undefined when not built). */
export function addonPath(): string | undefined {
  const fromEnv = process.env.MLX_TS_MX_ADDON;
  if (fromEnv) return fromEnv;
  const built = join(repoRoot(), ADDON_RELATIVE);
  return existsSync(built) ? built : undefined;
}

let loaded: NativeMx | undefined;

export function native(): NativeMx {
  if (loaded) return loaded;
  const path = addonPath();
  if (!path) {
    throw new MlxError(
      "E_NATIVE_UNAVAILABLE",
      `The mx addon (${ADDON_RELATIVE}) is not built, so MLX arrays are unavailable. Build it with: ` +
        "node node_modules/cmake-js/bin/cmake-js compile --directory native/mx --out native/mx/build --parallel 2",
    );
  }
  const require = createRequire(import.meta.url);
  try {
    loaded = require(path) as NativeMx;
  } catch (e) {
    throw new MlxError("E_NATIVE_UNAVAILABLE", `The mx addon at ${path} could not be loaded: ${(e as Error).message}. Rebuild it (see README) against the MLX in .venv.`, { cause: e });
  }
  loaded.setErrorClass(MlxError as new (code: string, message: string) => Error);
  useLastingKernelCache(loaded.version());
  return loaded;
}
