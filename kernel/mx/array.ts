// MxArray: one MLX array held by JavaScript. Operations build MLX's lazy graph; data is computed when
// read (item, tolist, toTypedArray, printing) or by mx.eval / mx.asyncEval. Memory is freed when
// JavaScript drops the array (the addon reports each array's bytes to V8 so GC keeps pace).
import { inspect } from "node:util";
import { checkDtype, type Dtype, dtypeOfTypedArray, scalarDtype, typedArrayKind } from "./dtype.js";
import { badArgument } from "./errors.js";
import { alignRepr, keptIndices, summaryTable, tableHtml } from "./format.js";
import { type IndexItem, parseIndex, planIndex, sliceBounds } from "./indexing.js";
import { type NativeArray, type NativeTypedArray, native } from "./native.js";

/** Nested JS lists of numbers/booleans, as accepted by mx.array and returned by tolist(). */
export type NestedList = number | boolean | NestedList[];
/** Anything mx.array accepts: an MxArray, a number, boolean or bigint, nested lists, or a typed array. */
export type ArrayInput = MxArray | number | boolean | bigint | NestedInput[] | NativeTypedArray | Uint8ClampedArray;
type NestedInput = number | boolean | MxArray | NestedInput[];
/** An operand of an elementwise op: an array, or a scalar that takes the other operand's dtype where it can. */
export type Operand = ArrayInput;
/** Axes to reduce over: one axis, several, or all (undefined / null). */
export type Axes = number | number[] | null | undefined;
/** Values of toTypedArray(): int64 -> BigInt64Array, bool -> Uint8Array, float16/bfloat16 -> Float32Array (or raw Uint16Array). */
export type MxTypedArray = NativeTypedArray;

const NATIVE = Symbol("mx.native");
const DISPLAY = Symbol.for("Jupyter.display");

export class MxArray {
  /** @internal */
  readonly [NATIVE]: NativeArray;
  #shape: number[] | undefined;
  #dtype: Dtype | undefined;

  /** @internal Use mx.array(...) and the other mx functions to make arrays. */
  constructor(handle: NativeArray) {
    this[NATIVE] = handle;
  }

  /** Dimensions, e.g. [2, 3]. A scalar array has shape []. */
  get shape(): number[] {
    this.#shape ??= native().shape(this[NATIVE]);
    return [...this.#shape];
  }
  /** Element type, e.g. "float32". */
  get dtype(): Dtype {
    this.#dtype ??= native().dtype(this[NATIVE]) as Dtype;
    return this.#dtype;
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((n, d) => n * d, 1);
  }
  /** Bytes the array's data occupies. */
  get nbytes(): number {
    return native().nbytes(this[NATIVE]);
  }
  /** Bytes per element. */
  get itemsize(): number {
    return this.size === 0 ? 0 : this.nbytes / this.size;
  }
  /** The transpose (axes reversed). */
  get T(): MxArray {
    return this.transpose();
  }

  /** Computes the array now (blocking) and returns it. */
  eval(): this {
    native().eval([this[NATIVE]]);
    return this;
  }

  /** The single value of a one-element array (int64 as a number, exact up to 2^53). */
  item(): number | boolean {
    if (this.size !== 1) throw badArgument(`item() needs an array with one element, this one has shape (${this.shape.join(", ")}). Index or reduce it first.`);
    return this.tolistFlat()[0]!;
  }

  /** The values as nested JS lists (numbers, or booleans for bool arrays). */
  tolist(): NestedList {
    const flat = this.tolistFlat();
    const shape = this.shape;
    if (shape.length === 0) return flat[0]!;
    let pos = 0;
    const build = (axis: number): NestedList[] => {
      const out: NestedList[] = [];
      for (let i = 0; i < shape[axis]!; i++) out.push(axis === shape.length - 1 ? flat[pos++]! : build(axis + 1));
      return out;
    };
    return build(0);
  }

  /**
   * The data as a typed array, row-major. Without a copy where MLX allows: the typed array views the
   * evaluated array's own memory and keeps it alive (treat it as read-only: MLX may share the buffer).
   * float16 and bfloat16 arrays come back as a Float32Array copy, or with { raw: true } as a
   * Uint16Array of the stored bits (no copy). bool -> Uint8Array, int64 -> BigInt64Array.
   */
  toTypedArray(opts: { raw?: boolean } = {}): MxTypedArray {
    return native().toTypedArray(this[NATIVE], opts.raw === true);
  }

  private tolistFlat(): (number | boolean)[] {
    const data = this.toTypedArray();
    const out: (number | boolean)[] = new Array(data.length);
    const isBool = this.dtype === "bool";
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      out[i] = isBool ? v !== 0 : typeof v === "bigint" ? Number(v) : v;
    }
    return out;
  }

  /** MLX's text form in numpy's columns, e.g. `array([[ 1,  2],\n       [30, 40]], dtype=int32)`; large arrays are summarised with "...". */
  toString(): string {
    return alignRepr(native().repr(this[NATIVE]));
  }

  /** An HTML table (first and last rows/columns of large arrays) with shape and dtype. */
  toHtml(): string {
    const shape = this.shape;
    const kept = shape.map(keptIndices);
    let small: MxArray = this;
    kept.forEach((k, axis) => {
      if (k.includes(-1)) {
        const idx = k.filter((i) => i >= 0);
        small = wrap(native().take(small[NATIVE], fromNumbers(idx, [idx.length], "int32"), axis));
      }
    });
    const data = small.toTypedArray();
    return tableHtml(summaryTable(data, kept, this.dtype), shape, this.dtype);
  }

  /** What util.inspect, console.log and the REPL show: the same text as toString(). */
  [inspect.custom](): string {
    return this.toString();
  }

  /** Jupyter's display protocol: text like Python's repr and an HTML table. */
  [DISPLAY](): { "text/plain": string; "text/html": string } {
    return { "text/plain": this.toString(), "text/html": this.toHtml() };
  }

  // ---- conversion and shape ----
  /** A copy with another dtype, e.g. a.astype("bfloat16"). */
  astype(dtype: Dtype): MxArray {
    return wrap(native().astype(this[NATIVE], checkDtype(dtype)));
  }
  /** Same data, new shape (one dimension may be -1): a.reshape(2, 3) or a.reshape([2, 3]). */
  reshape(...shape: (number | number[])[]): MxArray {
    return wrap(native().reshape(this[NATIVE], shape.flat()));
  }
  /** Permutes axes; no arguments reverses them. */
  transpose(...axes: (number | number[])[]): MxArray {
    const flat = axes.flat();
    return wrap(native().transpose(this[NATIVE], flat.length ? flat : null));
  }
  /** Flattens axes startAxis..endAxis (default all) into one. */
  flatten(startAxis = 0, endAxis = -1): MxArray {
    return wrap(native().flatten(this[NATIVE], startAxis, endAxis));
  }
  /** Removes axes of size 1 (all of them when none are named). */
  squeeze(axes?: number | number[]): MxArray {
    return wrap(native().squeeze(this[NATIVE], axes === undefined ? null : [axes].flat()));
  }
  /** Inserts axes of size 1 at these positions. */
  expandDims(axes: number | number[]): MxArray {
    return wrap(native().expandDims(this[NATIVE], [axes].flat()));
  }
  /** Exchanges two axes. */
  swapaxes(axis1: number, axis2: number): MxArray {
    return wrap(native().swapaxes(this[NATIVE], axis1, axis2));
  }
  /** Moves one axis to a new position. */
  moveaxis(source: number, destination: number): MxArray {
    return wrap(native().moveaxis(this[NATIVE], source, destination));
  }
  /** Broadcasts to `shape` without copying. */
  broadcastTo(shape: number[]): MxArray {
    return wrap(native().broadcastTo(this[NATIVE], shape));
  }

  // ---- indexing ----
  /**
   * NumPy-style indexing. Either one string, `a.index("0:2, ::2")`, `a.index("..., -1")`, or items:
   * integers (drop the axis; negative counts from the end), slice text ("1:3", ":", "::-1"),
   * { start, stop, step }, "...", "newaxis", or an index MxArray (taken along that axis).
   */
  index(...items: IndexItem<MxArray>[]): MxArray {
    const plan = planIndex(this.shape, parseIndex(items, (v): v is MxArray => v instanceof MxArray));
    let out = native().slice(this[NATIVE], plan.start, plan.stop, plan.strides);
    for (const t of plan.takes) out = native().take(out, t.indices[NATIVE], t.axis);
    if (plan.squeeze.length) out = native().squeeze(out, plan.squeeze);
    if (plan.expand.length) out = native().expandDims(out, plan.expand);
    return wrap(out);
  }
  /**
   * Keeps the dimensions: one [start, stop, step?] range (or null for the whole axis) per leading axis.
   * `a.slice([[0, 2], [1, 3]])` is a[0:2, 1:3]. Negative bounds count from the end.
   */
  slice(ranges: ([number | null, number | null, number?] | [number | null] | null)[]): MxArray {
    const shape = this.shape;
    if (ranges.length > shape.length) throw badArgument(`slice got ${ranges.length} ranges for an array with ${shape.length} axes.`);
    const start: number[] = [], stop: number[] = [], strides: number[] = [];
    shape.forEach((n, axis) => {
      const r = ranges[axis];
      const [s, e, st] = sliceBounds(r ? { start: r[0], stop: r[1], step: r[2] } : {}, n);
      start.push(s); stop.push(st < 0 && e < 0 ? -n - 1 : e); strides.push(st);
    });
    return wrap(native().slice(this[NATIVE], start, stop, strides));
  }
  /** Elements at `indices` along `axis` (or of the flattened array when axis is omitted). */
  take(indices: ArrayInput, axis?: number): MxArray {
    return wrap(native().take(this[NATIVE], toArray(indices)[NATIVE], axis ?? null));
  }

  // ---- arithmetic (scalars take this array's dtype where they can, as in Python) ----
  /** this + b, elementwise with broadcasting. */
  add(b: Operand): MxArray { return binaryOp("add", this, b); }
  /** this - b, elementwise. */
  subtract(b: Operand): MxArray { return binaryOp("subtract", this, b); }
  /** this * b, elementwise. */
  multiply(b: Operand): MxArray { return binaryOp("multiply", this, b); }
  /** this / b (true division). */
  divide(b: Operand): MxArray { return binaryOp("divide", this, b); }
  /** floor(this / b). */
  floorDivide(b: Operand): MxArray { return binaryOp("floorDivide", this, b); }
  /** this mod b (Python's %). */
  remainder(b: Operand): MxArray { return binaryOp("remainder", this, b); }
  /** this ** b. */
  power(b: Operand): MxArray { return binaryOp("power", this, b); }
  /** The larger of this and b, elementwise. */
  maximum(b: Operand): MxArray { return binaryOp("maximum", this, b); }
  /** The smaller of this and b, elementwise. */
  minimum(b: Operand): MxArray { return binaryOp("minimum", this, b); }
  /** Matrix product this @ b. */
  matmul(b: Operand): MxArray { return binaryOp("matmul", this, b); }
  /** this == b (bool array). */
  equal(b: Operand): MxArray { return binaryOp("equal", this, b); }
  /** this != b (bool array). */
  notEqual(b: Operand): MxArray { return binaryOp("notEqual", this, b); }
  /** this < b (bool array). */
  less(b: Operand): MxArray { return binaryOp("less", this, b); }
  /** this <= b (bool array). */
  lessEqual(b: Operand): MxArray { return binaryOp("lessEqual", this, b); }
  /** this > b (bool array). */
  greater(b: Operand): MxArray { return binaryOp("greater", this, b); }
  /** this >= b (bool array). */
  greaterEqual(b: Operand): MxArray { return binaryOp("greaterEqual", this, b); }
  /** this && b for bool arrays. */
  logicalAnd(b: Operand): MxArray { return binaryOp("logicalAnd", this, b); }
  /** this || b for bool arrays. */
  logicalOr(b: Operand): MxArray { return binaryOp("logicalOr", this, b); }

  /** -this */
  negative(): MxArray { return unaryOp("negative", this); }
  /** |this| */
  abs(): MxArray { return unaryOp("abs", this); }
  /** e ** this */
  exp(): MxArray { return unaryOp("exp", this); }
  /** Natural logarithm. */
  log(): MxArray { return unaryOp("log", this); }
  /** Square root. */
  sqrt(): MxArray { return unaryOp("sqrt", this); }
  /** 1 / sqrt(this). */
  rsqrt(): MxArray { return unaryOp("rsqrt", this); }
  /** this * this */
  square(): MxArray { return unaryOp("square", this); }
  /** 1 / this */
  reciprocal(): MxArray { return unaryOp("reciprocal", this); }
  /** Sine. */
  sin(): MxArray { return unaryOp("sin", this); }
  /** Cosine. */
  cos(): MxArray { return unaryOp("cos", this); }
  /** Hyperbolic tangent. */
  tanh(): MxArray { return unaryOp("tanh", this); }
  /** 1 / (1 + exp(-this)). */
  sigmoid(): MxArray { return unaryOp("sigmoid", this); }
  /** Rounds down. */
  floor(): MxArray { return unaryOp("floor", this); }
  /** Rounds up. */
  ceil(): MxArray { return unaryOp("ceil", this); }
  /** Rounds to nearest (halves to even). */
  round(): MxArray { return unaryOp("round", this); }
  /** !this for bool arrays. */
  logicalNot(): MxArray { return unaryOp("logicalNot", this); }

  // ---- reductions ----
  /** Sum over `axis` (all axes when omitted); keepdims keeps reduced axes with size 1. */
  sum(axis?: Axes, keepdims = false): MxArray { return reduceOp("sum", this, axis, keepdims); }
  /** Mean over `axis` (all when omitted). */
  mean(axis?: Axes, keepdims = false): MxArray { return reduceOp("mean", this, axis, keepdims); }
  /** Maximum over `axis` (all when omitted). */
  max(axis?: Axes, keepdims = false): MxArray { return reduceOp("max", this, axis, keepdims); }
  /** Minimum over `axis` (all when omitted). */
  min(axis?: Axes, keepdims = false): MxArray { return reduceOp("min", this, axis, keepdims); }
  /** Product over `axis` (all when omitted). */
  prod(axis?: Axes, keepdims = false): MxArray { return reduceOp("prod", this, axis, keepdims); }
  /** Whether all elements over `axis` are true. */
  all(axis?: Axes, keepdims = false): MxArray { return reduceOp("all", this, axis, keepdims); }
  /** Whether any element over `axis` is true. */
  any(axis?: Axes, keepdims = false): MxArray { return reduceOp("any", this, axis, keepdims); }
  /** log(sum(exp(this))) over `axis`, computed stably. */
  logsumexp(axis?: Axes, keepdims = false): MxArray { return reduceOp("logsumexp", this, axis, keepdims); }
  /** Index of the largest element along `axis` (of the flattened array when omitted). */
  argmax(axis?: number, keepdims = false): MxArray { return wrap(native().argReduce("argmax", this[NATIVE], axis ?? null, keepdims)); }
  /** Index of the smallest element along `axis` (flattened when omitted). */
  argmin(axis?: number, keepdims = false): MxArray { return wrap(native().argReduce("argmin", this[NATIVE], axis ?? null, keepdims)); }
  /** Softmax over `axis` (default: the last). */
  softmax(axis: Axes = -1): MxArray { return wrap(native().softmax(this[NATIVE], axesOf(axis), false)); }
}

/** @internal */
export function wrap(handle: NativeArray): MxArray {
  return new MxArray(handle);
}

/** @internal The native handle of an array. */
export function handleOf(a: MxArray): NativeArray {
  return a[NATIVE];
}

export function axesOf(axis: Axes): number[] | null {
  return axis === undefined || axis === null ? null : [axis].flat();
}

function fromNumbers(values: number[], shape: number[], dtype: Dtype): NativeArray {
  const data = dtype === "int32" ? Int32Array.from(values) : dtype === "bool" ? Uint8Array.from(values) : Float64Array.from(values);
  return native().fromTypedArray(data, shape, dtype);
}

function isTypedArray(x: unknown): x is NativeTypedArray | Uint8ClampedArray {
  return typedArrayKind(x) !== undefined;
}

function containsArray(x: unknown): boolean {
  let cur = x;
  while (Array.isArray(cur) && cur.length > 0) cur = cur[0];
  return cur instanceof MxArray;
}

function nestedShape(x: NestedInput[]): number[] {
  const shape: number[] = [];
  let cur: unknown = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flattenNested(x: unknown, shape: number[], depth: number, out: (number | boolean)[]): void {
  if (depth < shape.length) {
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw badArgument(`nested lists are ragged: expected ${shape[depth]} elements at depth ${depth}, found ${Array.isArray(x) ? x.length : "a scalar"}. Every row must have the same length.`);
    }
    for (const el of x) flattenNested(el, shape, depth + 1, out);
    return;
  }
  if (typeof x !== "number" && typeof x !== "boolean") {
    throw badArgument(`cannot make an array element from ${Array.isArray(x) ? "a list (ragged nesting)" : typeof x}; use numbers or booleans.`);
  }
  out.push(x);
}

/** Converts any ArrayInput into an MxArray (with `dtype` when given). */
export function toArray(x: ArrayInput, dtype?: Dtype, shape?: number[]): MxArray {
  const want = dtype === undefined ? undefined : checkDtype(dtype);
  if (x instanceof MxArray) {
    const r = want && want !== x.dtype ? x.astype(want) : x;
    return shape ? r.reshape(shape) : r;
  }
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") {
    const s = wrap(native().scalar(x, want ?? scalarDtype(x)));
    return shape ? s.reshape(shape) : s;
  }
  if (isTypedArray(x)) {
    const target = want ?? dtypeOfTypedArray(x);
    const data = typedArrayKind(x) === "Uint8ClampedArray" ? new Uint8Array(x.buffer, x.byteOffset, x.length) : (x as NativeTypedArray);
    return wrap(native().fromTypedArray(data, shape ?? [x.length], target));
  }
  if (Array.isArray(x)) {
    if (containsArray(x)) {
      const stacked = wrap(native().stack(x.map((el) => toArray(el as ArrayInput, want)[NATIVE]), 0));
      return shape ? stacked.reshape(shape) : stacked;
    }
    const dims = nestedShape(x);
    const flat: (number | boolean)[] = [];
    flattenNested(x, dims, 0, flat);
    const allBool = flat.length > 0 && flat.every((v) => typeof v === "boolean");
    const allInt = flat.every((v) => typeof v === "boolean" || Number.isInteger(v));
    const inferred: Dtype = allBool ? "bool" : allInt && flat.length > 0 ? (flat.every((v) => Math.abs(Number(v)) <= 2147483647) ? "int32" : "int64") : "float32";
    const target = want ?? inferred;
    const data = Float64Array.from(flat, (v) => Number(v));
    return wrap(native().fromTypedArray(data, shape ?? dims, target));
  }
  throw badArgument(`cannot make an array from ${x === null ? "null" : typeof x}; pass numbers, booleans, nested lists, a typed array or an MxArray.`);
}

/** Two operands as arrays; a JS scalar takes the other operand's dtype where it can (MLX's weak scalars). */
export function operands(a: Operand, b: Operand): [MxArray, MxArray] {
  const isScalar = (v: Operand): v is number | boolean | bigint => typeof v === "number" || typeof v === "boolean" || typeof v === "bigint";
  if (isScalar(a) && b instanceof MxArray) return [toArray(a, scalarDtype(a, b.dtype)), b];
  if (isScalar(b) && a instanceof MxArray) return [a, toArray(b, scalarDtype(b, a.dtype))];
  if (isScalar(a) && isScalar(b)) return [toArray(a), toArray(b)];
  const A = toArray(a);
  const B = isScalar(b) ? toArray(b, scalarDtype(b, A.dtype)) : toArray(b);
  return [isScalar(a) ? toArray(a, scalarDtype(a, B.dtype)) : A, B];
}

export function binaryOp(op: string, a: Operand, b: Operand): MxArray {
  // Fast path for array-with-scalar: the addon makes the scalar, with the dtype chosen here.
  if (a instanceof MxArray && (typeof b === "number" || typeof b === "boolean")) return wrap(native().binary(op, a[NATIVE], b, scalarDtype(b, a.dtype)));
  if (b instanceof MxArray && (typeof a === "number" || typeof a === "boolean")) return wrap(native().binary(op, a, b[NATIVE], scalarDtype(a, b.dtype)));
  const [x, y] = operands(a, b);
  return wrap(native().binary(op, x[NATIVE], y[NATIVE]));
}

export function unaryOp(op: string, a: ArrayInput): MxArray {
  return wrap(native().unary(op, toArray(a)[NATIVE]));
}

export function reduceOp(op: string, a: ArrayInput, axis: Axes, keepdims: boolean): MxArray {
  return wrap(native().reduce(op, toArray(a)[NATIVE], axesOf(axis), keepdims));
}

