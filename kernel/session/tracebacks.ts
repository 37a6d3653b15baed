// Turns anything a cell throws into Jupyter's (ename, evalue, traceback): frames in cell scripts are
// mapped back through the cell's source map to `Cell [N], line L` plus the source line; frames in Node
// internals, node_modules and our own code are dropped (they are not the user's to fix).
import { SourceMap } from "node:module";
import { Lru } from "./lru.js";

export interface CellScript {
  /** the vm filename of the cell script */
  file: string;
  /** label shown to the user: the execution count, or "*" for silent cells */
  label: string;
  map: SourceMap;
  source: string;
  /** generated line of the wrapper's `})()`: its frame is ours, not the user's */
  wrapperLine: number;
}

export interface ErrorReport {
  ename: string;
  evalue: string;
  traceback: string[];
}

const RED = "\u001b[31m";
const GREEN = "\u001b[32m";
const BOLD = "\u001b[1m";
const RESET = "\u001b[0m";

/** How many decoded source maps stay in memory: a traceback usually touches the last few cells only. */
const DECODED_MAPS = 32;
const NO_NAMES: string[] = [];

interface StoredScript {
  label: string;
  source: string;
  /** the v3 `mappings` string only: the parsed SourceMap of a cell is about ten times larger */
  mappings: string;
  names: string[];
  wrapperLine: number;
}

/**
 * Every cell script ever run, by vm filename: a function defined in cell 3 can throw during cell 2000,
 * and its frame must still read `Cell [3]`. A long session runs thousands of cells, so each is kept as
 * its source and the compact mappings string, and decoded into a SourceMap only when a stack names it.
 */
export class CellScripts {
  private readonly byFile = new Map<string, StoredScript>();
  /** recently used decoded maps */
  private readonly decoded = new Lru<string, SourceMap>(DECODED_MAPS);

  add(file: string, label: string, sourceMapJson: string, source: string, js: string): void {
    const m = JSON.parse(sourceMapJson) as { mappings?: string; names?: string[] };
    let wrapperLine = 1;
    for (let i = js.indexOf("\n"); i !== -1; i = js.indexOf("\n", i + 1)) wrapperLine++;
    this.byFile.set(file, { label, source, mappings: m.mappings ?? "", names: m.names?.length ? m.names : NO_NAMES, wrapperLine });
  }

  get(file: string): CellScript | undefined {
    const s = this.byFile.get(file);
    if (!s) return undefined;
    return { file, label: s.label, source: s.source, wrapperLine: s.wrapperLine, map: this.map(file, s) };
  }

  private map(file: string, s: StoredScript): SourceMap {
    return this.decoded.get(file, () =>
      new SourceMap({ version: 3, file, sources: [file.replace(/\.js$/, ".ts")], names: s.names, mappings: s.mappings } as ConstructorParameters<typeof SourceMap>[0]));
  }
}

interface Frame { fn: string; file: string; line: number; column: number }

export function parseStack(stack: string): Frame[] {
  const frames: Frame[] = [];
  for (const raw of stack.split("\n")) {
    const m = /^\s+at (?:async )?(?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/.exec(raw);
    if (!m) continue;
    frames.push({ fn: m[1] ?? "", file: m[2]!, line: Number(m[3]), column: Number(m[4]) });
  }
  return frames;
}

function describe(err: unknown): { ename: string; evalue: string; stack: string } {
  if (err !== null && typeof err === "object") {
    const e = err as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown; constructor?: { name?: string } };
    const name = typeof e.name === "string" ? e.name : e.constructor?.name ?? "Error";
    const message = typeof e.message === "string" ? e.message : String(err);
    const code = typeof e.code === "string" && /^E_[A-Z_]+$/.test(e.code) ? `${e.code}: ` : "";
    return { ename: name, evalue: code + message, stack: typeof e.stack === "string" ? e.stack : "" };
  }
  return { ename: "Uncaught", evalue: typeof err === "string" ? err : String(err), stack: "" };
}

export interface CellPosition { label: string; line: number; column: number; fn: string; sourceLine: string }

/** Cell positions in the error's stack, innermost first. */
export function cellFrames(err: unknown, scripts: CellScripts): CellPosition[] {
  const { stack } = describe(err);
  const out: CellPosition[] = [];
  for (const f of parseStack(stack)) {
    const script = scripts.get(f.file);
    if (!script || f.line === script.wrapperLine) continue;
    const entry = script.map.findEntry(f.line - 1, f.column - 1) as { originalLine?: number; originalColumn?: number };
    if (entry.originalLine === undefined) continue;
    const line = entry.originalLine + 1;
    out.push({
      label: script.label,
      line,
      column: (entry.originalColumn ?? 0) + 1,
      fn: f.fn,
      sourceLine: script.source.split("\n")[line - 1] ?? "",
    });
  }
  return out;
}

export function formatPosition(p: { label: string; line: number; column?: number; fn?: string; sourceLine: string }): string[] {
  const where = `${GREEN}Cell [${p.label}]${RESET}, line ${p.line}${p.fn ? `, in ${p.fn}` : ""}`;
  const lines = [where, `  ${BOLD}${p.line} |${RESET} ${p.sourceLine}`];
  if (p.column !== undefined) lines.push(`  ${" ".repeat(String(p.line).length)} | ${" ".repeat(Math.max(0, p.column - 1))}${RED}^${RESET}`);
  return lines;
}

export function reportError(err: unknown, scripts: CellScripts): ErrorReport {
  const { ename, evalue } = describe(err);
  const traceback: string[] = [`${RED}${ename}${RESET}: ${evalue}`];
  for (const p of cellFrames(err, scripts)) traceback.push(...formatPosition(p));
  return { ename, evalue, traceback };
}

/** The one error a cell ends with when the TypeScript does not parse. */
export function syntaxErrorReport(label: string, source: string, d: { message: string; line: number; column: number }): ErrorReport {
  const sourceLine = source.split("\n")[d.line - 1] ?? "";
  return {
    ename: "SyntaxError",
    evalue: `${d.message} (line ${d.line}, column ${d.column})`,
    traceback: [`${RED}SyntaxError${RESET}: ${d.message}`, ...formatPosition({ label, line: d.line, column: d.column, sourceLine })],
  };
}
