// Type-aware completion and inspect. A TypeScript LanguageService sees one virtual module: the
// declarations of all earlier cells (a later declaration of a name replaces the earlier one, as at run
// time), then the current cell. Globals (display, session, mx, ...) come from an ambient file built from
// globals.d.ts, Node's types from @types/node. Only the cell file changes between calls, so the program is
// rebuilt incrementally.
import { existsSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { fastDiagnostics, type CheckBase } from "./fast-check.js";
import { blankMagicLines } from "./is-complete.js";
import { declaredNames, isTypeOnly, preferObjectLiteral } from "./transform.js";

interface KeptStatement { names: string[]; text: string }

export interface Completion { name: string; kind: string; sortText: string }

/** A type error in the cell: TS code, message, 1-based line and column in the cell. */
export interface TypeDiagnostic { code: number; message: string; line: number; column: number }

// Not reported before a cell runs: a missing module, which the module loader says better at run time
// (with the npm install to run), and the 7xxx family: implicit any (untyped npm packages, a quick
// `function f(x)`), unused labels, unreachable code, none of which is an error in a notebook. noImplicitAny
// itself stays on: without it `const rows = []` is a never[] that nothing can be pushed to.
const notBeforeRun = (code: number): boolean => code === 2307 || code === 2792 || (code >= 7000 && code < 8000);

export interface QuickInfo { signature: string; documentation: string; tags: string[]; start: number; length: number }

export class CellLanguageService {
  private readonly cellFile: string;
  private readonly globalsFile: string;
  private readonly globalsText: string;
  private kept: KeptStatement[] = [];
  private text = "";
  private version = 0;
  private prefixLength = 0;
  private readonly service: ts.LanguageService;
  private readonly options: ts.CompilerOptions;
  /** the program and checker of the last full check, which checks new texts quickly (fast-check.ts) */
  private base: CheckBase | undefined;
  private readonly fast: boolean;
  private checked: { text: string; diagnostics: readonly ts.Diagnostic[] } | undefined;
  private quick = 0;

  constructor(cwd: string, private readonly root: string, opts: { fastCheck?: boolean } = {}) {
    this.fast = opts.fastCheck ?? true;
    this.cellFile = join(cwd, "__mlx_ts_cells__.ts");
    this.globalsFile = join(cwd, "__mlx_ts_globals__.d.ts");
    const globalsModule = join(root, "kernel", "session", "globals.js").replace(/\\/g, "/");
    const engineTypes = join(root, "kernel", "engine", "types.js").replace(/\\/g, "/");
    this.globalsText = existsSync(join(root, "kernel", "session", "globals.d.ts"))
      ? [
        `declare var display: import("${globalsModule}").CellDisplay;`,
        `declare var session: import("${globalsModule}").CellSession;`,
        ...["lastGeneration", "chatHistory", "lastQuantize", "lastBench", "lastFinetune", "lastFuse"].map((k) => `declare var ${k}: import("${globalsModule}").CellMagicResults["${k}"];`),
        existsSync(join(root, "kernel", "mx", "index.ts"))
          ? `declare var mx: typeof import("${join(root, "kernel", "mx", "index.js").replace(/\\/g, "/")}").mx;`
          : `declare var mx: any;`,
        `/** Clears the cell's output; with wait, when the next output arrives. */`,
        `declare function clearOutput(opts?: { wait?: boolean }): void;`,
        `/** Asks the front end for a line of input. */`,
        `declare function input(prompt?: string, opts?: { password?: boolean }): Promise<string>;`,
        `/** Asks the front end for a line of input (async, unlike the browser's). */`,
        `declare function prompt(message?: string): Promise<string>;`,
        // set by magics, so cells that read them pass the type check
        `/** The result of the last %%generate or %%chat. */`,
        `declare var lastGeneration: import("${engineTypes}").GenerationResult;`,
        `/** The %%chat conversation so far. */`,
        `declare var chatHistory: import("${engineTypes}").ChatMessage[];`,
        `/** Rows of the last %bench. */ declare var lastBench: any;`,
        `/** Report of the last %profile. */ declare var lastProfile: any;`,
        `/** Samples of the last %memtrace. */ declare var lastMemtrace: any;`,
        `/** Summary of the last %quantize. */ declare var lastQuantize: any;`,
      ].join("\n")
      : "declare var display: any; declare var session: any; declare var mx: any;";
    this.options = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      moduleDetection: ts.ModuleDetectionKind.Force,
      lib: ["lib.es2023.d.ts"],
      types: ["node"],
      typeRoots: [join(root, "node_modules", "@types")],
      strict: true,
      allowJs: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      allowImportingTsExtensions: true,
    };
    const snapshots = new Map<string, { mtime: number; snap: ts.IScriptSnapshot }>();
    // Without a resolution cache the program reads every package.json above every file again for each
    // new cell text (about 40 ms of a `1+1` cell's type check); the files do not change during a session.
    const resolutionCache = ts.createModuleResolutionCache(cwd, (f) => f, this.options);
    const resolveFrom = (name: string, containing: string, options: ts.CompilerOptions): ts.ResolvedModuleFull | undefined =>
      ts.resolveModuleName(name, containing, options, ts.sys, resolutionCache).resolvedModule;
    // getModuleResolutionCache is read by the language service but declared only on CompilerHost
    const host: ts.LanguageServiceHost & Pick<ts.CompilerHost, "getModuleResolutionCache"> = {
      getModuleResolutionCache: () => resolutionCache,
      getCompilationSettings: () => this.options,
      getScriptFileNames: () => [this.globalsFile, this.cellFile],
      getScriptVersion: (f) => (f === this.cellFile ? String(this.version) : "0"),
      getScriptSnapshot: (f) => {
        if (f === this.cellFile) return ts.ScriptSnapshot.fromString(this.text);
        if (f === this.globalsFile) return ts.ScriptSnapshot.fromString(this.globalsText);
        const cached = snapshots.get(f);
        if (cached) return cached.snap;
        const content = ts.sys.readFile(f);
        if (content === undefined) return undefined;
        const snap = ts.ScriptSnapshot.fromString(content);
        snapshots.set(f, { mtime: 0, snap });
        return snap;
      },
      getCurrentDirectory: () => cwd,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => f === this.cellFile || f === this.globalsFile || ts.sys.fileExists(f),
      readFile: (f) => (f === this.cellFile ? this.text : f === this.globalsFile ? this.globalsText : ts.sys.readFile(f)),
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
      // the notebook's folder first, then this repository's node_modules (what cells can import at run time)
      resolveModuleNames: (names, containing, _reused, _redirect, options) => names.map((n) =>
        resolveFrom(n, containing, options) ??
        (containing === this.cellFile ? resolveFrom(n, join(this.root, "__cell__.ts"), options) : undefined)),
    };
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry());
  }

  /** how many texts were checked with the last full check's checker (fast-check.ts) */
  get fastChecks(): number {
    return this.quick;
  }

  /** Keeps the declarations of a cell that ran, for later cells' completions. */
  addCell(code: string): void {
    const sf = ts.createSourceFile("cell.ts", blankMagicLines(code), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    for (const s of sf.statements) {
      const names = declaredNames(s);
      const isImport = ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s);
      if (!names.length && !isImport) continue;
      if (!isImport && !names.length && !isTypeOnly(s)) continue;
      // strip `export` so the virtual module's own exports do not matter
      const text = s.getFullText(sf).replace(/^(\s*(?:\/\*[\s\S]*?\*\/|\/\/[^\n]*\n|\s)*)export\s+(default\s+)?/, "$1");
      if (names.length) this.kept = this.kept.filter((k) => !k.names.some((n) => names.includes(n)));
      this.kept.push({ names, text });
    }
  }

  private setCurrent(code: string): void {
    const current = blankMagicLines(code);
    const sf = ts.createSourceFile("cell.ts", current, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
    const redeclared = new Set(sf.statements.flatMap(declaredNames));
    // the `;` ends the last kept statement even when the cell starts with `[`, `(` or a template
    const prefix = this.kept.filter((k) => !k.names.some((n) => redeclared.has(n))).map((k) => k.text).join("\n") + "\n;\n";
    this.prefixLength = prefix.length;
    const text = prefix + current;
    // the same text keeps the same program, so a re-run cell's check (and a repeated Tab) costs nothing
    if (text === this.text) return;
    this.text = text;
    this.version++;
  }

  /** Completions at a UTF-16 offset of `code`. */
  complete(code: string, offset: number): Completion[] {
    this.setCurrent(code);
    const r = this.service.getCompletionsAtPosition(this.cellFile, this.prefixLength + offset, {
      includeCompletionsWithInsertText: true,
      includeCompletionsForModuleExports: false,
    });
    if (!r) return [];
    return r.entries.map((e) => ({ name: e.name, kind: e.kind, sortText: e.sortText }));
  }

  /** Quick info (signature and JSDoc) at a UTF-16 offset of `code`; start is relative to `code`. */
  quickInfo(code: string, offset: number): QuickInfo | undefined {
    this.setCurrent(code);
    const pos = this.prefixLength + offset;
    const info = this.service.getQuickInfoAtPosition(this.cellFile, pos) ??
      (offset > 0 ? this.service.getQuickInfoAtPosition(this.cellFile, pos - 1) : undefined);
    if (!info) return undefined;
    return {
      signature: ts.displayPartsToString(info.displayParts),
      documentation: ts.displayPartsToString(info.documentation),
      tags: (info.tags ?? []).map((t) => `@${t.name}${t.text ? " " + ts.displayPartsToString(t.text) : ""}`),
      start: info.textSpan.start - this.prefixLength,
      length: info.textSpan.length,
    };
  }

  /**
   * The cell's type errors, seen after the declarations of earlier cells (those the cell redeclares
   * left out, as at run time). Magic lines are blanked first, so positions are the cell's own.
   */
  diagnostics(code: string): TypeDiagnostic[] {
    const blanked = blankMagicLines(code);
    const asObject = preferObjectLiteral(blanked);
    const shift = asObject === blanked ? 0 : 1; // preferObjectLiteral wraps in parentheses
    this.setCurrent(asObject);
    const out: TypeDiagnostic[] = [];
    for (const d of this.semanticDiagnostics()) {
      if (d.category !== ts.DiagnosticCategory.Error || d.start === undefined || d.start < this.prefixLength) continue;
      if (notBeforeRun(d.code)) continue;
      const at = Math.min(Math.max(0, d.start - this.prefixLength - shift), code.length);
      const before = blanked.slice(0, at);
      const line = before.split("\n").length;
      const column = at - (before.lastIndexOf("\n") + 1) + 1;
      out.push({ code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, "\n"), line, column });
    }
    return out;
  }

  private semanticDiagnostics(): readonly ts.Diagnostic[] {
    if (this.checked?.text === this.text) return this.checked.diagnostics;
    let diagnostics = this.fast ? fastDiagnostics(this.base, this.text) : undefined;
    if (diagnostics) this.quick++;
    else {
      diagnostics = this.service.getSemanticDiagnostics(this.cellFile);
      this.keepBase();
    }
    this.checked = { text: this.text, diagnostics };
    return diagnostics;
  }

  private keepBase(): void {
    const program = this.service.getProgram();
    const cell = program?.getSourceFile(this.cellFile);
    if (program && cell) this.base = { program, checker: program.getTypeChecker(), cell, uses: 0 };
  }

  /** Parses the standard library and @types/node once, so the first completion a user asks for is quick. */
  warm(): void {
    this.complete("", 0);
    if (this.fast) this.keepBase();
  }
}
