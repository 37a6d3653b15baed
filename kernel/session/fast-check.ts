// A new cell text checked with the checker of the last full check. TypeScript builds a new program and a
// new checker for every changed file, and the new checker merges the globals of the standard library and
// @types/node again (about 4-6 ms of CPU and a few MB of garbage per new `1+1` cell on our 2-core box,
// bench/cell-loop.mjs); binding the new text as a file of that program's shape and asking the old
// checker takes well under a millisecond. It uses three TypeScript internals (bindSourceFile,
// checker.getDiagnostics, program.getResolvedModule); where one is missing, or the text needs what only a
// new program gives (module augmentation, new imports, directives), the caller does the full check.
import ts from "typescript";

export interface CheckBase {
  program: ts.Program;
  checker: ts.TypeChecker;
  cell: ts.SourceFile;
  /** fast checks made on this base; it is retired after REFRESH_AFTER, since the checker keeps what each saw */
  uses: number;
}

/** After this many fast checks the next one is a full check, so the old checker's caches are let go. */
export const REFRESH_AFTER = 64;

type Bind = (file: ts.SourceFile, options: ts.CompilerOptions) => void;
type GetDiagnostics = (file: ts.SourceFile) => readonly ts.Diagnostic[];
type GetResolvedModule = (file: ts.SourceFile, name: string, mode: ts.ResolutionMode) => unknown;
interface Paths { path: string; resolvedPath: string; originalFileName: string }

const bindSourceFile = (ts as unknown as { bindSourceFile?: Bind }).bindSourceFile;

// Texts that change what the program is, not only what one file says: these get a full check.
const NEEDS_PROGRAM = /@ts-|\bdeclare\s+(?:global|module|namespace)\b|\/\/\/\s*<reference|\bexport\s*=/;

let serial = 0;

/** The module names `sf` imports or exports from, and where (for the resolution mode). */
function moduleSpecifiers(sf: ts.SourceFile, text: string): ts.StringLiteralLike[] {
  const out: ts.StringLiteralLike[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteralLike(n.moduleSpecifier)) out.push(n.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteralLike(n.moduleReference.expression)) out.push(n.moduleReference.expression);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteralLike(n.argument.literal)) out.push(n.argument.literal);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0])) out.push(n.arguments[0]);
    if (deep) ts.forEachChild(n, visit);
  };
  // import() types and calls can sit anywhere; declarations only at the top
  const deep = text.includes("import(") || text.includes("import (");
  for (const s of sf.statements) visit(s);
  return out;
}

/**
 * The semantic diagnostics of `text` (the whole virtual cell file) from `base`'s checker, or undefined
 * when only a full check can say.
 */
export function fastDiagnostics(base: CheckBase | undefined, text: string): readonly ts.Diagnostic[] | undefined {
  if (!base || !bindSourceFile || base.uses >= REFRESH_AFTER || NEEDS_PROGRAM.test(text)) return undefined;
  const getDiagnostics = (base.checker as unknown as { getDiagnostics?: GetDiagnostics }).getDiagnostics;
  const getResolvedModule = (base.program as unknown as { getResolvedModule?: GetResolvedModule }).getResolvedModule;
  if (!getDiagnostics || !getResolvedModule) return undefined;
  const options = base.program.getCompilerOptions();
  // a unique file name keeps this check's diagnostics apart in the checker; the program's path makes the
  // checker find the program's module resolutions for it
  const sf = ts.createSourceFile(`${base.cell.fileName}#${++serial}`, text, {
    languageVersion: base.cell.languageVersion,
    impliedNodeFormat: base.cell.impliedNodeFormat,
    setExternalModuleIndicator: (f) => { (f as unknown as { externalModuleIndicator: unknown }).externalModuleIndicator = true; },
  }, true, ts.ScriptKind.TS);
  const from = base.cell as unknown as Paths;
  Object.assign(sf as unknown as Paths, { path: from.path, resolvedPath: from.resolvedPath, originalFileName: from.originalFileName });
  for (const spec of moduleSpecifiers(sf, text)) {
    const mode = ts.getModeForUsageLocation(sf, spec, options);
    if (getResolvedModule.call(base.program, base.cell, spec.text, mode) === undefined) return undefined;
  }
  bindSourceFile(sf, options);
  base.uses++;
  const bind = (sf as unknown as { bindDiagnostics?: ts.Diagnostic[] }).bindDiagnostics ?? [];
  return [...bind, ...getDiagnostics.call(base.checker, sf)];
}
