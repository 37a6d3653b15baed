// Splits a cell into TypeScript and magics: a `%%name args` first line makes the whole cell a cell magic;
// otherwise `%name args` lines run as line magics in order, between the TypeScript around them. Code
// segments keep the cell's line numbers (other lines blanked) so errors point at the right line.

export type Segment =
  | { kind: "code"; code: string }
  | { kind: "line"; name: string; args: string; line: number }
  | { kind: "cell"; name: string; args: string; body: string };

const LINE_MAGIC = /^\s*%([A-Za-z_][\w.-]*)(?:[ \t]+(.*?))?\s*$/;
const CELL_MAGIC = /^\s*%%([A-Za-z_][\w.-]*)(?:[ \t]+(.*?))?\s*$/;

export function splitCell(code: string): Segment[] {
  const lines = code.split("\n");
  const first = lines.findIndex((l) => l.trim() !== "");
  if (first >= 0) {
    const m = CELL_MAGIC.exec(lines[first]!);
    if (m) return [{ kind: "cell", name: m[1]!, args: m[2] ?? "", body: lines.slice(first + 1).join("\n") }];
  }
  const out: Segment[] = [];
  let pending: number[] = [];
  const flush = (): void => {
    if (!pending.length) return;
    const keep = new Set(pending);
    const text = lines.map((l, i) => (keep.has(i) ? l : "")).join("\n");
    if (text.trim()) out.push({ kind: "code", code: text.replace(/\n+$/, "") });
    pending = [];
  };
  lines.forEach((l, i) => {
    const m = /^\s*%%/.test(l) ? null : LINE_MAGIC.exec(l);
    if (m) {
      flush();
      out.push({ kind: "line", name: m[1]!, args: m[2] ?? "", line: i + 1 });
    } else pending.push(i);
  });
  flush();
  return out;
}
