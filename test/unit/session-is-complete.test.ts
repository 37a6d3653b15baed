import { describe, expect, it } from "vitest";
import { isComplete } from "../../kernel/session/is-complete.js";

describe("isComplete", () => {
  it.each([
    ["const x = 1", "complete"],
    ["", "complete"],
    ["function f() {", "incomplete"],
    ["foo(1,\n  2", "incomplete"],
    ["`a ${x}", "incomplete"],
    ["`a ${ {k: 1}.k } b`", "complete"],
    ["/* open comment", "incomplete"],
    ["const x =", "incomplete"],
    ["if (ready)", "incomplete"],
    ["}", "invalid"],
    ["(]", "invalid"],
    ["let s = 'abc", "invalid"],
    ["const = 5", "invalid"],
    ["const r = /[(]/; r", "complete"],
    ["x / 2 / 3", "complete"],
    ["%load smollm2\nconst a = 1", "complete"],
  ])("%j is %s", (code, status) => {
    expect(isComplete(code).status).toBe(status);
  });

  it("indents the next line after an opening bracket", () => {
    expect(isComplete("function f() {")).toEqual({ status: "incomplete", indent: "  " });
    expect(isComplete("  if (x) {")).toEqual({ status: "incomplete", indent: "    " });
  });

  it("ends a %% cell magic at an empty line, as IPython does in terminals", () => {
    expect(isComplete("%%generate").status).toBe("incomplete");
    expect(isComplete("%%generate\nWrite a haiku").status).toBe("incomplete");
    expect(isComplete("%%generate\nWrite a haiku\n").status).toBe("complete");
  });
});
