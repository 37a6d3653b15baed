import { describe, expect, it } from "vitest";
import { splitCell } from "../../kernel/session/cell-parse.js";
import { closeMagicNames, findMagic, registerMagic } from "../../kernel/magics/registry.js";

describe("splitCell", () => {
  it("makes a %% first line a cell magic with the rest as its body", () => {
    expect(splitCell("\n%%generate --max-tokens 8\nWrite a haiku\nabout memory")).toEqual([
      { kind: "cell", name: "generate", args: "--max-tokens 8", body: "Write a haiku\nabout memory" },
    ]);
  });

  it("runs line magics in order between code, keeping the cell's line numbers in code segments", () => {
    const segs = splitCell("%load smollm2 --as m\nconst a = 1\n\n%models\na");
    expect(segs.map((s) => s.kind)).toEqual(["line", "code", "line", "code"]);
    expect(segs[0]).toEqual({ kind: "line", name: "load", args: "smollm2 --as m", line: 1 });
    expect(segs[1]).toEqual({ kind: "code", code: "\nconst a = 1" });
    expect(segs[3]).toEqual({ kind: "code", code: "\n\n\n\na" });
  });

  it("leaves TypeScript with % operators alone", () => {
    expect(splitCell("const r = 7 % 3\nr")).toEqual([{ kind: "code", code: "const r = 7 % 3\nr" }]);
  });
});

describe("magic registry", () => {
  it("finds magics by kind and suggests close names for typos", () => {
    registerMagic({ name: "unitprobe", kind: "line", summary: "s", usage: "u", run: () => 1 });
    expect(findMagic("line", "unitprobe")?.summary).toBe("s");
    expect(findMagic("cell", "unitprobe")).toBeUndefined();
    expect(closeMagicNames("unitprob")).toContain("unitprobe");
    expect(closeMagicNames("zzzzzzzzzz")).toEqual([]);
  });
});
