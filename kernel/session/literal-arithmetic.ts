// Cells the type checker cannot find anything in, so the session does not ask it: one expression of
// decimal number literals joined by + - * / % and signs, in parentheses or not (`1+1`, `(2 + 3) * 4 // x`).
// Every such operand is a number and every such operator takes numbers, whatever earlier cells declared.
// Left out because TypeScript does report something for them: `**` (`-1 ** 2`), `++`/`--` on a literal,
// comparisons of literals (2367), the comma (2695), bigint mixed with number, legacy octal (1121), and
// comments that are directives (`@ts-expect-error` unused, `/// <reference`).
import ts from "typescript";

const OPERATORS = new Set([ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken, ts.SyntaxKind.SlashToken, ts.SyntaxKind.PercentToken]);
const DECIMAL = /^(?:0|[1-9][0-9]*(?:_[0-9]+)*)(?:\.[0-9]+(?:_[0-9]+)*)?(?:[eE][+-]?[0-9]+)?$|^\.[0-9]+(?:[eE][+-]?[0-9]+)?$/;
/** what such a cell has before its first comment (a filter that keeps the parse off most other cells) */
const HEAD = /^[\s0-9+\-*/%().eE_;]*(?:\/\/|\/\*|$)/;

function arithmetic(e: ts.Expression): boolean {
  if (ts.isNumericLiteral(e)) return DECIMAL.test(e.getText());
  if (ts.isParenthesizedExpression(e)) return arithmetic(e.expression);
  if (ts.isPrefixUnaryExpression(e)) return (e.operator === ts.SyntaxKind.PlusToken || e.operator === ts.SyntaxKind.MinusToken) && arithmetic(e.operand);
  if (ts.isBinaryExpression(e)) return OPERATORS.has(e.operatorToken.kind) && arithmetic(e.left) && arithmetic(e.right);
  return false;
}

/** true when `code` is one arithmetic expression over number literals (see above); false when unsure */
export function isLiteralArithmetic(code: string): boolean {
  if (code.length > 4096 || code.includes("@ts-") || code.includes("///") || !HEAD.test(code)) return false;
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  if ((sf as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics.length) return false;
  const [only, ...rest] = sf.statements;
  return !!only && !rest.length && ts.isExpressionStatement(only) && arithmetic(only.expression);
}
