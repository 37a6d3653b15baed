// The session skips the type check of a cell of literal arithmetic (literal-arithmetic.ts). That is only
// right if the checker never finds anything in such a cell: checked here against the language service,
// after earlier cells, with the near misses that TypeScript does report.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CellLanguageService } from "../../kernel/session/language-service.js";
import { isLiteralArithmetic } from "../../kernel/session/literal-arithmetic.js";
import { transformCell } from "../../kernel/session/transform.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const ARITHMETIC = [
  "1+1", "1+1 // 17", "(2 + 3) * 4", "-1 - -2", "+5 % 3;", "1 / 0", "0.5 * .25e3", "1_000 + 2", "1e400 - 1",
  "/* a */ 1 /* b */ + 2 // c", "1 +\n 2\n - 3", "  7  ", "1e+5 - 2E-3", "- - (+(1))", "1 /* / */ / 2 // end",
];
const NOT_ARITHMETIC = [
  "1 === 2", "1 < 2", "1, 2", "--1", "1 ** 2", "-1 ** 2", "1n + 1", "010 + 1", "0x10 + 1", "'a' - 1", "x + 1", "1 + 1;;",
  "// @ts-expect-error\n1 + 1", "/// <reference path=\"nope.d.ts\" />\n1", "1 +", "", "%time 1 + 1", "(1)(2)", "1 + +'2'", "#!x\n1",
  "1--1", "1 ++ 2", "1 + /2/", "5.", "1..2", "1 -->2", "1\u2028+1", "1 +\r\n2", "3in", "0b1 + 1", "1e+ 2", "1 + 1 /* open",
  "1;2", "()", "1 +\u00a02",
];

describe("literal arithmetic", () => {
  it("is told apart from what only looks like it", () => {
    for (const code of ARITHMETIC) expect(isLiteralArithmetic(code), code).toBe(true);
    for (const code of NOT_ARITHMETIC) expect(isLiteralArithmetic(code), code).toBe(false);
  });

  it("has no type errors after any earlier cells, while several near misses do", () => {
    const ls = new CellLanguageService(root, root);
    ls.addCell("const x: number = 1\ninterface Number { extra?: string }\ndeclare global { var y: string }");
    for (const code of ARITHMETIC) {
      expect(transformCell(code, "c.ts").diagnostics, code).toEqual([]); // no syntax error either
      expect(ls.diagnostics(code), code).toEqual([]);
    }
    for (const code of ["1 === 2", "1, 2", "--1", "1n + 1", "'a' - 1", "// @ts-expect-error\n1 + 1"]) {
      expect(ls.diagnostics(code).length, code).toBeGreaterThan(0);
    }
  }, 60_000);
});
