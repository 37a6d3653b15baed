// The session's TypeScript language service completes `mx.` and shows JSDoc on inspect when the cell
// globals declare `mx` with the type of kernel/mx's export. This runs the real TypeScript compiler
// over kernel/mx the way kernel/session/language-service.ts does (Bundler resolution, .js -> .ts).
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = process.cwd();
const globalsFile = join(root, "__mx_types_globals__.d.ts");
const cellFile = join(root, "__mx_types_cell__.ts");
const globalsText = `declare var mx: import("${join(root, "kernel", "mx", "index.js").replace(/\\/g, "/")}").Mx;`;

function service(cell: string): ts.LanguageService {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    moduleDetection: ts.ModuleDetectionKind.Force, lib: ["lib.es2023.d.ts"], types: ["node"],
    typeRoots: [join(root, "node_modules", "@types")], strict: true, skipLibCheck: true, noEmit: true, allowImportingTsExtensions: true,
  };
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => options,
    getScriptFileNames: () => [globalsFile, cellFile],
    getScriptVersion: () => "1",
    getScriptSnapshot: (f) => {
      if (f === cellFile) return ts.ScriptSnapshot.fromString(cell);
      if (f === globalsFile) return ts.ScriptSnapshot.fromString(globalsText);
      const text = ts.sys.readFile(f);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => root,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => f === cellFile || f === globalsFile || ts.sys.fileExists(f),
    readFile: (f) => (f === cellFile ? cell : f === globalsFile ? globalsText : ts.sys.readFile(f)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

describe("mx types for the cell language service", () => {
  it("completes mx. with the namespace's functions and MxArray methods", () => {
    const cell = "const a = mx.zeros([2, 2]);\nmx.";
    const names = service(cell).getCompletionsAtPosition(cellFile, cell.length, {})?.entries.map((e) => e.name) ?? [];
    for (const n of ["array", "matmul", "softmax", "random", "fast", "asyncEval", "memory", "float32", "bfloat16"]) expect(names).toContain(n);
    const cell2 = "const a = mx.zeros([2, 2]);\na.";
    const methods = service(cell2).getCompletionsAtPosition(cellFile, cell2.length, {})?.entries.map((e) => e.name) ?? [];
    for (const n of ["shape", "dtype", "index", "sum", "tolist", "toTypedArray", "astype"]) expect(methods).toContain(n);
  });

  it("shows JSDoc and signatures on inspect, and type-checks cells", () => {
    const cell = "const r = mx.random.normal([4, 4]);\nconst y = mx.matmul(r, r).sum(0);\nconst n: number = y.shape[0]!;\n";
    const ls = service(cell);
    const info = ls.getQuickInfoAtPosition(cellFile, cell.indexOf("matmul") + 2);
    expect(ts.displayPartsToString(info?.documentation)).toMatch(/Matrix product/);
    expect(ts.displayPartsToString(info?.displayParts)).toMatch(/MxArray/);
    const diags = ls.getSemanticDiagnostics(cellFile).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diags).toEqual([]);
    const bad = service("mx.zeros([2], 'float128');");
    expect(bad.getSemanticDiagnostics(cellFile).length).toBeGreaterThan(0);
  });
});
