// Which parts of an mlx-ts cell are TypeScript and which are magic text, by the kernel's own rules
// (kernel/session/cell-parse.ts, splitCell): a `%%name` first non-blank line makes the whole cell a cell
// magic (its line, then a plain-text body); otherwise each `%name` line is a line magic and the runs of
// lines between them are TypeScript. test/unit/labextension-cell-lines.test.ts checks the two agree.

export type SpanKind = "code" | "magic" | "body";

/** A range of the cell's text; spans cover the text in order, without gaps. */
export interface Span {
  kind: SpanKind;
  from: number;
  to: number;
}

// The kernel's patterns (kernel/session/cell-parse.ts); a `%` line without a name is TypeScript there.
const LINE_MAGIC = /^\s*%([A-Za-z_][\w.-]*)(?:[ \t]+(.*?))?\s*$/;
const CELL_MAGIC = /^\s*%%([A-Za-z_][\w.-]*)(?:[ \t]+(.*?))?\s*$/;

export function cellSpans(text: string): Span[] {
  const lines = text.split("\n");
  const starts: number[] = [];
  let at = 0;
  for (const l of lines) {
    starts.push(at);
    at += l.length + 1;
  }
  const first = lines.findIndex((l) => l.trim() !== "");
  if (first >= 0 && CELL_MAGIC.test(lines[first]!)) {
    // Blank lines before the magic line are part of it: nothing there is TypeScript.
    const magicEnd = starts[first]! + lines[first]!.length;
    const spans: Span[] = [{ kind: "magic", from: 0, to: magicEnd }];
    if (magicEnd < text.length) spans.push({ kind: "body", from: magicEnd, to: text.length });
    return spans;
  }
  // Each line with its newline; neighbours of one kind are one span, so a TypeScript run is one text.
  const spans: Span[] = [];
  lines.forEach((l, i) => {
    const from = starts[i]!;
    const to = Math.min(from + l.length + 1, text.length);
    if (to === from) return;
    const kind: SpanKind = !/^\s*%%/.test(l) && LINE_MAGIC.test(l) ? "magic" : "code";
    const last = spans.at(-1);
    if (last?.kind === kind) last.to = to;
    else spans.push({ kind, from, to });
  });
  return spans;
}
