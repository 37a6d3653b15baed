// The terminal REPL: the same Session as the Jupyter kernel, with a readline front end. Multi-line input
// follows the session's is_complete; Tab completes through the session's language service; output is text.
//
// Ctrl-C: at the prompt it clears the line; while a cell runs, the terminal is taken out of raw mode so
// Ctrl-C becomes a real SIGINT for the process, which the session turns into an interrupt (sync loops
// included). Ctrl-D at an empty prompt exits.
import { Chalk } from "chalk";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import { bundleToText } from "../kernel/display/terminal.js";
import { createSession, type Session } from "../kernel/session/index.js";
import { codePointToUtf16, utf16ToCodePoint } from "../kernel/session/code-points.js";
import type { MimeBundle, OutputSink } from "../kernel/protocol.js";

export interface ReplOptions {
  /** a model to load at start (alias, directory, .gguf or HF id) */
  model?: string;
  /** readline history; default ~/.local/share/mlx-ts/repl_history */
  historyFile?: string;
  /** cell history (shared with the kernel); default the session's */
  sessionHistoryFile?: string;
  input?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output?: NodeJS.WritableStream & { isTTY?: boolean };
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
/** what leaves the REPL at an empty prompt, besides Ctrl-D (as in node and IPython) */
const EXIT_WORDS = new Set([".exit", "exit", "exit()", "quit", "quit()"]);
const EXIT_HINT = "Ctrl-D, .exit, exit or quit() leaves; Ctrl-C stops a running cell.";
/** the session's is_complete indents by this many spaces per level */
const INDENT_WIDTH = 2;

export const REPL_USAGE = `usage: mlx-ts repl [--model ID]

A terminal REPL over the same session as the Jupyter kernel: TypeScript cells, magics (%lsmagic),
Tab completion. ${EXIT_HINT}

  --model, -m ID   load a model at start (alias smollm2, a directory, a .gguf or an HF id)
  --help, -h       print this and exit
`;
const HISTORY_LINES = 1000;

export const defaultReplHistory = (): string => join(homedir(), ".local", "share", "mlx-ts", "repl_history");

function loadHistory(file: string): string[] {
  if (!existsSync(file)) return [];
  // readline wants newest first
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).slice(-HISTORY_LINES).reverse();
}

export async function runRepl(opts: ReplOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const tty = !!input.isTTY && !!output.isTTY;
  const useColor = !process.env.NO_COLOR && !!output.isTTY;
  const c = new Chalk({ level: useColor ? 1 : 0 });
  const text = (s: string): string => (useColor ? s : s.replace(ANSI, ""));
  const historyFile = opts.historyFile ?? defaultReplHistory();

  const session: Session = await createSession(opts.sessionHistoryFile ? { historyFile: opts.sessionHistoryFile } : {});
  let running = false;
  let buffer: string[] = [];

  const rl = readline.createInterface({
    input,
    output,
    terminal: tty,
    history: loadHistory(historyFile),
    historySize: HISTORY_LINES,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      const before = buffer.length ? buffer.join("\n") + "\n" : "";
      const code = before + line;
      session.complete(code, utf16ToCodePoint(code, code.length)).then((r) => {
        const startInLine = Math.max(0, codePointToUtf16(code, r.cursorStart) - before.length);
        cb(null, [r.matches, line.slice(startInLine)]);
      }, () => cb(null, [[], line]));
    },
  });

  const promptText = (): string => (buffer.length ? c.gray("   ...: ") : c.green(`In [${session.executionCount + 1}]: `));
  const prompt = (indent = ""): void => {
    rl.setPrompt(promptText());
    rl.prompt();
    if (indent) rl.write(indent);
  };

  /** Output while the prompt is shown (callbacks after their cell): clear the prompt line, print, redraw. */
  const write = (stream: "stdout" | "stderr", s: string): void => {
    const t = stream === "stderr" ? c.red(text(s)) : text(s);
    if (running || !tty) {
      output.write(t);
      return;
    }
    readline.clearLine(output, 0);
    readline.cursorTo(output, 0);
    output.write(t.endsWith("\n") ? t : t + "\n");
    rl.prompt(true);
  };
  // The last display printed while a cell runs, so that updates of it (token streams, progress bars)
  // redraw in place instead of printing again; anything printed in between makes updates print anew.
  let lastDisplay: { id: string | undefined; rows: number } | undefined;
  const rowsOf = (s: string): number => {
    const c0 = (output as { columns?: number }).columns;
    const cols = c0 && c0 > 0 ? c0 : 80; // a pty without a size reports 0 columns
    return s.split("\n").reduce((n, line) => n + Math.max(1, Math.ceil(line.replace(ANSI, "").length / cols)), 0);
  };
  // Without a terminal (piped into a file or another program) nothing can be redrawn: an updating display
  // prints only what it appends (a token stream), and a rewrite (a progress bar) prints in its last state
  // when something else is printed or the cell ends. The stream's cursor is a terminal affordance.
  let held: { id: string; printed: string; pending?: string } | undefined;
  const flushHeld = (): void => {
    const h = held;
    held = undefined;
    if (!h) return;
    if (h.pending !== undefined) write("stdout", `${h.printed ? "\n" : ""}${h.pending}\n`);
    else if (h.printed) write("stdout", "\n");
  };
  const showBundle = (b: MimeBundle, id: string | undefined, update: boolean): void => {
    let s = bundleToText(b);
    if (!s) return;
    if (!tty && id !== undefined) {
      s = s.replace(/\n$/, "").replace(/▌$/, "");
      if (held && held.id !== id) flushHeld();
      if (!held) held = { id, printed: "" };
      if (held.pending === undefined && s.startsWith(held.printed)) {
        write("stdout", s.slice(held.printed.length));
        held.printed = s;
      } else held.pending = s;
      return;
    }
    flushHeld();
    if (s.endsWith("\n")) s = s.slice(0, -1);
    if (update && tty && running && id !== undefined && lastDisplay?.id === id) {
      readline.moveCursor(output, 0, -lastDisplay.rows);
      readline.cursorTo(output, 0);
      readline.clearScreenDown(output);
    }
    write("stdout", s + "\n");
    lastDisplay = { id, rows: rowsOf(s) };
  };
  const sink: OutputSink = {
    stream: (name, s) => { lastDisplay = undefined; flushHeld(); write(name, s); },
    display: (data, o) => showBundle(data, o?.displayId, false),
    updateDisplay: (data, o) => showBundle(data, o.displayId, true),
    clearOutput: () => undefined,
    input: (q, password) => new Promise<string>((resolve) => {
      rl.resume();
      const rlw = rl as unknown as { _writeToOutput?: (s: string) => void };
      const original = rlw._writeToOutput;
      if (password && original) rlw._writeToOutput = (s: string) => { if (s.startsWith(q)) original.call(rl, q); };
      rl.question(q, (answer) => {
        if (password) rlw._writeToOutput = original;
        if (password) output.write("\n");
        resolve(answer);
      });
    }),
  };

  const setRaw = (raw: boolean): void => {
    if (tty && typeof input.setRawMode === "function") input.setRawMode(raw);
  };

  const execute = async (code: string): Promise<void> => {
    running = true;
    lastDisplay = undefined;
    rl.pause();
    setRaw(false); // Ctrl-C now reaches the process as SIGINT
    try {
      const r = await session.execute({ code, silent: false, storeHistory: true, allowStdin: true }, sink);
      flushHeld();
      if (r.status === "ok" && r.result) {
        const s = bundleToText(r.result);
        output.write(`${c.red(`Out[${r.executionCount}]:`)} ${s.includes("\n") ? "\n" : ""}${s}\n`);
      } else if (r.status === "error") {
        output.write(text(r.traceback.join("\n")) + "\n");
      }
    } finally {
      flushHeld();
      running = false;
      setRaw(true);
      rl.resume();
    }
  };

  const done = new Promise<void>((resolve) => {
    rl.on("close", () => {
      output.write("\n");
      void session.shutdown().then(resolve, resolve);
    });
  });

  // serialised: lines that arrive while a cell runs (typed ahead, or piped) wait their turn
  let chain: Promise<void> = Promise.resolve();
  // In a terminal, the lines of one paste arrive in one read: they are one cell, as in IPython.
  let pasted: string[] | undefined;
  const takeLines = (lines: string[]): void => {
    chain = chain.then(async () => {
      if (!buffer.length && lines.length === 1 && !lines[0]!.trim()) { prompt(); return; }
      if (!buffer.length && lines.length === 1 && EXIT_WORDS.has(lines[0]!.trim())) { rl.close(); return; }
      try {
        mkdirSync(dirname(historyFile), { recursive: true });
        for (const line of lines) if (line.trim()) appendFileSync(historyFile, line + "\n");
      } catch { /* history is a convenience */ }
      buffer.push(...lines);
      const code = buffer.join("\n");
      const st = session.isComplete(code);
      if (st.status === "incomplete") { prompt(st.indent ?? ""); return; }
      buffer = [];
      await execute(code);
      prompt();
    });
  };
  rl.on("line", (line) => {
    if (!tty) { takeLines([line]); return; }
    if (pasted) { pasted.push(line); return; }
    pasted = [line];
    setImmediate(() => {
      const lines = pasted!;
      pasted = undefined;
      takeLines(lines);
    });
  });
  // A closing bracket typed on an auto-indented line goes back one level, as the line it closes.
  if (tty) {
    input.on("keypress", (ch: string | undefined) => {
      if (!ch || !"}])".includes(ch)) return;
      const r = rl as unknown as { line: string; cursor: number; _refreshLine?: () => void };
      const m = /^( +)([}\])])$/.exec(r.line);
      if (!m || r.cursor !== r.line.length) return;
      r.line = m[1]!.slice(INDENT_WIDTH) + m[2]!;
      r.cursor = r.line.length;
      r._refreshLine?.();
    });
  }
  rl.on("SIGINT", () => {
    // Ctrl-C at the prompt (raw mode): drop the current input, keep the session
    if (rl.line || buffer.length) output.write(c.gray(" ^C") + "\n");
    else output.write("\n" + c.gray("(Ctrl-D exits)") + "\n");
    buffer = [];
    (rl as unknown as { line: string }).line = "";
    prompt();
  });

  const banner = session.banner().replace(/^mlx-ts:\s*/, "");
  output.write(`${c.bold("mlx-ts")} ${c.gray(banner)}\n${c.gray(EXIT_HINT)}\n`);
  if (opts.model) {
    await execute(`%load ${opts.model}`);
  }
  prompt();
  return done;
}

function parseArgs(argv: string[]): ReplOptions {
  const o: ReplOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--model" || a === "-m") o.model = argv[++i];
    else if (a.startsWith("--model=")) o.model = a.slice("--model=".length);
    else if (a === "--help" || a === "-h") {
      process.stdout.write(REPL_USAGE);
      process.exit(0);
    }
  }
  return o;
}

// `node dist/repl/index.js [--model ID]` runs it directly too
if (process.argv[1] && fileURLToPath(import.meta.url).replace(/\.ts$/, ".js") === process.argv[1].replace(/\.ts$/, ".js")) {
  runRepl(parseArgs(process.argv.slice(2))).then(() => process.exit(0), (e: unknown) => {
    process.stderr.write(`mlx-ts repl: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
