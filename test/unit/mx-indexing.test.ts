// NumPy-style index parsing and planning (pure logic; the integration tests run the plans on MLX).
import { describe, expect, it } from "vitest";
import { parseIndex, planIndex, sliceBounds } from "../../kernel/mx/indexing.js";

class Fake { constructor(readonly id: string) {} }
const isFake = (v: unknown): v is Fake => v instanceof Fake;
const plan = (shape: number[], ...items: (string | number | Fake | object)[]) => planIndex(shape, parseIndex(items as never[], isFake));

describe("sliceBounds follows Python's slice.indices", () => {
  it.each([
    [{}, 5, [0, 5, 1]],
    [{ start: 1, stop: 3 }, 5, [1, 3, 1]],
    [{ start: -2 }, 5, [3, 5, 1]],
    [{ stop: 100 }, 5, [0, 5, 1]],
    [{ start: 4, stop: 1 }, 5, [4, 4, 1]],
    [{ step: -1 }, 5, [4, -1, -1]],
    [{ start: 3, stop: 0, step: -1 }, 5, [3, 0, -1]],
    [{ start: -2, step: -2 }, 5, [3, -1, -2]],
  ])("%j on %i -> %j", (spec, n, expected) => {
    expect(sliceBounds(spec, n)).toEqual(expected);
  });

  it("rejects a zero step", () => {
    expect(() => sliceBounds({ step: 0 }, 3)).toThrow(/step cannot be zero/);
  });
});

describe("planIndex", () => {
  it("reads a comma-separated string like a[0:2, ::2]", () => {
    expect(plan([3, 4], "0:2, ::2")).toEqual({ start: [0, 0], stop: [2, 4], strides: [1, 2], takes: [], squeeze: [], expand: [] });
  });

  it("drops integer-indexed axes and counts negative integers from the end", () => {
    const p = plan([3, 4], -1);
    expect(p.start).toEqual([2, 0]);
    expect(p.stop).toEqual([3, 4]);
    expect(p.squeeze).toEqual([0]);
  });

  it("expands '...' and places newaxis in the result", () => {
    const p = plan([2, 3, 4], "newaxis, ..., 1");
    expect(p.squeeze).toEqual([2]);
    expect(p.expand).toEqual([0]);
    expect(p.stop).toEqual([2, 3, 2]);
  });

  it("writes 'before index 0' of a reversed slice as -n-1, which MLX reads as the front", () => {
    expect(plan([5], "::-1").stop).toEqual([-6]);
  });

  it("applies index arrays along their own axis", () => {
    const f = new Fake("idx");
    const p = plan([3, 4], ":", f);
    expect(p.takes).toEqual([{ axis: 1, indices: f }]);
  });

  it("accepts { start, stop, step } objects", () => {
    expect(plan([6], { start: 1, step: 2 }).strides).toEqual([2]);
  });

  it("explains what is wrong", () => {
    expect(() => plan([3], 3)).toThrow(/index 3 is out of bounds for axis 0 with size 3/);
    expect(() => plan([3], "0, 0")).toThrow(/too many indices/);
    expect(() => plan([3], "..., ...")).toThrow(/only one '...'/);
    expect(() => plan([3], "a:b")).toThrow(/cannot read "a"/);
    expect(() => plan([3], "1:2:3:4")).toThrow(/more than two colons/);
  });
});
