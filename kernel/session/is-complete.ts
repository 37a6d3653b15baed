// is_complete for TypeScript cells, as a terminal needs it: "incomplete" while brackets, template
// literals or block comments are open or the parser stops at the very end of the input; "invalid" when
// more input cannot fix it; "complete" otherwise.
import ts from "typescript";
import type { IsCompleteReply } from "./types.js";

const INDENT = "  ";

/** Blanks out `%magic` lines (keeping their length) so TS tools see plain TypeScript at the same offsets. */
export function blankMagicLines(code: string): string {
  return code.split("\n").map((l) => (/^\s*%/.test(l) ? " ".repeat(l.length) : l)).join("\n");
}

function lastLineIndent(code: string): string {
  const lines = code.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.trim()) return /^\s*/.exec(lines[i]!)![0];
  }
  return "";
}

const EXPRESSION_END = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.Identifier, ts.SyntaxKind.NumericLiteral, ts.SyntaxKind.BigIntLiteral, ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.CloseParenToken, ts.SyntaxKind.CloseBracketToken, ts.SyntaxKind.CloseBraceToken,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral, ts.SyntaxKind.TemplateTail, ts.SyntaxKind.ThisKeyword,
  ts.SyntaxKind.TrueKeyword, ts.SyntaxKind.FalseKeyword, ts.SyntaxKind.NullKeyword, ts.SyntaxKind.RegularExpressionLiteral,
]);

export function isComplete(code: string): IsCompleteReply {
  if (/^\s*%%/.test(code)) {
    // IPython: a cell magic in a terminal ends with an empty line
    return /\n[ \t]*$/.test(code) ? { status: "complete" } : { status: "incomplete", indent: "" };
  }
  const ts_ = blankMagicLines(code);
  if (!ts_.trim()) return { status: "complete" };

  const scanner = ts.createScanner(ts.ScriptTarget.ESNext, false, ts.LanguageVariant.Standard, ts_);
  const stack: string[] = [];
  let prev: ts.SyntaxKind = ts.SyntaxKind.Unknown;
  for (;;) {
    let tok = scanner.scan();
    if (tok === ts.SyntaxKind.EndOfFileToken) break;
    if ((tok === ts.SyntaxKind.SlashToken || tok === ts.SyntaxKind.SlashEqualsToken) && !EXPRESSION_END.has(prev)) {
      tok = scanner.reScanSlashToken();
    }
    if (tok === ts.SyntaxKind.CloseBraceToken && stack[stack.length - 1] === "${") {
      tok = scanner.reScanTemplateToken(false);
    }
    switch (tok) {
      case ts.SyntaxKind.OpenParenToken: stack.push("("); break;
      case ts.SyntaxKind.OpenBracketToken: stack.push("["); break;
      case ts.SyntaxKind.OpenBraceToken: stack.push("{"); break;
      case ts.SyntaxKind.TemplateHead: stack.push("${"); break;
      case ts.SyntaxKind.TemplateTail: stack.pop(); break;
      case ts.SyntaxKind.CloseParenToken:
      case ts.SyntaxKind.CloseBracketToken:
      case ts.SyntaxKind.CloseBraceToken: {
        const want = tok === ts.SyntaxKind.CloseParenToken ? "(" : tok === ts.SyntaxKind.CloseBracketToken ? "[" : "{";
        if (stack.pop() !== want) return { status: "invalid" };
        break;
      }
      default: break;
    }
    const unterminated = scanner.isUnterminated();
    if (unterminated) {
      if (tok === ts.SyntaxKind.NoSubstitutionTemplateLiteral || tok === ts.SyntaxKind.TemplateHead ||
          tok === ts.SyntaxKind.TemplateMiddle || tok === ts.SyntaxKind.TemplateTail ||
          tok === ts.SyntaxKind.MultiLineCommentTrivia) {
        return { status: "incomplete", indent: "" };
      }
      if (tok === ts.SyntaxKind.StringLiteral) {
        // a quoted string cannot span lines, but one escaped newline continues it
        return ts_.endsWith("\\") ? { status: "incomplete", indent: "" } : { status: "invalid" };
      }
    }
    if (tok !== ts.SyntaxKind.SingleLineCommentTrivia && tok !== ts.SyntaxKind.MultiLineCommentTrivia &&
        tok !== ts.SyntaxKind.WhitespaceTrivia && tok !== ts.SyntaxKind.NewLineTrivia) prev = tok;
  }
  if (stack.length) {
    const lastLine = ts_.trimEnd().split("\n").pop() ?? "";
    const opensHere = /[([{]\s*$/.test(lastLine) || /\$\{\s*$/.test(lastLine);
    return { status: "incomplete", indent: lastLineIndent(ts_) + (opensHere ? INDENT : "") };
  }
  const sf = ts.createSourceFile("cell.ts", ts_, ts.ScriptTarget.ESNext, false, ts.ScriptKind.TS);
  const diags = (sf as unknown as { parseDiagnostics: readonly ts.Diagnostic[] }).parseDiagnostics;
  if (!diags.length) return { status: "complete" };
  const end = ts_.trimEnd().length;
  // the parser stopped at the end of the input (`const x =`, `a +`, `if (c)`): more input can fix it
  if (diags.every((d) => (d.start ?? 0) >= end)) return { status: "incomplete", indent: lastLineIndent(ts_) + INDENT };
  return { status: "invalid" };
}
