// Input history kept across restarts: one JSON object per line, { session, line, input }, appended as
// cells are stored. Queries follow IPython's history_request: tail, range (within a session), search (glob).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { HistoryEntry, HistoryQuery } from "./types.js";

export const defaultHistoryFile = (): string => join(homedir(), ".local", "share", "mlx-ts", "history.jsonl");

/** IPython-style glob: `*` any run, `?` one character, everything else literal; matches the whole input. */
export function globToRegExp(pattern: string): RegExp {
  const esc = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${esc}$`);
}

export function queryHistory(entries: readonly HistoryEntry[], q: HistoryQuery, currentSession: number): HistoryEntry[] {
  let out: HistoryEntry[];
  if (q.kind === "range") {
    // IPython: session 0 (or absent) means the current one, negative counts back from it.
    const s = !q.session ? currentSession : q.session < 0 ? currentSession + q.session : q.session;
    const start = q.start ?? 1;
    const stop = q.stop ?? Number.POSITIVE_INFINITY;
    out = entries.filter((e) => e.session === s && e.line >= start && e.line < stop);
  } else if (q.kind === "search") {
    const re = globToRegExp(q.pattern ?? "*");
    out = entries.filter((e) => re.test(e.input));
  } else out = [...entries];
  if (q.unique) {
    // keep the most recent occurrence of each input, in chronological order
    const seen = new Set<string>();
    const rev: HistoryEntry[] = [];
    for (let i = out.length - 1; i >= 0; i--) {
      const e = out[i]!;
      if (seen.has(e.input)) continue;
      seen.add(e.input);
      rev.push(e);
    }
    out = rev.reverse();
  }
  if ((q.kind === "tail" || q.kind === "search") && q.n !== undefined && q.n > 0) out = out.slice(-q.n);
  return out;
}

export class HistoryStore {
  readonly session: number;
  private entries: HistoryEntry[] = [];
  /** a crash can leave a torn last line without its newline: the next entry must not be glued to it */
  private needsNewline = false;
  private folderMade = false;

  constructor(private readonly file: string) {
    this.entries = HistoryStore.read(file);
    this.needsNewline = existsSync(file) && !/(^|\n)$/.test(readFileSync(file, "utf8"));
    this.session = this.entries.reduce((m, e) => Math.max(m, e.session), 0) + 1;
  }

  private static read(file: string): HistoryEntry[] {
    if (!existsSync(file)) return [];
    const out: HistoryEntry[] = [];
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as Partial<HistoryEntry>;
        if (typeof e.session === "number" && typeof e.line === "number" && typeof e.input === "string") {
          out.push({ session: e.session, line: e.line, input: e.input });
        }
      } catch {
        // a torn last line from a crash must not lose the rest of the history
      }
    }
    return out;
  }

  append(line: number, input: string): void {
    const e: HistoryEntry = { session: this.session, line, input };
    this.entries.push(e);
    try {
      // once: it runs before every cell
      if (!this.folderMade) mkdirSync(dirname(this.file), { recursive: true });
      this.folderMade = true;
      appendFileSync(this.file, (this.needsNewline ? "\n" : "") + JSON.stringify(e) + "\n");
      this.needsNewline = false;
    } catch {
      // history is a convenience: a read-only home must not fail the cell; the folder is made again next time
      this.folderMade = false;
    }
  }

  query(q: HistoryQuery): HistoryEntry[] {
    return queryHistory(this.entries, q, this.session);
  }
}
