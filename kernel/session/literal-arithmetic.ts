// Cells the type checker cannot find anything in, so the session does not ask it: one expression of
// decimal number literals joined by + - * / % and signs, in parentheses or not (`1+1`, `(2 + 3) * 4 // x`).
// Every such operand is a number and every such operator takes numbers, whatever earlier cells declared.
// Left out because TypeScript does report something for them: `**` (`-1 ** 2`), `++`/`--` (2357), comparisons
// of literals (2367), the comma (2695), bigint mixed with number, legacy octal (1121), and comments that
// are directives (`@ts-expect-error` unused, `/// <reference`). A few lines of scanning, not a TypeScript
// parse: this runs before every cell, and a parse costs more than the check it saves on a short cell.

const DECIMAL = /^(?:(?:0|[1-9][0-9]*(?:_[0-9]+)*)(?:\.[0-9]+(?:_[0-9]+)*)?|\.[0-9]+(?:_[0-9]+)*)(?:[eE][+-]?[0-9]+)?$/;
const NUMBER_CHAR = /[0-9A-Za-z_.$\u0080-\uffff]/;
const OPERATORS = new Set(["+", "-", "*", "/", "%"]);

interface Token { text: string; pos: number; end: number }

/** The cell's tokens (numbers as "0", operators, parentheses, `;`), or undefined for anything else in it. */
function tokens(code: string): Token[] | undefined {
  // line terminators other than \n end `//` comments too; such cells are rare enough to leave out
  if (code.length > 4096 || /[\r\u2028\u2029]/.test(code) || code.includes("@ts-") || code.includes("///")) return undefined;
  const out: Token[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (c === " " || c === "\t" || c === "\n") i++;
    else if (code.startsWith("//", i)) {
      const end = code.indexOf("\n", i);
      i = end === -1 ? code.length : end;
    } else if (code.startsWith("/*", i)) {
      const end = code.indexOf("*/", i + 2);
      if (end === -1) return undefined;
      i = end + 2;
    } else if ((c >= "0" && c <= "9") || (c === "." && /[0-9]/.test(code[i + 1] ?? ""))) {
      let j = i + 1;
      // an exponent's sign belongs to the number (1e+5)
      while (j < code.length && (NUMBER_CHAR.test(code[j]!) || (/[+-]/.test(code[j]!) && /[eE]/.test(code[j - 1]!)))) j++;
      const n = code.slice(i, j);
      if (!DECIMAL.test(n)) return undefined;
      out.push({ text: "0", pos: i, end: j });
      i = j;
    } else if (OPERATORS.has(c) || c === "(" || c === ")" || c === ";") {
      // `++`, `--` and `**` are other operators
      if ((c === "+" || c === "-" || c === "*") && code[i + 1] === c) return undefined;
      out.push({ text: c, pos: i, end: i + 1 });
      i++;
    } else return undefined;
  }
  return out;
}

/** Where the expression of a literal-arithmetic cell is, and where each of its tokens starts. */
export interface LiteralExpression { from: number; to: number; starts: number[] }

/** The expression when `code` is one arithmetic expression over number literals (see above), else undefined. */
export function literalExpression(code: string): LiteralExpression | undefined {
  const all = tokens(code);
  if (!all?.length) return undefined;
  const t = all[all.length - 1]!.text === ";" ? all.slice(0, -1) : all;
  let at = 0;
  // expression := unary (operator unary)*; unary := ("+" | "-")* primary; primary := number | "(" expression ")"
  const unary = (): boolean => {
    while (t[at]?.text === "+" || t[at]?.text === "-") at++;
    if (t[at]?.text === "0") {
      at++;
      return true;
    }
    if (t[at]?.text !== "(") return false;
    at++;
    if (!expression() || t[at]?.text !== ")") return false;
    at++;
    return true;
  };
  const expression = (): boolean => {
    if (!unary()) return false;
    while (at < t.length && OPERATORS.has(t[at]!.text)) {
      at++;
      if (!unary()) return false;
    }
    return true;
  };
  if (!expression() || at !== t.length || !t.length) return undefined;
  return { from: t[0]!.pos, to: t[t.length - 1]!.end, starts: t.map((k) => k.pos) };
}

/** true when `code` is one arithmetic expression over number literals (see above); false when unsure */
export function isLiteralArithmetic(code: string): boolean {
  return literalExpression(code) !== undefined;
}
