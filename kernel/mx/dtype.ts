// Data types: names, sizes, the typed arrays that carry them, and how JS values choose one.
import { badArgument } from "./errors.js";
import type { NativeTypedArray } from "./native.js";

export type Dtype =
  | "bool"
  | "int8" | "int16" | "int32" | "int64"
  | "uint8" | "uint16" | "uint32" | "uint64"
  | "float16" | "bfloat16" | "float32" | "float64";

export const DTYPES: readonly Dtype[] = [
  "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16", "float32", "float64",
];

const ITEM_SIZE: Record<Dtype, number> = {
  bool: 1, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8,
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
};

export function itemSize(d: Dtype): number {
  return ITEM_SIZE[d];
}

export function isFloating(d: Dtype): boolean {
  return d === "float16" || d === "bfloat16" || d === "float32" || d === "float64";
}

export function isInteger(d: Dtype): boolean {
  return d !== "bool" && !isFloating(d);
}

export function checkDtype(d: unknown): Dtype {
  if (typeof d === "string" && (DTYPES as readonly string[]).includes(d)) return d as Dtype;
  throw badArgument(`unknown dtype ${JSON.stringify(d)}; use one of ${DTYPES.join(", ")} (or mx.float32, mx.int32, ...).`);
}

const TYPED_ARRAY_DTYPE: Record<string, Dtype> = {
  Float32Array: "float32", Float64Array: "float32", Int32Array: "int32", Int16Array: "int16", Int8Array: "int8",
  Uint8Array: "uint8", Uint8ClampedArray: "uint8", Uint16Array: "uint16", Uint32Array: "uint32", BigInt64Array: "int64", BigUint64Array: "uint64",
};

/** The typed array's class name, read in a way that works for typed arrays of another realm (a cell's vm context). */
export function typedArrayKind(t: unknown): string | undefined {
  if (!ArrayBuffer.isView(t)) return undefined;
  const tag = (t as unknown as { [Symbol.toStringTag]?: string })[Symbol.toStringTag];
  return tag !== undefined && tag in TYPED_ARRAY_DTYPE ? tag : undefined;
}

/** The dtype a typed array carries. Float64Array maps to float32 (MLX's default float); pass dtype "float64" to keep doubles. */
export function dtypeOfTypedArray(t: NativeTypedArray | Uint8ClampedArray): Dtype {
  return TYPED_ARRAY_DTYPE[typedArrayKind(t) ?? ""] ?? "float32";
}

/**
 * The dtype of a JS scalar used next to an array of dtype `other` (MLX's "weak" scalars, as in Python):
 * an integer takes the array's dtype, a fraction takes it only if the array is floating, else float32.
 */
export function scalarDtype(value: number | boolean | bigint, other?: Dtype): Dtype {
  if (typeof value === "boolean") return other ?? "bool";
  if (typeof value === "bigint") return other && isInteger(other) ? other : "int64";
  if (Number.isInteger(value)) return other && other !== "bool" ? other : "int32";
  return other && isFloating(other) ? other : "float32";
}
