// The Session: runs cells in one persistent vm context and answers completion, inspect, is_complete and
// history for any front end. Front ends only see SessionApi and give an OutputSink per execution.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";
import { createDisplay, isDisplayHandle, type DisplayFunction } from "../display/display.js";
import { createEngine, type Engine } from "../engine/index.js";
import { plainText, toMimeBundle } from "../display/mime.js";
import { closeMagicNames, findMagic, listMagics, magicAt, type MagicContext } from "../magics/index.js";
import { mx } from "../mx/index.js";
import { cellStorage, type CellState } from "./cell-state.js";
import { splitCell, type Segment } from "./cell-parse.js";
import { codePointToUtf16, utf16ToCodePoint } from "./code-points.js";
import { createCellContext, defineGlobal, type CellContext } from "./context.js";
import { defaultHistoryFile, HistoryStore } from "./history.js";
import { InterruptError, isVmInterrupt, processInterrupter, type Interrupter } from "./interrupt.js";
import { startInterruptWorker } from "./interrupt-workers.js";
import { isComplete } from "./is-complete.js";
import { isLiteralArithmetic } from "./literal-arithmetic.js";
import type { TypeDiagnostic } from "./language-service.js";
import { LanguageServiceClient } from "./ls-client.js";
import { repoRoot } from "../util/repo-root.js";
import { singleStops } from "../util/sentences.js";
import { CellModules } from "./modules.js";
import { cellSession } from "./session-global.js";
import { Lru } from "./lru.js";
import { CellScripts, reportError, syntaxErrorReport, type ErrorReport } from "./tracebacks.js";
import { typeErrorReport, type TypecheckMode } from "./typecheck-report.js";
import { bindingScript, preferObjectLiteral, transformCell } from "./transform.js";
import type {
  CompleteReply, ExecuteOutcome, ExecuteRequest, HistoryEntry, HistoryQuery, InspectReply, IsCompleteReply, MimeBundle, OutputSink, SessionApi,
} from "./types.js";

export interface SessionOptions {
  /** the engine cells, magics and the interrupt share; default: createEngine() (its addon loads on first use) */
  engine?: Engine;
  /** JSON-lines history; default ~/.local/share/mlx-ts/history.jsonl */
  historyFile?: string;
  /** folder cells resolve relative imports and node_modules from; default process.cwd() */
  cwd?: string;
  /** take SIGINT (through the process's interrupter, which also breaks synchronous loops); default true */
  handleSigint?: boolean;
  /** report unhandled rejections / uncaught exceptions to the cell instead of dying; default true */
  catchProcessErrors?: boolean;
  /** parse the standard library and @types/node once no cell has run for a second, so the first Tab is quick; default true */
  warmLanguageService?: boolean;
}

/** how long an interrupted cell waits for its cancelled generations to end before it replies */
const SETTLE_AFTER_INTERRUPT_MS = 30_000;

const ID_CHAR = /[\p{ID_Continue}$\u200c\u200d]/u;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Done = { value: unknown } | undefined;

export class Session implements SessionApi {
  private count = 0;
  private scriptId = 0;
  private readonly cells: CellContext;
  private readonly scripts = new CellScripts();
  /**
   * Compiled cell scripts by their JavaScript: a re-run cell skips V8's compile (about a tenth of a ms),
   * which a fresh filename per run would defeat. Its frames keep the first run's filename, which
   * `scripts` then labels with the latest run's count.
   */
  private readonly compiled = new Lru<string, { script: vm.Script; file: string }>(256);
  private readonly historyStore: HistoryStore;
  private readonly modules: CellModules;
  private readonly ls: LanguageServiceClient;
  private readonly engine: Engine;
  private readonly displayFn: DisplayFunction;
  private running: RunningCell | undefined;
  /** execute() calls not yet running, and whether an interrupt arrived for them (see interrupt()) */
  private starting = 0;
  private interruptStarting = false;
  private last: CellState | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** the process's interrupter while this session is armed with it */
  private interrupter: Interrupter | undefined;
  private readonly cleanups: (() => void)[] = [];
  /** %typecheck: on (type errors stop the cell), warn (printed, cell runs), off */
  private typecheckMode: TypecheckMode = "on";
  private readonly warmLs: boolean;

  constructor(opts: SessionOptions = {}) {
    const cwd = opts.cwd ?? process.cwd();
    const root = repoRoot();
    this.historyStore = new HistoryStore(opts.historyFile ?? defaultHistoryFile());
    this.modules = new CellModules(cwd, root);
    this.ls = new LanguageServiceClient(cwd, root);
    this.engine = opts.engine ?? createEngine();
    this.cells = createCellContext({
      report: (err, st) => this.reportBackground(err, st),
      import: (spec) => this.modules.import(spec),
      require: this.modules.require,
      importMetaUrl: pathToFileURL(join(cwd, "cell.ts")).href,
    });
    cellStorage.setFallback(() => this.running ?? this.last);
    const currentState = (): CellState | undefined => cellStorage.getStore();
    this.displayFn = createDisplay(
      () => currentState()?.sink ?? consoleSink,
      (p) => {
        const st = currentState();
        if (!st) return;
        st.pending.add(p);
        void p.finally(() => st.pending.delete(p)).catch(() => undefined);
      },
    );
    defineGlobal(this.cells, "display", this.displayFn);
    defineGlobal(this.cells, "clearOutput", (o?: { wait?: boolean }) => (currentState()?.sink ?? consoleSink).clearOutput(o?.wait ?? false));
    const input = (prompt?: string, o?: { password?: boolean }): Promise<string> =>
      (currentState()?.sink ?? consoleSink).input(prompt ?? "", o?.password ?? false);
    defineGlobal(this.cells, "input", input);
    defineGlobal(this.cells, "prompt", (message?: string) => input(message));
    defineGlobal(this.cells, "session", cellSession(this.engine, () => this.count));
    // mx loads its addon when an op first runs, so plain cells work without it
    defineGlobal(this.cells, "mx", mx);

    if (opts.handleSigint ?? true) {
      const interrupter = processInterrupter();
      this.cleanups.push(interrupter.subscribe(() => this.interrupt()));
      try {
        interrupter.arm(startInterruptWorker);
        this.interrupter = interrupter;
      } catch {
        // no worker threads or inspector: SIGINT still stops awaits, but not synchronous loops
      }
    }
    // seconds of parsing (lib, @types/node) on first use; it runs in the language-service worker, in a pause
    // between cells (see warmWhenIdle)
    this.warmLs = opts.warmLanguageService ?? true;
    if (this.warmLs) this.ls.warmWhenIdle();
    if (opts.catchProcessErrors ?? true) {
      const onRejection = (reason: unknown): void => this.reportBackground(reason, this.running ?? this.last);
      const onException = (err: unknown): void => this.reportBackground(err, this.running ?? this.last);
      process.on("unhandledRejection", onRejection);
      process.on("uncaughtException", onException);
      this.cleanups.push(() => {
        process.off("unhandledRejection", onRejection);
        process.off("uncaughtException", onException);
      });
    }
  }

  get executionCount(): number {
    return this.count;
  }

  /** The context's global object (variables of cells), for front ends and tests. */
  get globals(): Record<string, unknown> {
    return this.cells.global;
  }

  execute(req: ExecuteRequest, sink: OutputSink): Promise<ExecuteOutcome> {
    this.starting++;
    const run = this.queue.then(() => this.executeNow(req, sink));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async executeNow(req: ExecuteRequest, sink: OutputSink): Promise<ExecuteOutcome> {
    const counted = req.storeHistory && !req.silent;
    if (counted) {
      this.count++;
      this.historyStore.append(this.count, req.code);
    }
    const executionCount = this.count;
    let reject!: (e: unknown) => void;
    const interrupted = new Promise<never>((_, r) => { reject = r; });
    interrupted.catch(() => undefined);
    const state: RunningCell = {
      sink, label: counted ? String(executionCount) : "*", executionCount, controller: new AbortController(), pending: new Set(),
      interrupted, reject,
    };
    this.last = state;
    this.running = state;
    this.starting--;
    if (this.warmLs) this.ls.warmWhenIdle();
    // A running cell keeps the process alive. Without it a REPL, whose input is paused while a cell runs,
    // exits when the cell waits on nothing Node counts: an await that never settles, or a start the
    // terminator stopped whose SIGINT message (on an unref'd worker port) is not handled yet.
    const alive = setInterval(() => undefined, 1 << 30);
    // Stop pressed between the request arriving and the cell starting: it applies to this cell.
    if (this.interruptStarting) {
      this.interruptStarting = false;
      this.interrupt();
    }
    let result: MimeBundle | undefined;
    try {
      let value: Done;
      const segments = splitCell(req.code);
      // the check runs in the language-service worker while this thread prepares the cell; nothing of the
      // cell runs before it has passed
      const checked = this.typecheck(req.code, segments, state);
      checked.catch(() => undefined);
      for (const seg of segments) value = await this.runSegment(seg, state, checked);
      if (value && value.value !== undefined && !req.silent && !isDisplayHandle(value.value)) result = await toMimeBundle(value.value);
      await Promise.allSettled([...state.pending]);
      return { status: "ok", executionCount, ...(result ? { result } : {}), payload: [] };
    } catch (err) {
      await Promise.allSettled([...state.pending]);
      if (err instanceof InterruptError || isVmInterrupt(err)) {
        // No "waiting" line: it would stay under the output after the stop; the generation's own display
        // ends with the line that says it was interrupted.
        if (this.engine.activeGenerations > 0) await this.engine.settle(SETTLE_AFTER_INTERRUPT_MS);
        // The magic that ran it draws its last state once the stream has ended (which may be just before
        // this check): let it, so the final render comes before the reply and is not printed after it.
        for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
      }
      const rep = this.describe(err);
      return { status: "error", executionCount, ename: rep.ename, evalue: rep.evalue, traceback: rep.traceback };
    } finally {
      clearInterval(alive);
      if (this.warmLs) this.ls.warmWhenIdle();
      this.running = undefined;
      this.interrupter?.setCellRunning(false);
    }
  }

  /**
   * Type-checks a TypeScript cell, as tslab does, after the declarations of earlier cells; settles before
   * any of the cell runs (runSegment awaits it). `%%` cells and magic lines are not TypeScript; a cell that
   * sets %typecheck is not checked; a syntax error is left for the transform to report.
   */
  private async typecheck(code: string, segments: Segment[], state: RunningCell): Promise<void> {
    const mode = this.typecheckMode;
    if (mode === "off" || segments[0]?.kind === "cell" || !segments.some((s) => s.kind === "code")) return;
    if (segments.some((s) => s.kind === "line" && s.name === "typecheck")) return;
    const only = segments.length === 1 ? segments[0] : undefined;
    if (only?.kind === "code" && only.code === code && isLiteralArithmetic(code)) return; // nothing for the checker to find
    // asked first, so the worker checks while the transform below (and the cell's compile) runs here
    const asked = this.ls.diagnostics(code);
    asked.catch(() => undefined);
    if (segments.some((s) => s.kind === "code" && transformCell(preferObjectLiteral(s.code), "check.ts").diagnostics.length)) return;
    let diags: TypeDiagnostic[];
    try {
      diags = await Promise.race([asked, state.interrupted]);
    } catch (e) {
      if (e instanceof InterruptError) throw e;
      state.sink.stream("stderr", singleStops(`Type check skipped: ${(e as Error).message}. The cell runs unchecked.\n`));
      return;
    }
    if (!diags.length) return;
    const rep = typeErrorReport(state.label, code, diags, mode);
    if (mode === "on") throw new SyntaxReport(rep);
    state.sink.stream("stderr", rep.traceback.join("\n") + "\n");
  }

  private describe(err: unknown): ErrorReport {
    if (err instanceof SyntaxReport) return err.report;
    if (isVmInterrupt(err)) err = new InterruptError();
    const rep = reportError(err, this.scripts);
    // assigning to a cell's const is a TypeError on the global object; say it the way TypeScript users expect
    const m = /^Cannot assign to read only property '(.+)' of object '\[object Object\]'$/.exec(rep.evalue);
    if (m && Object.getOwnPropertyDescriptor(this.cells.global, m[1]!)?.writable === false) {
      rep.evalue = `Assignment to constant variable '${m[1]}' (declared with const or imported in a cell). Declare it again with let to change it.`;
      rep.traceback[0] = `\u001b[31m${rep.ename}\u001b[0m: ${rep.evalue}`;
    }
    return rep;
  }

  private async runSegment(seg: Segment, state: RunningCell, checked: Promise<void>): Promise<Done> {
    if (seg.kind !== "code") {
      await checked;
      return this.runMagic(seg, state);
    }
    return this.runCode(seg.code, state, checked);
  }

  /**
   * Transforms and runs TypeScript in the cells' context as part of the cell `state`; `checked` (the
   * cell's type check) is awaited once the script is compiled, before anything of it runs.
   */
  private async runCode(source: string, state: RunningCell, checked?: Promise<void>): Promise<Done> {
    const seg = { code: source };
    const code = preferObjectLiteral(seg.code);
    const id = ++this.scriptId;
    let t = transformCell(code, `cell-${id}.ts`);
    const guard = t.assigned.filter((n) => !t.declared.includes(n) && ["const", "import"].includes(this.cells.bindingKind(n) ?? ""));
    if (guard.length) t = transformCell(code, `cell-${id}.ts`, guard);
    if (t.diagnostics.length) throw new SyntaxReport(syntaxErrorReport(state.label, seg.code, t.diagnostics[0]!));
    let file = `mlx-ts-cell-${id}.js`;
    let compiled: vm.Script | undefined;
    let compileError: unknown;
    try {
      const fresh = file;
      ({ script: compiled, file } = this.compiled.get(t.js, () => ({ script: new vm.Script(t.js, { filename: fresh }), file: fresh })));
    } catch (e) {
      compileError = e;
    }
    // a type error is reported before a syntax error only V8 finds, as when the check ran first
    await checked;
    this.scripts.add(file, state.label, t.sourceMap, seg.code, t.js);
    if (!compiled) throw new SyntaxReport(this.v8SyntaxError(compileError, file, state.label, seg.code));
    const script = compiled;
    const bindings = bindingScript(t, this.cells.hasBinding);
    if (bindings !== undefined) {
      try {
        vm.runInContext(bindings, this.cells.context, { filename: `mlx-ts-bindings-${id}.js` });
      } catch (e) {
        // a name the context cannot take as a script-scope let (`let undefined`)
        throw new SyntaxReport(syntaxErrorReport(state.label, seg.code, { message: (e as Error).message, line: 1, column: 1 }));
      }
    }
    const interrupted = state.interrupted;
    try {
      // The cell's synchronous start runs as a promise reaction queued by an immediate, so it (like the
      // cell's code resumed after an await) runs from a microtask drain with no callback of Node's half done
      // below it: the one place the interrupter's terminator may stop a loop (see interrupt.ts). Once
      // terminated, the start never returns; the race with `interrupted` ends the cell.
      let started!: (p: Promise<Done>) => void;
      const promise = new Promise<Done>((resolve) => { started = resolve; });
      const raced = Promise.race([promise, interrupted]);
      raced.catch(() => undefined);
      setImmediate(() => void Promise.resolve().then(() => {
        // An interrupt that lands while the cell is being prepared has already ended the cell; starting
        // its code now would run a loop nobody asked for.
        if (state.controller.signal.aborted) {
          started(Promise.reject(state.controller.signal.reason));
          return;
        }
        this.interrupter?.setCellRunning(true);
        try {
          // not inside cellStorage.run: a terminated start never runs its finally, which would leave
          // later code attributed to this cell; while it runs, the running cell is the fallback anyway
          started(script.runInContext(this.cells.context) as Promise<Done>);
        } catch (e) {
          started(Promise.reject(e));
        }
      }));
      const done = await raced;
      this.ls.addCell(seg.code, t.declares);
      return t.hasResult ? done : undefined;
    } catch (e) {
      this.ls.addCell(seg.code, t.declares); // what ran before the error is defined, so later completions should know it
      throw e;
    } finally {
      this.interrupter?.setCellRunning(false);
    }
  }

  private v8SyntaxError(e: unknown, file: string, label: string, source: string): ErrorReport {
    const err = e as { message?: string; stack?: string };
    const m = new RegExp(`${file.replace(/\./g, "\\.")}:(\\d+)`).exec(err.stack ?? "");
    const script = this.scripts.get(file);
    let line = 1;
    if (m && script) {
      const entry = script.map.findEntry(Number(m[1]) - 1, 0) as { originalLine?: number };
      if (entry.originalLine !== undefined) line = entry.originalLine + 1;
    }
    return syntaxErrorReport(label, source, { message: err.message ?? String(e), line, column: 1 });
  }

  private async runMagic(seg: Extract<Segment, { kind: "line" | "cell" }>, state: RunningCell): Promise<Done> {
    const magic = findMagic(seg.kind, seg.name);
    const prefix = seg.kind === "cell" ? "%%" : "%";
    if (!magic) {
      const other = findMagic(seg.kind === "cell" ? "line" : "cell", seg.name);
      const close = closeMagicNames(seg.name, seg.kind);
      const hint = other
        ? ` ${seg.kind === "cell" ? "%" : "%%"}${seg.name} exists as a ${other.kind} magic.`
        : close.length ? ` Did you mean ${close.map((n) => prefix + n).join(", ")}?` : "";
      throw new UsageError(`Unknown ${seg.kind} magic ${prefix}${seg.name}.${hint} %lsmagic lists them all.`);
    }
    if (/(^|\s)--help(\s|$)/.test(seg.args)) {
      state.sink.stream("stdout", `${prefix}${magic.name}: ${magic.summary}\n\n${magic.usage}\n`);
      return undefined;
    }
    const ctx: MagicContext = {
      sink: state.sink,
      display: this.displayFn,
      engine: async () => this.engine,
      signal: state.controller.signal,
      executionCount: state.executionCount,
      globals: this.cells.global,
      typecheck: { get: () => this.typecheckMode, set: (m) => { this.typecheckMode = m; } },
      evaluate: async (code: string) => (await this.runCode(code, state))?.value,
    };
    const value = await cellStorage.run(state, () => Promise.race([Promise.resolve(magic.run(seg.args, seg.kind === "cell" ? seg.body : undefined, ctx)), state.interrupted]));
    return { value };
  }

  /** Errors from callbacks after their cell ended (timers, rejections): shown on that cell's stderr. */
  private reportBackground(err: unknown, st: CellState | undefined): void {
    const rep = reportError(err, this.scripts);
    const text = [`Uncaught error in a callback${st ? ` of Cell [${st.label}]` : ""}:`, ...rep.traceback].join("\n") + "\n";
    (st?.sink ?? consoleSink).stream("stderr", text);
  }

  /** Cancels every generation running on the engine (from cells, magics or code). */
  cancelGenerations(): void {
    this.engine.cancelAll();
  }

  interrupt(): void {
    this.cancelGenerations();
    const st = this.running;
    if (!st) {
      if (this.starting > 0) this.interruptStarting = true;
      return;
    }
    const err = new InterruptError();
    st.controller.abort(err);
    st.reject(err);
  }

  async complete(code: string, cursorPos: number): Promise<CompleteReply> {
    const offset = codePointToUtf16(code, cursorPos);
    const lineStart = code.lastIndexOf("\n", offset - 1) + 1;
    const linePrefix = code.slice(lineStart, offset);
    const mm = /^\s*(%%?)([\w.-]*)$/.exec(linePrefix);
    if (mm) {
      const isCell = mm[1] === "%%";
      const names = listMagics().filter((m) => (isCell ? m.kind === "cell" : m.kind === "line") && m.name.startsWith(mm[2]!));
      const start = offset - mm[1]!.length - mm[2]!.length;
      return {
        matches: names.map((m) => mm[1] + m.name),
        cursorStart: utf16ToCodePoint(code, start),
        cursorEnd: cursorPos,
        types: names.map((m) => ({ text: mm[1] + m.name, type: "magic", start: utf16ToCodePoint(code, start), end: cursorPos, signature: m.summary })),
      };
    }
    const ma = /^\s*(%%?)([\w.-]+)\s+(.*)$/.exec(linePrefix);
    if (ma && (ma[1] === "%" || code.slice(0, lineStart).trim() === "")) {
      const magic = findMagic(ma[1] === "%%" ? "cell" : "line", ma[2]!);
      const typed = ma[3]!;
      const word = /\S*$/.exec(typed)![0];
      const models = [...this.engine.models.keys()];
      const matches = magic?.complete?.(typed, models) ?? [];
      const cs = utf16ToCodePoint(code, offset - word.length);
      return { matches, cursorStart: cs, cursorEnd: cursorPos, types: matches.map((m) => ({ text: m, type: "argument", start: cs, end: cursorPos })) };
    }
    let start = offset;
    while (start > 0 && ID_CHAR.test(code[start - 1]!)) start--;
    const prefix = code.slice(start, offset);
    const all = await this.ls.complete(code, offset);
    let entries = all.filter((e) => e.name.startsWith(prefix));
    if (!entries.length && prefix) entries = all.filter((e) => e.name.toLowerCase().startsWith(prefix.toLowerCase()));
    entries.sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    let matches = entries.map((e) => e.name);
    let kinds = entries.map((e) => e.kind);
    if (code[start - 1] === "." && kinds.includes("property")) {
      // members of an object literal (mx.matmul) are "property" to the language service; say what they are
      const owner = /([\p{ID_Start}$_][\p{ID_Continue}$]*(?:\.[\p{ID_Start}$_][\p{ID_Continue}$]*)*)$/u.exec(code.slice(0, start - 1))?.[1];
      if (owner) kinds = kinds.map((k, i) => (k === "property" && typeof this.lookup(`${owner}.${matches[i]}`).value === "function" ? "function" : k));
    }
    if (code[start - 1] === "." && !matches.length) {
      // the language service knows nothing (an `any`): fall back to the live object's properties
      const names = this.runtimeMembers(code.slice(0, start - 1)).filter((n) => n.startsWith(prefix));
      matches = names;
      kinds = names.map(() => "property");
    }
    const cs = utf16ToCodePoint(code, start);
    return {
      matches,
      cursorStart: cs,
      cursorEnd: cursorPos,
      types: matches.map((m, i) => ({ text: m, type: kinds[i] ?? "", start: cs, end: cursorPos })),
    };
  }

  private lookup(path: string): { found: boolean; value: unknown } {
    let v: unknown = this.cells.global;
    for (const part of path.split(".")) {
      if (v === null || v === undefined) return { found: false, value: undefined };
      const o = Object(v) as Record<string, unknown>;
      if (!(part in o)) return { found: false, value: undefined };
      try {
        v = o[part];
      } catch {
        return { found: false, value: undefined };
      }
    }
    return { found: true, value: v };
  }

  private runtimeMembers(before: string): string[] {
    const m = /([\p{ID_Start}$_][\p{ID_Continue}$]*(?:\.[\p{ID_Start}$_][\p{ID_Continue}$]*)*)$/u.exec(before);
    if (!m) return [];
    const { found, value } = this.lookup(m[1]!);
    if (!found || value === null || value === undefined) return [];
    const names = new Set<string>();
    for (let o: object | null = Object(value) as object; o && Object.getPrototypeOf(o) !== null; o = Object.getPrototypeOf(o) as object | null) {
      for (const k of Object.getOwnPropertyNames(o)) if (k !== "constructor" && /^[\p{ID_Start}$_][\p{ID_Continue}$]*$/u.test(k)) names.add(k);
    }
    return [...names].sort();
  }

  async inspect(code: string, cursorPos: number, detailLevel: 0 | 1): Promise<InspectReply> {
    const offset = codePointToUtf16(code, cursorPos);
    const magic = magicAt(code, offset);
    if (magic) {
      const text = `${magic.kind === "cell" ? "%%" : "%"}${magic.name}: ${magic.summary}\n\n${magic.usage}`;
      return { found: true, data: { "text/plain": text, "text/markdown": "```\n" + text + "\n```" } };
    }
    const info = await this.ls.quickInfo(code, offset);
    if (info && !/^\(?\w*\)?\s*\w+: any$/.test(info.signature)) {
      const doc = [info.documentation, ...info.tags].filter(Boolean).join("\n\n");
      return {
        found: true,
        data: {
          "text/plain": info.signature + (doc ? "\n\n" + doc : ""),
          "text/markdown": "```ts\n" + info.signature + "\n```" + (doc ? "\n\n" + doc : ""),
        },
      };
    }
    // no static type: describe the live value
    let s = offset, e = offset;
    while (s > 0 && /[\p{ID_Continue}$.]/u.test(code[s - 1]!)) s--;
    while (e < code.length && ID_CHAR.test(code[e]!)) e++;
    const path = code.slice(s, e).replace(/^\.+|\.+$/g, "");
    if (!path) return { found: false, data: {} };
    const { found, value } = this.lookup(path);
    if (!found) return { found: false, data: {} };
    const text = `${path}: ${typeof value}\n\n${plainText(value).slice(0, detailLevel ? 20_000 : 2_000)}`;
    return { found: true, data: { "text/plain": text, "text/markdown": "```\n" + text + "\n```" } };
  }

  isComplete(code: string): IsCompleteReply {
    return isComplete(code);
  }

  history(q: HistoryQuery): HistoryEntry[] {
    return this.historyStore.query(q);
  }

  banner(): string {
    let mlx = "MLX engine loads on first use";
    if (this.engine.nativeLoaded) {
      try {
        const rt = this.engine.runtime();
        mlx = `MLX ${rt.mlxVersion} (${rt.backend}${rt.deviceName ? `, ${rt.deviceName}` : ""})`;
      } catch {
        mlx = "MLX engine unavailable";
      }
    }
    return `mlx-ts: TypeScript cells over a persistent MLX session; ${mlx}. %lsmagic lists the magics.`;
  }

  async shutdown(): Promise<void> {
    this.interrupt();
    // disarmed before unsubscribing: the interrupter keeps its process listener until its threads are gone
    const interrupter = this.interrupter;
    this.interrupter = undefined;
    await interrupter?.disarm();
    for (const c of this.cleanups.splice(0)) c();
    await this.ls.close();
  }
}

interface RunningCell extends CellState {
  /** rejects when the cell is interrupted; every await of the cell races with it */
  interrupted: Promise<never>;
  reject(e: unknown): void;
}

class SyntaxReport extends Error {
  constructor(readonly report: ErrorReport) {
    super(report.evalue);
  }
}

/** Where output goes when no cell has run yet (never in practice: every cell brings its sink). */
const consoleSink: OutputSink = {
  stream: (name, text) => void (name === "stdout" ? process.stdout : process.stderr).write(text),
  display: (data) => void process.stdout.write(String(data["text/plain"] ?? "") + "\n"),
  updateDisplay: (data) => void process.stdout.write(String(data["text/plain"] ?? "") + "\n"),
  clearOutput: () => undefined,
  input: () => Promise.reject(new Error("input is not available: no front end is attached")),
};
