// Turns one TypeScript cell into a script that runs in the persistent vm context.
//
// The problem (the one tslab and Deno's REPL solve): a cell is a module-like file with top-level await, but
// its declarations must outlive it and may be declared again by a later cell. So, in a TS `before`
// transformer (positions of the user's nodes survive, so the source map stays exact):
// - `const/let/var` at top level become a block with the original declaration plus one `__mlxts.decl(name,
//   value, kind)` per bound name, which (re)defines a property on the context's global object. `const` and
//   imports become read-only properties, so assigning to them still throws (the cell is strict code).
//   Later code in the cell and later cells see the global, so re-running a cell just redefines it.
// - function declarations stay where they are (hoisting intact) and are published at the top of the cell;
//   classes, enums and namespaces are published right after their declaration (they are not hoisted).
// - static imports become awaited `__mlxts.import()` calls bound with `__mlxts.bindImport`; `import()` and
//   `import.meta` are routed through `__mlxts` too (the vm context has no module loader of its own).
// - `export` is stripped; `export default e` becomes the statement `e`.
// - the last expression statement becomes `return { value: e }` so the caller can tell "no result" from
//   `undefined`, and a returned Promise is not awaited by the async wrapper.
// The whole body then runs in `(async () => { "use strict"; ... })()`.
import ts from "typescript";
import { topLevelAssignments } from "./const-guard.js";
import { Lru } from "./lru.js";
import { plainCell } from "./plain-cell.js";

export type DeclKind = "const" | "let" | "var" | "function" | "class" | "enum" | "import";

export interface CellDiagnostic {
  message: string;
  /** 1-based line and column in the cell */
  line: number;
  column: number;
}

export interface TransformedCell {
  /** the script to run: evaluates to a Promise of `{ value } | undefined` */
  js: string;
  /** source map (v3 JSON) from `js` back to the cell */
  sourceMap: string;
  /** names the cell declares at top level (runtime and type-only), in order */
  declared: string[];
  /** names that get a value at run time (the persistent bindings the cell needs), in order, unique */
  bindings: string[];
  /** top-level names the cell assigns (`x = 1`, `x++`), for the session to guard those that are const */
  assigned: string[];
  hasResult: boolean;
  /** the cell has top-level declarations or imports: what the language service keeps for later cells */
  declares: boolean;
  diagnostics: CellDiagnostic[];
}

const HELPER = "__mlxts";
const WRAP_HEAD = `(async () => { "use strict";\n`;
const WRAP_TAIL = `\n})()`;

export const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  sourceMap: true,
  inlineSources: false,
  experimentalDecorators: false,
  useDefineForClassFields: true,
  esModuleInterop: true,
  jsx: ts.JsxEmit.React,
};

/** Names bound by a binding name (identifiers, object and array patterns). */
export function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const out: string[] = [];
  for (const el of name.elements) {
    if (ts.isOmittedExpression(el)) continue;
    out.push(...boundNames(el.name));
  }
  return out;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

function withoutExportModifiers<T extends ts.Node>(mods: readonly ts.ModifierLike[] | undefined): ts.ModifierLike[] | undefined {
  const kept = (mods ?? []).filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword);
  return kept.length ? kept : undefined;
}

/** Statements that produce no code (types, ambient declarations, empty statements). */
export function isTypeOnly(s: ts.Statement): boolean {
  if (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isEmptyStatement(s)) return true;
  if (hasModifier(s, ts.SyntaxKind.DeclareKeyword)) return true;
  if (ts.isModuleDeclaration(s)) return !isInstantiated(s);
  if (ts.isFunctionDeclaration(s)) return !s.body;
  if (ts.isImportDeclaration(s)) return !!s.importClause?.isTypeOnly;
  if (ts.isExportDeclaration(s)) return true;
  return false;
}

function isInstantiated(m: ts.ModuleDeclaration): boolean {
  const body = m.body;
  if (!body) return false;
  if (ts.isModuleDeclaration(body)) return isInstantiated(body);
  if (ts.isModuleBlock(body)) return body.statements.some((s) => !isTypeOnly(s));
  return false;
}

/** Top-level names a statement declares (for the language service's "later cell wins" rule too). */
export function declaredNames(s: ts.Statement): string[] {
  if (ts.isVariableStatement(s)) return s.declarationList.declarations.flatMap((d) => boundNames(d.name));
  if (
    (ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isInterfaceDeclaration(s) ||
      ts.isTypeAliasDeclaration(s) || ts.isEnumDeclaration(s)) && s.name
  ) return [s.name.text];
  if (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name)) return [s.name.text];
  if (ts.isImportEqualsDeclaration(s)) return [s.name.text];
  if (ts.isImportDeclaration(s)) {
    const c = s.importClause;
    if (!c) return [];
    const out: string[] = [];
    if (c.name) out.push(c.name.text);
    const nb = c.namedBindings;
    if (nb && ts.isNamespaceImport(nb)) out.push(nb.name.text);
    if (nb && ts.isNamedImports(nb)) out.push(...nb.elements.map((e) => e.name.text));
    return out;
  }
  return [];
}

function lineCol(sf: ts.SourceFile, pos: number): { line: number; column: number } {
  const lc = sf.getLineAndCharacterOfPosition(pos);
  return { line: lc.line + 1, column: lc.character + 1 };
}

/**
 * A cell that is one object literal, `{ a: 1 }`, parses as a block; like Node's REPL we read it as an
 * expression when it starts with `{`, ends with `}` and parses cleanly inside parentheses.
 */
export function preferObjectLiteral(code: string): string {
  const t = code.trim();
  if (!t.startsWith("{") || !t.endsWith("}")) return code;
  const wrapped = `(${code})`;
  const sf = ts.createSourceFile("probe.ts", wrapped, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const diags = (sf as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  if (diags.length === 0 && sf.statements.length === 1 && ts.isExpressionStatement(sf.statements[0]!)) return wrapped;
  return code;
}

function transformUncached(code: string, fileName: string, guard: readonly string[]): TransformedCell {
  const declared: string[] = [];
  const bindings = new Set<string>();
  const sfForPos = ts.createSourceFile(fileName, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const assignments = topLevelAssignments(sfForPos);
  // the cell's own consts and imports, and those of earlier cells the session names in `guard`
  const readOnly = new Set([...guard, ...sfForPos.statements.flatMap((s) =>
    ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s) ||
      (ts.isVariableStatement(s) && (s.declarationList.flags & ts.NodeFlags.BlockScoped) === ts.NodeFlags.Const) ? declaredNames(s) : [])]);
  const guarded = new Map(assignments.filter((a) => readOnly.has(a.name)).map((a) => [`${a.pos}:${a.end}`, a.name]));
  let hasResult = false;
  const f = ts.factory;
  const helper = (method: string, args: ts.Expression[]): ts.Expression =>
    f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(HELPER), method), undefined, args);
  const declCall = (name: string, value: ts.Expression, kind: DeclKind): ts.Statement => {
    bindings.add(name);
    return f.createExpressionStatement(helper("decl", [f.createStringLiteral(name), value, f.createStringLiteral(kind)]));
  };

  const transformer: ts.TransformerFactory<ts.SourceFile> = (context) => {
    // import() and import.meta anywhere in the cell go through __mlxts.
    const visitDeep = (node: ts.Node): ts.Node => {
      const constName = guarded.size ? guarded.get(`${node.pos}:${node.end}`) : undefined;
      if (constName !== undefined && (ts.isBinaryExpression(node) || ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node))) {
        const args: ts.Expression[] = [f.createStringLiteral(constName)];
        if (ts.isBinaryExpression(node)) args.push(ts.visitNode(node.right, visitDeep) as ts.Expression); // evaluated before the throw, as in JS
        return ts.setTextRange(helper("constAssign", args), node);
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const args = node.arguments.map((a) => ts.visitNode(a, visitDeep) as ts.Expression);
        return ts.setTextRange(helper("import", args), node);
      }
      if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
        return ts.setTextRange(f.createPropertyAccessExpression(f.createIdentifier(HELPER), "importMeta"), node);
      }
      return ts.visitEachChild(node, visitDeep, context);
    };

    return (sf) => {
      const stmts = sf.statements;
      let lastRuntime = -1;
      stmts.forEach((s, i) => { if (!isTypeOnly(s)) lastRuntime = i; });
      const hoisted: ts.Statement[] = [];
      const out: ts.Statement[] = [];
      let importCounter = 0;

      stmts.forEach((original, i) => {
        declared.push(...declaredNames(original));
        const s = ts.visitNode(original, visitDeep) as ts.Statement;
        if (isTypeOnly(original)) return;

        if (ts.isImportDeclaration(s)) {
          const spec = s.moduleSpecifier;
          const load = f.createAwaitExpression(helper("import", [spec as ts.Expression]));
          const c = s.importClause;
          if (!c) { out.push(ts.setTextRange(f.createExpressionStatement(load), original)); return; }
          const tmp = f.createUniqueName(`__import${importCounter++}`);
          out.push(ts.setTextRange(f.createVariableStatement(undefined, f.createVariableDeclarationList(
            [f.createVariableDeclaration(tmp, undefined, undefined, load)], ts.NodeFlags.Const)), original));
          const props: ts.ObjectLiteralElementLike[] = [];
          for (const n of declaredNames(original)) bindings.add(n);
          if (c.name) props.push(f.createPropertyAssignment("default", f.createStringLiteral(c.name.text)));
          const nb = c.namedBindings;
          if (nb && ts.isNamespaceImport(nb)) props.push(f.createPropertyAssignment("namespace", f.createStringLiteral(nb.name.text)));
          if (nb && ts.isNamedImports(nb)) {
            const pairs = nb.elements.filter((e) => !e.isTypeOnly).map((e) => f.createArrayLiteralExpression([
              f.createStringLiteral((e.propertyName ?? e.name).text), f.createStringLiteral(e.name.text),
            ]));
            props.push(f.createPropertyAssignment("named", f.createArrayLiteralExpression(pairs)));
          }
          out.push(f.createExpressionStatement(helper("bindImport", [tmp, f.createObjectLiteralExpression(props)])));
          return;
        }
        if (ts.isImportEqualsDeclaration(s)) {
          if (s.isTypeOnly) return;
          const ref = s.moduleReference;
          const value = ts.isExternalModuleReference(ref)
            ? f.createCallExpression(f.createIdentifier("require"), undefined, [ref.expression])
            : (ref as ts.Expression);
          out.push(ts.setTextRange(declCall(s.name.text, value, "import"), original));
          return;
        }
        if (ts.isExportAssignment(s)) {
          const st = ts.setTextRange(f.createExpressionStatement(s.expression), original);
          pushMaybeResult(st, i);
          return;
        }
        if (ts.isVariableStatement(s)) {
          const list = s.declarationList;
          // Using (4) and AwaitUsing (Const|Using) share bits with Const, so compare the whole block-scope field.
          const scope = list.flags & ts.NodeFlags.BlockScoped;
          if (scope === ts.NodeFlags.Using || scope === ts.NodeFlags.AwaitUsing) { out.push(s); return; } // disposal is per cell: keep local
          const kind: DeclKind = scope === ts.NodeFlags.Const ? "const" : scope === ts.NodeFlags.Let ? "let" : "var";
          for (const d of list.declarations) {
            const local = f.createVariableStatement(undefined, f.createVariableDeclarationList([d],
              kind === "const" ? ts.NodeFlags.Const : ts.NodeFlags.Let));
            ts.setTextRange(local, d);
            const publish = boundNames(d.name).map((n) => declCall(n, f.createIdentifier(n), kind));
            out.push(f.createBlock([local, ...publish], false));
          }
          return;
        }
        if (ts.isFunctionDeclaration(s)) {
          const fn = f.updateFunctionDeclaration(s, withoutExportModifiers(s.modifiers), s.asteriskToken,
            s.name, s.typeParameters, s.parameters, s.type, s.body);
          out.push(fn);
          if (s.name) hoisted.push(declCall(s.name.text, f.createIdentifier(s.name.text), "function"));
          return;
        }
        if (ts.isClassDeclaration(s)) {
          if (!s.name) { // `export default class {}`: an expression
            const expr = f.createClassExpression(withoutExportModifiers(s.modifiers), undefined, s.typeParameters, s.heritageClauses, s.members);
            pushMaybeResult(ts.setTextRange(f.createExpressionStatement(expr), original), i);
            return;
          }
          const cls = f.updateClassDeclaration(s, withoutExportModifiers(s.modifiers), s.name, s.typeParameters, s.heritageClauses, s.members);
          out.push(f.createBlock([cls, declCall(s.name.text, f.createIdentifier(s.name.text), "class")], false));
          return;
        }
        if (ts.isEnumDeclaration(s)) {
          const en = f.updateEnumDeclaration(s, withoutExportModifiers(s.modifiers)?.filter((m) => m.kind !== ts.SyntaxKind.ConstKeyword), s.name, s.members);
          out.push(f.createBlock([en, declCall(s.name.text, f.createIdentifier(s.name.text), "enum")], false));
          return;
        }
        if (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name)) {
          const md = f.updateModuleDeclaration(s, withoutExportModifiers(s.modifiers), s.name, s.body);
          out.push(f.createBlock([md, declCall(s.name.text, f.createIdentifier(s.name.text), "const")], false));
          return;
        }
        pushMaybeResult(s, i);
      });

      function pushMaybeResult(s: ts.Statement, i: number): void {
        if (i === lastRuntime && ts.isExpressionStatement(s)) {
          hasResult = true;
          const obj = f.createObjectLiteralExpression([f.createPropertyAssignment("value", s.expression)]);
          out.push(ts.setTextRange(f.createReturnStatement(obj), s));
        } else out.push(s);
      }

      return f.updateSourceFile(sf, [...hoisted, ...out]);
    };
  };

  const r = ts.transpileModule(code, {
    compilerOptions,
    fileName,
    reportDiagnostics: true,
    transformers: { before: [transformer] },
  });
  const diagnostics: CellDiagnostic[] = (r.diagnostics ?? [])
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => ({
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      ...lineCol(sfForPos, d.start ?? 0),
    }));
  // moduleDetection "force" makes the emitter mark the file as a module with `export {};` (a script cannot have it)
  const body = r.outputText.replace(/\/\/# sourceMappingURL=.*\s*$/, "").replace(/^export \{\};\s*$/m, "");
  const map = JSON.parse(r.sourceMapText ?? '{"version":3,"sources":[],"names":[],"mappings":""}') as { mappings: string; sourcesContent?: string[] };
  // The wrapper head is exactly one line, so the map only shifts by one generated line.
  map.mappings = ";" + map.mappings;
  map.sourcesContent = [code];
  if (!diagnostics.length) diagnostics.push(...duplicateDeclarations(sfForPos));
  const declares = sfForPos.statements.some((s) => declaredNames(s).length > 0 || ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s));
  return { js: WRAP_HEAD + body + WRAP_TAIL, sourceMap: JSON.stringify(map), declared, bindings: [...bindings],
    assigned: [...new Set(assignments.map((a) => a.name))], hasResult, declares, diagnostics };
}

// Re-running a cell is the common case in a notebook, and transpileModule builds a program and a type
// checker each time (about 1 ms and 440 KB of garbage for `1+1`). The output depends only on the text,
// so the last few hundred distinct cells are kept; the file name only labels the source map.
const cache = new Lru<string, TransformedCell>(256);
const CACHE_MAX_CHARS = 64 * 1024;

/** A cell of plain expression statements, copied rather than transpiled (plain-cell.ts); else undefined. */
function transformPlain(code: string, fileName: string): TransformedCell | undefined {
  const p = plainCell(code, fileName);
  if (!p) return undefined;
  return { js: WRAP_HEAD + p.js + WRAP_TAIL, sourceMap: p.sourceMap, declared: [], bindings: [], assigned: p.assigned, hasResult: true, declares: false, diagnostics: [] };
}

/** The transform through TypeScript's transpiler, for any cell (tests compare it with the plain copy). */
export function transpileCell(code: string, fileName: string, guard: readonly string[] = []): TransformedCell {
  return transformUncached(code, fileName, guard);
}

/** `guard`: top-level names of earlier cells that are const (assigning them must throw). */
export function transformCell(code: string, fileName: string, guard: readonly string[] = []): TransformedCell {
  const key = guard.length ? `${code}\u0000${guard.join(",")}` : code;
  // with a guard, assignments are rewritten: only the full transform does that
  const make = (): TransformedCell => (guard.length ? undefined : transformPlain(code, fileName)) ?? transformUncached(code, fileName, guard);
  const t = cache.get(key, make, code.length <= CACHE_MAX_CHARS);
  return { ...t, declared: [...t.declared], bindings: [...t.bindings], assigned: [...t.assigned], diagnostics: [...t.diagnostics] };
}

/**
 * The script that declares a transformed cell's new top-level names, to run in the context just before
 * the cell (undefined when it declares none). Top-level names live as script-scope `let`s of the context
 * (V8 keeps those in the script context table that every later script of the context reads directly),
 * not as properties of the contextified global object, whose every access goes through Node's
 * interceptors (a loop over a cell-level variable ran ~1000x slower). A script-scope name can be declared
 * once per context, so only names not yet `known` get a `let`; redeclaring a known name in a later cell is
 * an assignment to the same binding, so closures of earlier cells see it. Declared from a script of their
 * own, the cell reaches even its new names through the global lookup that later cells use (declared in
 * the cell's own script, 10M increments ran about 1.4x slower: 109 vs 76 ms median of 15 in plain node:vm).
 * `__mlxts.expose` gives the kernel (completion, inspect, magics) a live accessor on the global object.
 */
export function bindingScript(t: TransformedCell, known: (name: string) => boolean): string | undefined {
  const fresh = t.bindings.filter((n) => !known(n));
  if (!fresh.length) return undefined;
  return `let ${fresh.join(", ")};\n` + fresh.map((n) => {
    const v = n === `${HELPER}_v` ? `${HELPER}_w` : `${HELPER}_v`; // the setter's parameter must not shadow the name
    return `${HELPER}.expose("${n}", () => ${n}, (${v}) => { ${n} = ${v}; });`;
  }).join("\n");
}

/**
 * Top-level names a cell declares twice where TypeScript forbids it (`const dup = 1; const dup = 2`):
 * the transform publishes each declaration separately, so the duplicate would otherwise pass silently.
 * Functions, vars, enums, namespaces and interfaces may repeat (overloads, merging), unless a let, const,
 * class or import has the name (types live in their own space and are left to the type checker).
 */
export function duplicateDeclarations(sf: ts.SourceFile): CellDiagnostic[] {
  type Kind = "block" | "merge";
  const seen = new Map<string, Kind>();
  const out: CellDiagnostic[] = [];
  const note = (id: ts.Node, name: string, kind: Kind): void => {
    const prev = seen.get(name);
    if (prev && (prev === "block" || kind === "block")) {
      out.push({
        message: kind === "block" && prev === "block"
          ? `Cannot redeclare block-scoped variable '${name}'.`
          : `Duplicate identifier '${name}'.`,
        ...lineCol(sf, id.getStart(sf)),
      });
      return;
    }
    if (!prev || kind === "block") seen.set(name, kind);
  };
  const bindingIds = (name: ts.BindingName): ts.Identifier[] => ts.isIdentifier(name) ? [name]
    : name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingIds(e.name)));
  for (const s of sf.statements) {
    if (ts.isVariableStatement(s)) {
      const scope = s.declarationList.flags & ts.NodeFlags.BlockScoped;
      for (const d of s.declarationList.declarations) for (const id of bindingIds(d.name)) note(id, id.text, scope ? "block" : "merge");
    } else if (ts.isClassDeclaration(s) && s.name) note(s.name, s.name.text, "block");
    else if ((ts.isFunctionDeclaration(s) || ts.isEnumDeclaration(s)) && s.name) note(s.name, s.name.text, "merge");
    else if (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name)) note(s.name, s.name.text, "merge");
    else if (ts.isImportEqualsDeclaration(s)) note(s.name, s.name.text, "block");
    else if (ts.isImportDeclaration(s) && s.importClause) {
      const c = s.importClause;
      const ids: ts.Identifier[] = [];
      if (c.name) ids.push(c.name);
      const nb = c.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) ids.push(nb.name);
      if (nb && ts.isNamedImports(nb)) ids.push(...nb.elements.map((e) => e.name));
      for (const id of ids) note(id, id.text, "block");
    }
  }
  return out;
}
