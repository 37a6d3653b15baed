// NumPy-style indexing turned into a plan of slice, take, squeeze and expandDims steps.
// Accepted items: an integer (drops the axis), a slice as text ("1:3", "::2", ":", "-1::-1") or as
// { start, stop, step }, "..." (the axes not named), "newaxis"/"None" (a new axis of size 1), and an
// index array (applied along its own axis: outer indexing, not NumPy's broadcast of several arrays).
import { badArgument } from "./errors.js";

export interface SliceSpec {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** An index item; `A` is the array type (kept generic so this module does not depend on MxArray). */
export type IndexItem<A> = number | string | SliceSpec | A;

export interface IndexPlan<A> {
  start: number[];
  stop: number[];
  strides: number[];
  /** index arrays to take, by source axis (applied after the slice; axes unchanged by then) */
  takes: { axis: number; indices: A }[];
  /** source axes indexed by an integer, dropped after slicing */
  squeeze: number[];
  /** positions in the final result where "newaxis" adds a dimension */
  expand: number[];
}

type Parsed<A> = { kind: "int"; value: number } | { kind: "slice"; spec: SliceSpec } | { kind: "ellipsis" } | { kind: "newaxis" } | { kind: "array"; value: A };

function parseInt10(text: string, whole: string): number | null {
  const t = text.trim();
  if (t === "") return null;
  if (!/^[+-]?\d+$/.test(t)) throw badArgument(`cannot read "${t}" in the index "${whole}": use integers, slices like 1:3 or ::2, "...", or "newaxis".`);
  return Number(t);
}

function parseText<A>(text: string): Parsed<A> {
  const t = text.trim();
  if (t === "...") return { kind: "ellipsis" };
  if (t === "None" || t === "newaxis" || t === "null") return { kind: "newaxis" };
  if (!t.includes(":")) {
    const v = parseInt10(t, text);
    if (v === null) throw badArgument("an empty index item; write ':' for a whole axis.");
    return { kind: "int", value: v };
  }
  const parts = t.split(":");
  if (parts.length > 3) throw badArgument(`"${t}" has more than two colons; a slice is start:stop:step.`);
  return { kind: "slice", spec: { start: parseInt10(parts[0]!, text), stop: parseInt10(parts[1] ?? "", text), step: parseInt10(parts[2] ?? "", text) } };
}

/** Splits "0:2, ::2" into items; non-string items pass through. */
export function parseIndex<A>(items: readonly IndexItem<A>[], isArray: (v: unknown) => v is A): Parsed<A>[] {
  const out: Parsed<A>[] = [];
  for (const item of items) {
    if (typeof item === "number") {
      if (!Number.isInteger(item)) throw badArgument(`index ${item} is not an integer.`);
      out.push({ kind: "int", value: item });
    } else if (typeof item === "string") {
      for (const piece of item.split(",")) if (piece.trim() !== "" || item.trim() === "") out.push(parseText<A>(piece));
    } else if (isArray(item)) {
      out.push({ kind: "array", value: item });
    } else if (item !== null && typeof item === "object") {
      out.push({ kind: "slice", spec: item as SliceSpec });
    } else {
      throw badArgument(`cannot index with ${String(item)}: use integers, slice text ("1:3"), {start, stop, step}, "...", "newaxis" or an index array.`);
    }
  }
  return out;
}

/** Python's slice.indices(n): concrete start, stop, step; stop may be -1 for a reversed slice to the front. */
export function sliceBounds(spec: SliceSpec, n: number): [number, number, number] {
  const step = spec.step ?? 1;
  if (step === 0) throw badArgument("slice step cannot be zero.");
  const norm = (v: number, lo: number, hi: number): number => {
    const x = v < 0 ? v + n : v;
    return Math.min(Math.max(x, lo), hi);
  };
  if (step > 0) {
    const start = spec.start == null ? 0 : norm(spec.start, 0, n);
    const stop = spec.stop == null ? n : norm(spec.stop, 0, n);
    return [start, Math.max(stop, start), step];
  }
  const start = spec.start == null ? n - 1 : norm(spec.start, -1, n - 1);
  const stop = spec.stop == null ? -1 : norm(spec.stop, -1, n - 1);
  return [start, Math.min(stop, start), step];
}

export function planIndex<A>(shape: readonly number[], items: Parsed<A>[]): IndexPlan<A> {
  const ellipses = items.filter((i) => i.kind === "ellipsis").length;
  if (ellipses > 1) throw badArgument("an index can hold only one '...'.");
  const consuming = items.filter((i) => i.kind === "int" || i.kind === "slice" || i.kind === "array").length;
  if (consuming > shape.length) throw badArgument(`too many indices: the array has ${shape.length} axes but ${consuming} were indexed.`);
  const expanded: Parsed<A>[] = [];
  for (const it of items) {
    if (it.kind === "ellipsis") for (let k = 0; k < shape.length - consuming; k++) expanded.push({ kind: "slice", spec: {} });
    else expanded.push(it);
  }
  const plan: IndexPlan<A> = { start: [], stop: [], strides: [], takes: [], squeeze: [], expand: [] };
  let axis = 0;
  let outPos = 0;
  const full = (ax: number): void => {
    plan.start.push(0); plan.stop.push(shape[ax]!); plan.strides.push(1);
  };
  for (const it of expanded) {
    if (it.kind === "newaxis") {
      plan.expand.push(outPos++);
      continue;
    }
    const n = shape[axis]!;
    if (it.kind === "int") {
      const i = it.value < 0 ? it.value + n : it.value;
      if (i < 0 || i >= n) throw badArgument(`index ${it.value} is out of bounds for axis ${axis} with size ${n}.`);
      plan.start.push(i); plan.stop.push(i + 1); plan.strides.push(1);
      plan.squeeze.push(axis);
    } else if (it.kind === "slice") {
      const [s, e, st] = sliceBounds(it.spec, n);
      // MLX reads a negative stop as counting from the end, so "before index 0" is -n-1, not -1.
      plan.start.push(s); plan.stop.push(st < 0 && e < 0 ? -n - 1 : e); plan.strides.push(st);
      outPos++;
    } else if (it.kind === "array") {
      full(axis);
      plan.takes.push({ axis, indices: it.value });
      outPos++;
    }
    axis++;
  }
  for (; axis < shape.length; axis++) full(axis);
  return plan;
}
