// Finds the assignments in a cell to names of the cells' top level (`c = 2`, `c += 1`, `c++`), those not
// shadowed by a parameter or local declaration on the way up. Top-level names are script-scope `let`s of
// the context (see bindingScript in transform.ts), so a cell's `const` is only const to the type checker; the
// transform turns these assignments into a TypeError for the names that are const, so `%typecheck off`
// keeps const read-only at run time too, at no cost to code that does not assign them.
import ts from "typescript";

export interface TopLevelAssignment { name: string; pos: number; end: number }

const bindingNames = (name: ts.BindingName): string[] => ts.isIdentifier(name) ? [name.text]
  : name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));

function isAssignmentOperator(k: ts.SyntaxKind): boolean {
  return k >= ts.SyntaxKind.FirstAssignment && k <= ts.SyntaxKind.LastAssignment;
}

/** `var` and function declarations of a function body (not of nested functions). */
function declaresVar(body: ts.Node, name: string): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isVariableDeclarationList(n) && !(n.flags & ts.NodeFlags.BlockScoped) && n.declarations.some((d) => bindingNames(d.name).includes(name))) found = true;
    else if (ts.isFunctionDeclaration(n) && n.name?.text === name) found = true;
    if (!ts.isFunctionLike(n) && !ts.isClassLike(n)) ts.forEachChild(n, visit);
  };
  ts.forEachChild(body, visit);
  return found;
}

/** let/const/class/enum/function declarations directly in a block. */
function declaresLexical(stmts: readonly ts.Statement[], name: string): boolean {
  return stmts.some((s) =>
    (ts.isVariableStatement(s) && (s.declarationList.flags & ts.NodeFlags.BlockScoped) !== 0 &&
      s.declarationList.declarations.some((d) => bindingNames(d.name).includes(name))) ||
    ((ts.isClassDeclaration(s) || ts.isFunctionDeclaration(s) || ts.isEnumDeclaration(s)) && s.name?.text === name));
}

function shadowedBelowTopLevel(id: ts.Identifier): boolean {
  const name = id.text;
  for (let n: ts.Node = id.parent; !ts.isSourceFile(n); n = n.parent) {
    if (ts.isFunctionLike(n)) {
      if (n.parameters.some((p) => bindingNames(p.name).includes(name))) return true;
      if (ts.isFunctionExpression(n) && n.name?.text === name) return true;
      const body = (n as ts.FunctionLikeDeclaration).body;
      if (body && declaresVar(body, name)) return true;
    } else if (ts.isBlock(n) || ts.isModuleBlock(n)) {
      if (declaresLexical(n.statements, name)) return true;
    } else if (ts.isCaseBlock(n)) {
      if (n.clauses.some((c) => declaresLexical(c.statements, name))) return true;
    } else if (ts.isForStatement(n) || ts.isForInStatement(n) || ts.isForOfStatement(n)) {
      const init = n.initializer;
      if (init && ts.isVariableDeclarationList(init) && init.declarations.some((d) => bindingNames(d.name).includes(name))) return true;
    } else if (ts.isCatchClause(n)) {
      if (n.variableDeclaration && bindingNames(n.variableDeclaration.name).includes(name)) return true;
    }
  }
  return false;
}

function target(e: ts.Expression): ts.Identifier | undefined {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  return ts.isIdentifier(e) ? e : undefined;
}

/** Assignments (whole expressions) to top-level names, with their positions in the cell. */
export function topLevelAssignments(sf: ts.SourceFile): TopLevelAssignment[] {
  const out: TopLevelAssignment[] = [];
  const visit = (n: ts.Node): void => {
    let id: ts.Identifier | undefined;
    if (ts.isBinaryExpression(n) && isAssignmentOperator(n.operatorToken.kind)) id = target(n.left);
    else if ((ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) &&
      (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken)) id = target(n.operand);
    if (id && !shadowedBelowTopLevel(id)) out.push({ name: id.text, pos: n.pos, end: n.end });
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}
