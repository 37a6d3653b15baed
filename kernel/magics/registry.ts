// The magic dispatch hook: one registry that the session consults for `%name args` lines and `%%name`
// cells. Each magic lives in its own file and calls registerMagic() when kernel/magics/index.ts loads it.
import type { Engine } from "../engine/types.js";
import type { DisplayFunction } from "../display/display.js";
import type { OutputSink } from "../protocol.js";

export interface MagicContext {
  /** where this cell's output goes */
  sink: OutputSink;
  display: DisplayFunction;
  /** the engine, loaded on first use (rejects with E_NATIVE_UNAVAILABLE when the addon is missing) */
  engine(): Promise<Engine>;
  /** aborted when the cell is interrupted */
  signal: AbortSignal;
  /** execution count of the cell */
  executionCount: number;
  /** the cell context's global object: magics may read or define variables there */
  globals: Record<string, unknown>;
  /** the session's %typecheck setting, where the front end type-checks cells */
  typecheck?: { get(): "on" | "warn" | "off"; set(mode: "on" | "warn" | "off"): void };
  /** Runs TypeScript as part of this cell (same context, declarations persist, interruptible); resolves to the value of its last expression. */
  evaluate(code: string): Promise<unknown>;
}

export interface Magic {
  name: string;
  kind: "line" | "cell";
  /** one line for %lsmagic */
  summary: string;
  /** full help for %help NAME and %NAME --help */
  usage: string;
  /** `args`: the rest of the magic's line; `body`: the cell below a %% line (undefined for line magics). The value, if any, becomes the cell's result when the magic ends the cell. */
  run(args: string, body: string | undefined, ctx: MagicContext): unknown;
  /** Completion candidates for the argument text typed so far (`models`: loaded model names). */
  complete?(typed: string, models: readonly string[]): string[];
}

const magics = new Map<string, Magic>();

const key = (kind: Magic["kind"], name: string): string => `${kind}:${name}`;

export function registerMagic(m: Magic): void {
  magics.set(key(m.kind, m.name), m);
}

export function findMagic(kind: Magic["kind"], name: string): Magic | undefined {
  return magics.get(key(kind, name));
}

export function listMagics(): Magic[] {
  return [...magics.values()].sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** Registered names close to `name` (typos, prefixes), best first. */
export function closeMagicNames(name: string, kind?: Magic["kind"]): string[] {
  const names = [...new Set(listMagics().filter((m) => !kind || m.kind === kind).map((m) => m.name))];
  return names
    .map((n) => ({ n, d: n.startsWith(name) || name.startsWith(n) ? 0.5 : editDistance(name, n) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d)
    .map((x) => x.n);
}

/** The magic whose line holds `offset` (a %% magic only on a cell's first line), for inspect. */
export function magicAt(code: string, offset: number): Magic | undefined {
  const lineStart = code.lastIndexOf("\n", offset - 1) + 1;
  const lineEnd = code.indexOf("\n", offset);
  const line = code.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  const m = /^\s*(%%?)([\w.-]+)/.exec(line);
  if (!m) return undefined;
  const first = code.slice(0, lineStart).trim() === "";
  if (m[1] === "%%") return first ? findMagic("cell", m[2]!) : undefined;
  // the body of a %% cell is that magic's input (a prompt), not magic lines
  if (!first && /^\s*%%/.test(code)) return undefined;
  return findMagic("line", m[2]!);
}
