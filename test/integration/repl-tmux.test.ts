// The REPL as a person sees it: a real terminal (tmux) renders what the REPL writes, cursor moves and
// redraws included, and the test reads the rendered screen. Covers the banner, the ways out, a pasted
// block, closing-bracket dedent, Ctrl-C during %%generate, and `mlx-ts repl --help`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "./kernel-harness.js";

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const home = mkdtempSync(join(tmpdir(), "mlx-ts-repl-tmux-"));
const socket = `mlx-ts-test-${process.pid}`;
let n = 0;

const tmux = (...args: string[]): string => {
  const r = spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A REPL in its own tmux window; `screen()` is what the terminal shows (with 500 lines of scrollback). */
class Terminal {
  readonly name = `r${++n}`;
  constructor() {
    const script = join(home, `${this.name}.sh`);
    writeFileSync(script, `cd ${JSON.stringify(ROOT)} && exec env HOME=${JSON.stringify(home)} NO_COLOR=1 TERM=xterm ${JSON.stringify(process.execPath)} dist/repl/index.js\n`);
    tmux("new-session", "-d", "-s", this.name, "-x", "110", "-y", "50", `sh ${script}`);
    tmux("set-option", "-t", this.name, "remain-on-exit", "on");
  }
  keys(text: string): void {
    tmux("send-keys", "-t", this.name, "-l", text);
  }
  key(...names: string[]): void {
    tmux("send-keys", "-t", this.name, ...names);
  }
  /** one write of several lines, as a terminal pastes them */
  paste(text: string): void {
    tmux("set-buffer", "-b", this.name, text);
    tmux("paste-buffer", "-b", this.name, "-t", this.name, "-d");
  }
  screen(): string {
    return tmux("capture-pane", "-p", "-J", "-t", this.name, "-S", "-500").replace(/\s+$/, "");
  }
  dead(): boolean {
    return tmux("display-message", "-p", "-t", this.name, "#{pane_dead}").trim() === "1";
  }
  async until(pred: (screen: string) => boolean, what: string, ms = 60_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (pred(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen:\n${s}`);
      await sleep(100);
    }
  }
  prompt(k: number): Promise<string> {
    return this.until((s) => s.includes(`In [${k}]:`), `In [${k}]`);
  }
  async exited(): Promise<void> {
    await this.until(() => this.dead(), "the REPL to exit", 30_000);
  }
}

beforeAll(() => ensureBuilt(), 600_000);
afterAll(() => {
  if (hasTmux) spawnSync("tmux", ["-L", socket, "kill-server"]);
  rmSync(home, { recursive: true, force: true });
});

describe.skipIf(!hasTmux)("REPL in a terminal (tmux)", () => {
  it("banner, paste as one cell, bracket dedent, Ctrl-C during %%generate, and exit", async () => {
    const t = new Terminal();
    const start = await t.prompt(1);
    expect(start).not.toMatch(/mlx-ts\s+mlx-ts:/);
    expect(start).toMatch(/^mlx-ts TypeScript cells/m);
    expect(start).toContain("Ctrl-D, .exit, exit or quit() leaves");

    // two lines pasted in one write run as one cell: its value is Out[1], and the next prompt is In [2]
    t.paste("let q = 5\nq * 2\n");
    const pasted = await t.prompt(2);
    expect(pasted).toContain("Out[1]: 10");
    expect(pasted).not.toContain("Out[2]");

    // the auto-indent of the line after `{` is taken back when the line is just the closing `}`
    t.keys("if (q > 1) {");
    t.key("Enter");
    await t.until((s) => s.endsWith("...:"), "the continuation prompt");
    t.keys("q");
    t.key("Enter");
    await sleep(300);
    t.keys("}");
    const closed = await t.until((s) => /\.\.\.: \}$/.test(s), "the dedented `}`", 5_000);
    expect(closed.split("\n").pop()).toMatch(/^\s*\.\.\.: \}$/);
    t.key("Enter");
    await t.prompt(3);

    // Ctrl-C during a generation: the partial text once, no cursor block left, one line saying it stopped
    t.keys("%load smollm2");
    t.key("Enter");
    await t.until((s) => s.includes("In [4]:"), "the model to load", 180_000);
    t.keys("%%generate --max-tokens 400");
    t.key("Enter");
    t.keys("Tell me a long story about a dragon and a lighthouse.");
    t.key("Enter");
    t.key("Enter");
    await t.until((s) => (s.split("dragon and a lighthouse.").pop() ?? "").replace(/▌/g, "").trim().split(/\s+/).length > 12, "a dozen generated words", 120_000);
    t.key("C-c");
    const after = await t.until((s) => s.includes("In [5]:"), "the prompt after Ctrl-C", 60_000);
    const gen = after.slice(after.lastIndexOf("dragon and a lighthouse."));
    expect(gen).not.toContain("▌");
    expect(gen.match(/interrupted after \d+ tokens; the partial output is kept/g)).toHaveLength(1);
    expect(gen).not.toContain("waiting for the running generation");
    const lines = gen.split("\n").slice(1).filter((l) => l.trim() && !/^\s*\.\.\.:/.test(l));
    const first = lines[0]!;
    expect(first.length, gen).toBeGreaterThan(10);
    expect(lines.filter((l) => l === first), gen).toHaveLength(1);

    t.keys("exit");
    t.key("Enter");
    await t.exited();
  }, 420_000);

  it(".exit and quit() leave too", async () => {
    for (const word of [".exit", "quit()"]) {
      const t = new Terminal();
      await t.prompt(1);
      t.keys(word);
      t.key("Enter");
      await t.exited();
      expect(t.screen()).not.toMatch(/ReferenceError|SyntaxError/);
    }
  }, 120_000);

  it("`mlx-ts repl --help` prints the usage and exits without starting a session", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "dist", "bin", "mlx-ts.js"), "repl", "--help"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: mlx-ts repl \[--model ID\]/);
    expect(r.stdout).toContain("--help");
    expect(r.stdout).not.toContain("In [1]");
  });
});
