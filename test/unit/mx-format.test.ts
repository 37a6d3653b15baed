// Pieces of the HTML form of arrays and of dtype choice for JS scalars (pure logic).
import { describe, expect, it } from "vitest";
import { scalarDtype } from "../../kernel/mx/dtype.js";
import { alignRepr, formatValue, keptIndices, summaryTable, tableHtml } from "../../kernel/mx/format.js";

describe("formatValue", () => {
  it("prints as MLX does: integers plainly, floats with 6 significant digits, True/False, nan/inf", () => {
    expect(formatValue(3, "int32")).toBe("3");
    expect(formatValue(0.1234567, "float32")).toBe("0.123457");
    expect(formatValue(1, "bool")).toBe("True");
    expect(formatValue(Number.NaN, "float32")).toBe("nan");
    expect(formatValue(-Infinity, "float32")).toBe("-inf");
    expect(formatValue(5n, "int64")).toBe("5");
  });
});

describe("summaryTable", () => {
  it("keeps all indices of small axes and the first and last 10 of large ones", () => {
    expect(keptIndices(3)).toEqual([0, 1, 2]);
    const k = keptIndices(100);
    expect(k.length).toBe(21);
    expect(k[10]).toBe(-1);
    expect(k[20]).toBe(99);
  });

  it("lays out a 2-D array as rows with labels", () => {
    const t = summaryTable([1, 2, 3, 4], [[0, 1], [0, 1]], "int32");
    expect(t).toEqual({ rowLabels: ["0", "1"], colLabels: ["0", "1"], cells: [["1", "2"], ["3", "4"]] });
  });

  it("labels rows of a 3-D array with index tuples and marks gaps once", () => {
    const kept = [[0, -1, 9], [0], [0, 1]];
    const t = summaryTable([1, 2, 3, 4], kept, "int32");
    expect(t.rowLabels).toEqual(["(0, 0)", "⋮", "(9, 0)"]);
    expect(t.cells).toEqual([["1", "2"], ["⋮", "⋮"], ["3", "4"]]);
  });

  it("renders a caption with shape and dtype", () => {
    const html = tableHtml(summaryTable([7], [[0]], "float32"), [1], "float32");
    expect(html).toContain("shape (1,), dtype float32");
    expect(html).toContain("<td>7</td>");
  });

  it("puts the caption on one unwrapped line outside the table, so a small table does not squeeze it", () => {
    const html = tableHtml(summaryTable([1, 2], [[0, 1]], "int32"), [2], "int32");
    expect(html).not.toContain("<caption");
    expect(html).toMatch(/<\/table><div class="mlx-ts-array-caption" style="white-space: nowrap[^"]*">array of shape \(2,\), dtype int32<\/div>/);
  });
});

describe("alignRepr (numpy's columns)", () => {
  it("right-aligns integers and words, aligns decimals on the point, and leaves the gap and scalars alone", () => {
    expect(alignRepr("array([8, 9, 10, 11], dtype=int32)")).toBe("array([ 8,  9, 10, 11], dtype=int32)");
    expect(alignRepr("array([[1, 20],\n       [300, 4]], dtype=int32)")).toBe("array([[  1,  20],\n       [300,   4]], dtype=int32)");
    expect(alignRepr("array([1.5, 2.25, -10], dtype=float32)")).toBe("array([  1.5 ,   2.25, -10   ], dtype=float32)");
    expect(alignRepr("array([True, False], dtype=bool)")).toBe("array([ True, False], dtype=bool)");
    expect(alignRepr("array([0, 1, ..., 998, 999], dtype=int32)")).toBe("array([  0,   1, ..., 998, 999], dtype=int32)");
    expect(alignRepr("array([nan, 1.5], dtype=float32)")).toBe("array([nan, 1.5], dtype=float32)");
    expect(alignRepr("array(7, dtype=int32)")).toBe("array(7, dtype=int32)");
  });
});

describe("scalarDtype (MLX's weak scalars)", () => {
  it("lets integers take the array's dtype and fractions only floating dtypes", () => {
    expect(scalarDtype(1)).toBe("int32");
    expect(scalarDtype(1.5)).toBe("float32");
    expect(scalarDtype(2, "bfloat16")).toBe("bfloat16");
    expect(scalarDtype(2, "uint8")).toBe("uint8");
    expect(scalarDtype(0.5, "int32")).toBe("float32");
    expect(scalarDtype(0.5, "float16")).toBe("float16");
    expect(scalarDtype(true)).toBe("bool");
    expect(scalarDtype(3, "bool")).toBe("int32");
  });
});
