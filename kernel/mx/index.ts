// The `mx` namespace cells and the REPL see: a persistent MLX array session. Arrays live until
// JavaScript drops them; models loaded by the engine share the same MLX runtime (memory, device).
//
//   const a = mx.random.normal([512, 512]);
//   const b = mx.matmul(a, a.T).sum(1);       // lazy: nothing computed yet
//   await mx.asyncEval(b);                    // computed off the JS thread
//   b.index("0:4")                            // NumPy-style indexing; displays as text and an HTML table
import { MxArray } from "./array.js";
import type { Dtype } from "./dtype.js";
import { MlxError } from "./errors.js";
import * as ops from "./ops.js";

export { MxArray };
export type { ArrayInput, Axes, MxTypedArray, NestedList, Operand } from "./array.js";
export type { Dtype } from "./dtype.js";
export { DTYPES } from "./dtype.js";
export { MlxError };
export type { MlxErrorCode } from "./errors.js";
export type { IndexItem, SliceSpec } from "./indexing.js";
export type { MemoryInfo, MxStream, QuantizeOptions, Quantized } from "./ops.js";

const dtypes = {
  bool: "bool",
  int8: "int8", int16: "int16", int32: "int32", int64: "int64",
  uint8: "uint8", uint16: "uint16", uint32: "uint32", uint64: "uint64",
  float16: "float16", bfloat16: "bfloat16", float32: "float32", float64: "float64",
} as const satisfies Record<string, Dtype>;

/**
 * MLX arrays for TypeScript. Create with mx.array / zeros / ones / full / arange / linspace / eye /
 * random.*; combine with the math, shape and reduction functions (also methods on MxArray: a.add(1),
 * a.sum(0), a.index("0:2, ::2")); compute with mx.eval or await mx.asyncEval; read with .item(),
 * .tolist(), .toTypedArray(). Dtypes: mx.float32, mx.bfloat16, ... or their names as strings.
 */
export const mx = {
  ...dtypes,
  ...ops,
  /** Computes the given arrays (and lists / objects of arrays) now, blocking this thread. */
  eval: ops.evaluate,
  /** The array class, for `x instanceof mx.MxArray`. */
  MxArray,
  /** The error every mx function throws (name "MlxError", `.code` E_MLX / E_BAD_ARGUMENT / ...). */
  MlxError,
};

export type Mx = typeof mx;
export default mx;
