// The transform of a cell that is only JavaScript expression statements (`1+1`, `xs.map((x) => x * 2)`,
// `await f(a, b)`): what TypeScript's transpile would print is the cell itself, so the cell's own text is
// used, with the last expression wrapped as `return { value: (e) }`. transpileModule builds a program and
// a checker for every new text (about 0.8 ms of a new `1+1` cell in the round-trip trace); this takes a
// parse and a walk. Anything outside the short list of syntax below (types, declarations, imports,
// import(), classes, function bodies, `this`) goes through TypeScript as before.
import ts from "typescript";
import { topLevelAssignments } from "./const-guard.js";
import { literalExpression } from "./literal-arithmetic.js";

/** What transform.ts needs back; the rest of its TransformedCell is empty for such a cell. */
export interface PlainCell { js: string; sourceMap: string; assigned: string[] }

const RESULT_HEAD = "return { value: (";
const RESULT_TAIL = ") }";

/** true when `n` and everything below it is JavaScript that TypeScript prints back unchanged */
function plain(n: ts.Node, starts: number[], sf: ts.SourceFile): boolean {
  starts.push(n.getStart(sf));
  const all = (ns: readonly ts.Node[]): boolean => ns.every((c) => plain(c, starts, sf));
  switch (n.kind) {
    case ts.SyntaxKind.Identifier:
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.RegularExpressionLiteral:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
    case ts.SyntaxKind.NullKeyword:
    case ts.SyntaxKind.OmittedExpression:
      return true;
    case ts.SyntaxKind.TemplateExpression: {
      const t = n as ts.TemplateExpression;
      return t.templateSpans.every((s) => plain(s.expression, starts, sf));
    }
    case ts.SyntaxKind.BinaryExpression: {
      const b = n as ts.BinaryExpression;
      return plain(b.left, starts, sf) && plain(b.right, starts, sf);
    }
    case ts.SyntaxKind.PrefixUnaryExpression:
      return plain((n as ts.PrefixUnaryExpression).operand, starts, sf);
    case ts.SyntaxKind.PostfixUnaryExpression:
      return plain((n as ts.PostfixUnaryExpression).operand, starts, sf);
    case ts.SyntaxKind.ParenthesizedExpression:
    case ts.SyntaxKind.AwaitExpression:
    case ts.SyntaxKind.TypeOfExpression:
    case ts.SyntaxKind.VoidExpression:
    case ts.SyntaxKind.DeleteExpression:
    case ts.SyntaxKind.SpreadElement:
    case ts.SyntaxKind.SpreadAssignment:
    case ts.SyntaxKind.ComputedPropertyName:
      return plain((n as ts.ParenthesizedExpression).expression, starts, sf);
    case ts.SyntaxKind.ConditionalExpression: {
      const c = n as ts.ConditionalExpression;
      return all([c.condition, c.whenTrue, c.whenFalse]);
    }
    case ts.SyntaxKind.CallExpression:
    case ts.SyntaxKind.NewExpression: {
      const c = n as ts.CallExpression;
      return !c.typeArguments && plain(c.expression, starts, sf) && all(c.arguments ?? []);
    }
    case ts.SyntaxKind.TaggedTemplateExpression: {
      const t = n as ts.TaggedTemplateExpression;
      return !t.typeArguments && plain(t.tag, starts, sf) && plain(t.template, starts, sf);
    }
    case ts.SyntaxKind.PropertyAccessExpression: {
      const p = n as ts.PropertyAccessExpression;
      return ts.isIdentifier(p.name) && plain(p.expression, starts, sf) && plain(p.name, starts, sf);
    }
    case ts.SyntaxKind.ElementAccessExpression: {
      const e = n as ts.ElementAccessExpression;
      return plain(e.expression, starts, sf) && plain(e.argumentExpression, starts, sf);
    }
    case ts.SyntaxKind.ArrayLiteralExpression:
      return all((n as ts.ArrayLiteralExpression).elements);
    case ts.SyntaxKind.ObjectLiteralExpression:
      return all((n as ts.ObjectLiteralExpression).properties);
    case ts.SyntaxKind.PropertyAssignment: {
      const p = n as ts.PropertyAssignment;
      return plain(p.name, starts, sf) && plain(p.initializer, starts, sf);
    }
    case ts.SyntaxKind.ShorthandPropertyAssignment: {
      const s = n as ts.ShorthandPropertyAssignment;
      return !s.objectAssignmentInitializer && plain(s.name, starts, sf);
    }
    case ts.SyntaxKind.ArrowFunction: {
      // expression bodies only, parameters without types, defaults or patterns
      const a = n as ts.ArrowFunction;
      const mods = a.modifiers ?? [];
      return !a.typeParameters && !a.type && !ts.isBlock(a.body) &&
        mods.every((m) => m.kind === ts.SyntaxKind.AsyncKeyword) &&
        a.parameters.every((p) => !p.modifiers && !p.questionToken && !p.type && !p.initializer && ts.isIdentifier(p.name) && plain(p.name, starts, sf)) &&
        plain(a.body, starts, sf);
    }
    default:
      return false;
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function vlq(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = "";
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v) digit |= 32;
    out += B64[digit];
  } while (v);
  return out;
}

type LineCol = (pos: number) => { line: number; character: number };

/** Line and column of an offset of `text`. */
function lineColOf(text: string): LineCol {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (pos) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: pos - starts[lo]! };
  };
}

/**
 * The source map (v3) of the cell's text copied with `inserts` (offset, text) placed in it, after the
 * wrapper's one head line: a segment at each node start, and one at each insert for the inserted text.
 */
function copiedMap(code: string, lineCol: LineCol, starts: number[], inserts: [number, string][]): string {
  const byLine = new Map<number, Map<number, number>>();
  const add = (pos: number, strictlyAfter: boolean): void => {
    const { line, character } = lineCol(pos);
    let gen = character;
    for (const [at, text] of inserts) {
      if ((strictlyAfter ? at < pos : at <= pos) && lineCol(at).line === line) gen += text.length;
    }
    let row = byLine.get(line);
    if (!row) byLine.set(line, (row = new Map()));
    if (!row.has(gen)) row.set(gen, character);
  };
  for (const [at] of inserts) add(at, true);
  for (const pos of starts) add(pos, false);
  const lines: string[] = [""]; // the wrapper's head line has no mapping
  const last = lineCol(code.length).line;
  let prevLine = 0;
  let prevCol = 0;
  for (let line = 0; line <= last; line++) {
    const row = [...(byLine.get(line) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
    let prevGen = 0;
    lines.push(row.map(([gen, col]) => {
      const seg = vlq(gen - prevGen) + "A" + vlq(line - prevLine) + vlq(col - prevCol);
      prevGen = gen;
      prevLine = line;
      prevCol = col;
      return seg;
    }).join(","));
  }
  return lines.join(";");
}

/** The cell with its last expression (`from` to `to`) wrapped as the result, and the map back to the cell. */
function copied(code: string, fileName: string, lineCol: LineCol, from: number, to: number, starts: number[], assigned: string[]): PlainCell {
  const js = code.slice(0, from) + RESULT_HEAD + code.slice(from, to) + RESULT_TAIL + code.slice(to);
  // the inserted `return { value: (` maps to the expression, as TypeScript maps the statement it makes
  const mappings = copiedMap(code, lineCol, starts, [[from, RESULT_HEAD], [to, RESULT_TAIL]]);
  return {
    js,
    sourceMap: JSON.stringify({ version: 3, file: fileName.replace(/\.ts$/, ".js"), sourceRoot: "", sources: [fileName], names: [], mappings, sourcesContent: [code] }),
    assigned,
  };
}

/**
 * The cell's script body (without the async wrapper, which the caller adds; its head is one line, which
 * the map skips) and its source map, when the cell is plain expression statements; else undefined.
 */
export function plainCell(code: string, fileName: string): PlainCell | undefined {
  // literal arithmetic (`1+1`) is known without a parse
  const literal = literalExpression(code);
  if (literal) return copied(code, fileName, lineColOf(code), literal.from, literal.to, literal.starts, []);
  // a shebang, and HTML-like comments (`<!--`, `-->`), which a script reads as comments and TypeScript does not
  if (code.startsWith("#!") || code.includes("<!--") || code.includes("-->")) return undefined;
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  if ((sf as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics.length || !sf.statements.length) return undefined;
  const starts: number[] = [];
  for (const s of sf.statements) {
    // a string on its own could be a directive ("use strict"): left to TypeScript
    if (!ts.isExpressionStatement(s) || ts.isStringLiteral(s.expression) || !plain(s.expression, starts, sf)) return undefined;
  }
  const last = (sf.statements[sf.statements.length - 1] as ts.ExpressionStatement).expression;
  const lineCol: LineCol = (pos) => sf.getLineAndCharacterOfPosition(pos);
  return copied(code, fileName, lineCol, last.getStart(sf), last.end, starts, [...new Set(topLevelAssignments(sf).map((a) => a.name))]);
}
