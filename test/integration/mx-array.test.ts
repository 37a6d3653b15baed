// The mx namespace against the real MLX runtime: creation, math, shapes, indexing, display, errors,
// evaluation and memory. Values are checked against results worked out by hand.
import { inspect } from "node:util";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { mx, MlxError, MxArray } from "../../kernel/mx/index.js";

describe("mx creation and dtypes", () => {
  it("infers int32, float32 and bool from JS values and honours an explicit dtype", () => {
    expect(mx.array([[1, 2], [3, 4]]).dtype).toBe("int32");
    expect(mx.array([1.5, 2]).dtype).toBe("float32");
    expect(mx.array([true, false]).dtype).toBe("bool");
    expect(mx.array(3).shape).toEqual([]);
    const b = mx.array([1, 2, 3], mx.bfloat16);
    expect(b.dtype).toBe("bfloat16");
    expect(b.tolist()).toEqual([1, 2, 3]);
    for (const d of ["int8", "int16", "int64", "uint8", "uint16", "uint32", "float16"] as const) {
      expect(mx.array([1, 2], d).dtype).toBe(d);
      expect(mx.array([1, 2], d).tolist()).toEqual([1, 2]);
    }
  });

  it("takes typed arrays with their dtype and a shape option", () => {
    const a = mx.array(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe("float32");
    expect(mx.array(new Int32Array([7])).dtype).toBe("int32");
    expect(mx.array(new BigInt64Array([5n, -2n])).tolist()).toEqual([5, -2]);
  });

  it("accepts lists and typed arrays made in a cell's vm context (another realm)", () => {
    const a = runInNewContext("mx.array(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] })", { mx }) as MxArray;
    expect(a.dtype).toBe("float32");
    expect(a.tolist()).toEqual([[1, 2], [3, 4]]);
    expect((runInNewContext("mx.array(new Int16Array([5]))", { mx }) as MxArray).dtype).toBe("int16");
    expect((runInNewContext("mx.array([[1, 2]]).index({ start: 1 }, '::-1')", { mx }) as MxArray).shape).toEqual([0, 2]);
    expect((runInNewContext("mx.array([[1, 2]]).index(0, '::-1')", { mx }) as MxArray).tolist()).toEqual([2, 1]);
  });

  it("makes zeros, ones, full, arange, linspace and eye", () => {
    expect(mx.zeros([2, 2]).tolist()).toEqual([[0, 0], [0, 0]]);
    expect(mx.ones(3, "int32").tolist()).toEqual([1, 1, 1]);
    expect(mx.full([2], 7).tolist()).toEqual([7, 7]);
    expect(mx.arange(5).tolist()).toEqual([0, 1, 2, 3, 4]);
    expect(mx.arange(1, 2, 0.25).tolist()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(mx.linspace(0, 1, 5).tolist()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(mx.eye(2).tolist()).toEqual([[1, 0], [0, 1]]);
  });

  it("repeats random numbers after seeding and respects bounds", () => {
    mx.random.seed(42);
    const a = mx.random.normal([3, 3]).tolist();
    mx.random.seed(42);
    expect(mx.random.normal([3, 3]).tolist()).toEqual(a);
    const u = mx.random.uniform(2, 3, [1000]);
    expect(u.min().item()).toBeGreaterThanOrEqual(2);
    expect(u.max().item()).toBeLessThan(3);
    const r = mx.random.randint(0, 5, [1000]);
    expect(r.dtype).toBe("int32");
    expect(r.max().item()).toBeLessThanOrEqual(4);
    const k = mx.random.key(1);
    expect(mx.random.normal([4], { key: k }).tolist()).toEqual(mx.random.normal([4], { key: k }).tolist());
  });
});

describe("mx operations", () => {
  const a = mx.array([[1, 2], [3, 4]], "float32");

  it("does arithmetic with arrays and scalars, keeping the array's dtype for scalars", () => {
    expect(a.add(1).tolist()).toEqual([[2, 3], [4, 5]]);
    expect(mx.subtract(10, a).tolist()).toEqual([[9, 8], [7, 6]]);
    expect(a.multiply(a).tolist()).toEqual([[1, 4], [9, 16]]);
    expect(a.divide(2).tolist()).toEqual([[0.5, 1], [1.5, 2]]);
    expect(a.power(2).tolist()).toEqual([[1, 4], [9, 16]]);
    expect(mx.array([1, 2], "bfloat16").add(0.5).dtype).toBe("bfloat16");
    expect(mx.array([1, 2]).add(0.5).dtype).toBe("float32");
    expect(mx.maximum(a, 2.5).tolist()).toEqual([[2.5, 2.5], [3, 4]]);
    expect(mx.negative(a).abs().tolist()).toEqual([[1, 2], [3, 4]]);
    expect(mx.exp(0).item()).toBe(1);
    expect(mx.sqrt(mx.array([4, 9], "float32")).tolist()).toEqual([2, 3]);
    expect(mx.sigmoid(mx.array(0, "float32")).item()).toBe(0.5);
  });

  it("compares and selects with where", () => {
    expect(a.greater(2).tolist()).toEqual([[false, false], [true, true]]);
    expect(mx.equal(a, a).all().item()).toBe(true);
    expect(mx.where(a.less(3), a, 0).tolist()).toEqual([[1, 2], [0, 0]]);
  });

  it("multiplies matrices and reduces over axes with keepdims", () => {
    expect(mx.matmul(a, a).tolist()).toEqual([[7, 10], [15, 22]]);
    expect(a.sum().item()).toBe(10);
    expect(a.sum(0).tolist()).toEqual([4, 6]);
    expect(a.sum(1, true).shape).toEqual([2, 1]);
    expect(mx.mean(a, [0, 1]).item()).toBe(2.5);
    expect(a.max(1).tolist()).toEqual([2, 4]);
    expect(a.min(0).tolist()).toEqual([1, 2]);
    expect(a.argmax(1).tolist()).toEqual([1, 1]);
    expect(mx.argmin(a).item()).toBe(0);
    const sm = mx.softmax(mx.array([0, 0], "float32")).tolist() as number[];
    expect(sm).toEqual([0.5, 0.5]);
    expect(mx.logsumexp(mx.array([0, 0], "float32")).item()).toBeCloseTo(Math.log(2), 6);
  });

  it("reshapes, transposes, concatenates, stacks and splits", () => {
    const x = mx.arange(6).reshape(2, 3);
    expect(x.T.shape).toEqual([3, 2]);
    expect(x.transpose(1, 0).tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(x.expandDims(0).shape).toEqual([1, 2, 3]);
    expect(x.expandDims(0).squeeze().shape).toEqual([2, 3]);
    expect(mx.concatenate([x, x], 1).shape).toEqual([2, 6]);
    expect(mx.stack([x, x]).shape).toEqual([2, 2, 3]);
    const parts = mx.split(mx.arange(6), 3);
    expect(parts.map((p) => p.tolist())).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(mx.split(mx.arange(6), [1, 4]).map((p) => p.shape)).toEqual([[1], [3], [2]]);
    expect(x.astype("float16").dtype).toBe("float16");
  });

  it("indexes NumPy-style with strings, items, slices and take", () => {
    const x = mx.arange(12).reshape(3, 4);
    expect(x.index("0:2, ::2").tolist()).toEqual([[0, 2], [4, 6]]);
    expect(x.index(1).tolist()).toEqual([4, 5, 6, 7]);
    expect(x.index("-1, ::-1").tolist()).toEqual([11, 10, 9, 8]);
    expect(x.index("..., 1").tolist()).toEqual([1, 5, 9]);
    expect(x.index("newaxis, 0").shape).toEqual([1, 4]);
    expect(x.index({ start: 1 }, 0).tolist()).toEqual([4, 8]);
    expect(x.index(":", mx.array([3, 0])).tolist()).toEqual([[3, 0], [7, 4], [11, 8]]);
    expect(x.slice([[0, 2], [1, 3]]).tolist()).toEqual([[1, 2], [5, 6]]);
    expect(x.take([0, 2], 0).tolist()).toEqual([[0, 1, 2, 3], [8, 9, 10, 11]]);
    expect(mx.take(x, mx.array([5]))).toBeInstanceOf(MxArray);
    expect(() => x.index(3)).toThrow(/out of bounds for axis 0 with size 3/);
  });

  it("quantizes and dequantizes close to the original, and quantizedMatmul matches the dense product", () => {
    mx.random.seed(0);
    const w = mx.random.normal([32, 128]);
    const [wq, scales, biases] = mx.quantize(w, { groupSize: 64, bits: 8 });
    expect(wq.dtype).toBe("uint32");
    const back = mx.dequantize(wq, scales, biases, { groupSize: 64, bits: 8 });
    expect(mx.abs(back.subtract(w)).max().item()).toBeLessThan(0.05);
    const x = mx.random.normal([2, 128]);
    const qm = mx.quantizedMatmul(x, wq, scales, biases, { groupSize: 64, bits: 8 });
    const dense = mx.matmul(x, back.T);
    expect(mx.allclose(qm, dense, 1e-4, 1e-3).item()).toBe(true);
  });

  it("runs the fast kernels with the shapes models use", () => {
    const x = mx.ones([1, 4, 8]);
    expect(mx.fast.rmsNorm(x, mx.ones([8]), 1e-5).index("0, 0, 0").item()).toBeCloseTo(1, 3);
    const q = mx.random.normal([1, 2, 4, 8]);
    expect(mx.fast.rope(q, 8, { offset: 3 }).shape).toEqual([1, 2, 4, 8]);
    const out = mx.fast.scaledDotProductAttention(q, q, q, { mask: "causal" });
    expect(out.shape).toEqual([1, 2, 4, 8]);
    // With a causal mask the first query sees only the first key, so its output is the first value.
    expect(mx.allclose(out.index(":, :, 0"), q.index(":, :, 0"), 1e-5, 1e-5).item()).toBe(true);
  });
});

describe("mx reading data back", () => {
  it("returns a typed array over the array's memory, and a Float32Array copy for bfloat16", () => {
    const a = mx.array([1, 2, 3], "float32");
    const t = a.toTypedArray();
    expect(t).toBeInstanceOf(Float32Array);
    expect(Array.from(t as Float32Array)).toEqual([1, 2, 3]);
    const again = a.toTypedArray();
    expect(Array.from(again as Float32Array)).toEqual([1, 2, 3]);
    expect(a.reshape(3, 1).toTypedArray()).toBeInstanceOf(Float32Array);
    const h = mx.array([1.5, -2], "bfloat16");
    expect(h.toTypedArray()).toBeInstanceOf(Float32Array);
    expect(Array.from(h.toTypedArray() as Float32Array)).toEqual([1.5, -2]);
    const raw = h.toTypedArray({ raw: true });
    expect(raw).toBeInstanceOf(Uint16Array);
    expect(Array.from(raw as Uint16Array)).toEqual([0x3fc0, 0xc000]);
    expect(mx.array(raw, { dtype: "bfloat16", raw: true }).tolist()).toEqual([1.5, -2]);
    expect(mx.array([true, false]).toTypedArray()).toBeInstanceOf(Uint8Array);
    expect(mx.array([1], "int64").toTypedArray()).toBeInstanceOf(BigInt64Array);
    // A transposed view is made contiguous before it is handed out.
    expect(Array.from(mx.arange(6).reshape(2, 3).T.toTypedArray() as Int32Array)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it("keeps typed-array data valid after the array itself is collected", () => {
    let t: Float32Array | undefined;
    {
      t = mx.arange(0, 4, 1, "float32").add(1).toTypedArray() as Float32Array;
    }
    globalThis.gc?.();
    expect(Array.from(t)).toEqual([1, 2, 3, 4]);
  });

  it("gives item() for one element and a clear error otherwise", () => {
    expect(mx.array([[5]]).item()).toBe(5);
    expect(() => mx.array([1, 2]).item()).toThrow(MlxError);
  });
});

describe("mx display", () => {
  it("prints like Python's repr, summarising large arrays", () => {
    expect(mx.array([[1, 2], [3, 4]]).toString()).toBe("array([[1, 2],\n       [3, 4]], dtype=int32)");
    // elements in columns, as numpy prints them
    expect(inspect(mx.array([1.5, 2.25]))).toBe("array([1.5 , 2.25], dtype=float32)");
    expect(String(mx.arange(10000))).toBe("array([   0,    1,    2, ..., 9997, 9998, 9999], dtype=int32)");
    expect(String(mx.array([8, 9, 10, 11]))).toBe("array([ 8,  9, 10, 11], dtype=int32)");
    expect(String(mx.arange(12).reshape(2, 6))).toBe("array([[ 0,  1,  2,  3,  4,  5],\n       [ 6,  7,  8,  9, 10, 11]], dtype=int32)");
    expect(String(mx.array(true))).toBe("array(True, dtype=bool)");
  });

  it("offers text/plain and an HTML table through Symbol.for('Jupyter.display')", () => {
    const a = mx.arange(2000).reshape(40, 50);
    const bundle = (a as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for("Jupyter.display")]!();
    expect(bundle["text/plain"]).toBe(String(a));
    const html = bundle["text/html"]!;
    expect(html).toContain("shape (40, 50), dtype int32");
    expect(html).toContain("<td>1999</td>");
    expect(html).toContain("<td>…</td>");
    expect(html).not.toContain("<td>1000</td>");
    expect((html.match(/<tr>/g) ?? []).length).toBe(1 + 21);
  });
});

describe("mx errors", () => {
  it("turns MLX failures into MlxError with MLX's text and what to do", () => {
    let err: unknown;
    try {
      mx.add(mx.ones([2, 3]), mx.ones([4]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MlxError);
    const e = err as MlxError;
    expect(e.name).toBe("MlxError");
    expect(e.code).toBe("E_MLX");
    expect(e.message).toMatch(/mx\.add failed: \[broadcast_shapes\] Shapes \(2,3\) and \(4\) cannot be broadcast/);
    expect(e.message).toMatch(/trailing dimension/);
    expect(() => mx.zeros([2], "float128" as never)).toThrow(/unknown dtype/);
    expect(() => mx.array([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => mx.ones([2, 3]).reshape(4)).toThrow(MlxError);
  });
});

describe("mx evaluation, memory and devices", () => {
  it("asyncEval resolves without blocking the JS thread", async () => {
    const a = mx.random.normal([512, 512]);
    let c = a;
    for (let i = 0; i < 4; i++) c = mx.matmul(c, a).divide(32);
    let ranWhileComputing = false;
    let resolved = false;
    const p = mx.asyncEval(c).then(() => { resolved = true; });
    // A callback queued after the call runs before the result is ready: the JS thread is free meanwhile.
    setImmediate(() => { ranWhileComputing = !resolved; });
    await p;
    expect(ranWhileComputing).toBe(true);
    expect(c.shape).toEqual([512, 512]);
    expect(Number.isFinite(c.sum().item())).toBe(true);
    await mx.asyncEval([c], { x: c }); // trees of arrays, already computed
  });

  it("reports memory counters and the default device", () => {
    const m = mx.memory();
    for (const k of ["active", "peak", "cache", "limit"] as const) expect(typeof m[k]).toBe("number");
    const keep = mx.zeros([1024, 1024]).eval();
    expect(mx.memory().active).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(keep.nbytes).toBe(4 * 1024 * 1024);
    mx.resetPeakMemory();
    expect(mx.memory().peak).toBeLessThanOrEqual(mx.memory().active + 64);
    const prev = mx.setCacheLimit(1 << 30);
    expect(mx.setCacheLimit(prev)).toBe(1 << 30);
    mx.clearCache();
    expect(mx.memory().cache).toBe(0);
    expect(mx.defaultDevice()).toBe(mx.isAvailable("gpu") ? mx.defaultDevice() : "cpu");
    mx.setDefaultDevice("cpu");
    if (!mx.isAvailable("gpu")) expect(() => mx.setDefaultDevice("gpu")).toThrow(/no gpu device/);
  });

  it("runs work on a new stream with withStream and synchronizes it", () => {
    const s = mx.newStream();
    expect(s.device).toBe(mx.defaultDevice());
    const before = mx.defaultStream();
    const r = mx.withStream(s, () => mx.ones([4]).add(1));
    expect(mx.defaultStream()).toEqual(before);
    mx.synchronize(s);
    expect(r.tolist()).toEqual([2, 2, 2, 2]);
  });
});
