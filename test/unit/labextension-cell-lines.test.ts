// The JupyterLab extension's split of a cell (labextension/src/cell-lines.ts) against the kernel's own
// (kernel/session/cell-parse.ts): what the editor draws as TypeScript is what the kernel runs as TypeScript.
import { describe, expect, it } from "vitest";
import { splitCell } from "../../kernel/session/cell-parse.js";
import { cellSpans } from "../../labextension/src/cell-lines.js";

const CELLS = [
  "%%generate --max-tokens 32\nWrite a haiku.\nconst x = 1;",
  "\n  %%chat --system \"terse\"\nWhat is MLX?",
  "%load smollm2\nconst n = 1;\nn--\n%memory",
  "const a = 1;\n%profile await session.generate(\"Hi\", { maxTokens: 4 })\na + 1",
  "x = 1\n%%generate\nnot a cell magic here",
  "% not a magic\n%1 nor this\nlet y = 2 % 3;",
  "%models",
  "",
  "const s = `\n%load inside a template\n`;",
];

/** The kernel's view: for each line, magic text or TypeScript. */
function kernelKinds(cell: string): string[] {
  const segs = splitCell(cell);
  const lines = cell.split("\n");
  if (segs[0]?.kind === "cell") {
    const first = lines.findIndex((l) => l.trim() !== "");
    return lines.map((_, i) => (i <= first ? "magic" : "body"));
  }
  const magic = new Set(segs.flatMap((s) => (s.kind === "line" ? [s.line - 1] : [])));
  return lines.map((_, i) => (magic.has(i) ? "magic" : "code"));
}

/** The extension's view, line by line (a line's kind is the span holding its first character). */
function extensionKinds(cell: string): string[] {
  const spans = cellSpans(cell);
  let at = 0;
  return cell.split("\n").map((l) => {
    const kind = spans.find((s) => s.from <= at && at < s.to)?.kind ?? spans.find((s) => s.from === at)?.kind ?? "code";
    at += l.length + 1;
    return kind;
  });
}

describe("cellSpans (labextension) agrees with splitCell (kernel)", () => {
  for (const cell of CELLS) {
    it(JSON.stringify(cell), () => {
      expect(extensionKinds(cell)).toEqual(kernelKinds(cell));
    });
  }

  it("tiles the text in order, without gaps", () => {
    for (const cell of CELLS) {
      const spans = cellSpans(cell);
      let at = 0;
      for (const s of spans) {
        expect(s.from).toBe(at);
        expect(s.to).toBeGreaterThanOrEqual(s.from);
        at = s.to;
      }
      expect(at).toBe(cell.length);
    }
  });
});
