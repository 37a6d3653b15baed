// The extension's cell language over CodeMirror's real TypeScript parser (the one JupyterLab loads):
// magic lines and `%%` bodies come out with no highlight tag at all, TypeScript lines as TypeScript.
import { describe, expect, it } from "vitest";
// From the extension's own packages (labextension/node_modules, installed by the set-up), so the parser
// and the tree share one @lezer/common, as they share JupyterLab's in the browser.
import { javascript } from "../../labextension/node_modules/@codemirror/lang-javascript/dist/index.js";
import { classHighlighter, highlightTree } from "../../labextension/node_modules/@lezer/highlight/dist/index.js";
import { cellLanguage } from "../../labextension/src/cell-language.js";

/** Each highlighted token as `text:classes`, line by line. */
function tokensByLine(text: string): string[][] {
  const tree = cellLanguage(javascript({ typescript: true })).language.parser.parse(text);
  const lines: string[][] = text.split("\n").map(() => []);
  highlightTree(tree, classHighlighter, (from, to, classes) => {
    const line = text.slice(0, from).split("\n").length - 1;
    lines[line]!.push(`${text.slice(from, to)}:${classes}`);
  });
  return lines;
}

describe("the mlx-ts cell language", () => {
  it("a %%generate cell is plain text, flags and prompt alike", () => {
    const lines = tokensByLine("%%generate --max-tokens 32 --temp 0.7\nWrite a haiku; const x = 1 - -2;");
    expect(lines).toEqual([[], []]);
  });

  it("line magics are plain; the TypeScript between them is highlighted as TypeScript", () => {
    const lines = tokensByLine("%load smollm2 --as s\nconst n = 1;\nn--\n%memory");
    expect(lines[0]).toEqual([]);
    expect(lines[1]).toContain("const:tok-keyword");
    expect(lines[2]).toContain("--:tok-operator");
    expect(lines[3]).toEqual([]);
  });

  it("each TypeScript run is parsed on its own: an open string before a magic line does not run past it", () => {
    const lines = tokensByLine("const a = 'open\n%models\nlet b = 2");
    expect(lines[1]).toEqual([]);
    expect(lines[2]).toContain("let:tok-keyword");
  });

  it("without magics, a cell is TypeScript as JupyterLab's own language would draw it", () => {
    const text = "const n: number = 1 - -2; // note\nn--";
    const plain = javascript({ typescript: true }).language.parser.parse(text);
    const own: string[] = [];
    highlightTree(plain, classHighlighter, (from, to, c) => own.push(`${text.slice(from, to)}:${c}`));
    expect(tokensByLine(text).flat()).toEqual(own);
  });
});
