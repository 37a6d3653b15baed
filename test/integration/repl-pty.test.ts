// The REPL driven through a real pseudo-terminal (Python's pty module as the driver): typing, multi-line
// input, Ctrl-C during a loop (before and after an await), Ctrl-C at the prompt, Tab completion, errors
// from callbacks after a cell, magics, and Ctrl-D to exit.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tsHooksSource } from "../../kernel/session/ls-client.js";

const root = resolve(__dirname, "..", "..");
const python = join(root, ".venv", "bin", "python");
const home = mkdtempSync(join(tmpdir(), "mlx-ts-repl-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

// The child runs repl/index.ts from source: a module hook transpiles TypeScript with the typescript package.
const hooks = tsHooksSource(root);
const register = `import { register } from "node:module"; register(${JSON.stringify("data:text/javascript," + encodeURIComponent(hooks))});`;

type Step = { send: string; wait?: string; sleep?: number; collect?: number };

// Runs the steps in a pty and returns what the terminal showed after each step.
const DRIVER = `
import json, os, pty, select, sys, time
steps = json.loads(sys.argv[1]); argv = json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf = b""
def read_for(pred, timeout):
    global buf
    end = time.time() + timeout
    while time.time() < end:
        if pred(buf): return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: d = os.read(fd, 65536)
            except OSError: return pred(buf)
            if not d: return pred(buf)
            buf += d
    return pred(buf)
out = []
ok = read_for(lambda b: b"In [1]: " in b, 60)
out.append({"step": "start", "ok": ok, "text": buf.decode(errors="replace")}); buf = b""
for s in steps:
    os.write(fd, s["send"].encode())
    if s.get("sleep"): time.sleep(s["sleep"])
    if s.get("control"): os.write(fd, s["control"].encode())
    if s.get("wait"):
        w = s["wait"].encode()
        ok = read_for(lambda b: w in b, 30)
    else:
        ok = True
    if s.get("collect"): read_for(lambda b: False, s["collect"])
    out.append({"step": s["send"], "ok": ok, "text": buf.decode(errors="replace")}); buf = b""
_, status = os.waitpid(pid, 0)
print(json.dumps({"steps": out, "exit": os.waitstatus_to_exitcode(status)}))
`;

describe.skipIf(!existsSync(python))("REPL in a pseudo-terminal", () => {
  it("runs cells, continues lines, interrupts loops, completes, and exits on Ctrl-D", () => {
    const steps: (Step & { control?: string })[] = [
      { send: "const a = 40 + 2\r", wait: "In [2]: " },
      { send: "a\r", wait: "In [3]: " },
      { send: "function f() {\r", wait: "...: " },
      { send: "return a * 2 }\r", wait: "In [4]: " },
      { send: "f()\r", wait: "In [5]: " },
      { send: "let i = 0; while (true) { i++ }\r", sleep: 1.0, control: "\x03", wait: "In [6]: " },
      { send: "await null; for (;;) {}\r", sleep: 1.0, control: "\x03", wait: "In [7]: " },
      { send: "setTimeout(() => { throw new Error('cb boom') }, 10); setTimeout(() => { Promise.reject(new Error('lost promise')) }, 20); 1\r", wait: "In [8]: ", collect: 0.6 },
      { send: "i > 0\r", wait: "In [9]: " },
      { send: "abc", sleep: 0.2, control: "\x03", wait: "In [9]: " },
      { send: "Math.P", sleep: 0.2, control: "\t", wait: "Math.PI" }, // the first completion may wait for the language service to warm up
      { send: "\r", wait: "In [10]: " },
      { send: "%lsmagic\r", wait: "In [11]: " },
      { send: "\x04", collect: 2 },
    ];
    const argv = [process.execPath, "--import", `data:text/javascript,${encodeURIComponent(register)}`, join(root, "repl", "index.ts")];
    const r = spawnSync(python, ["-c", DRIVER, JSON.stringify(steps), JSON.stringify(argv)], {
      cwd: home, encoding: "utf8", timeout: 240_000,
      env: { ...process.env, HOME: home, NO_COLOR: "1", TERM: "xterm" },
    });
    expect(r.stderr).toBe("");
    const res = JSON.parse(r.stdout) as { steps: { step: string; ok: boolean; text: string }[]; exit: number };
    const texts = res.steps.map((s) => s.text);
    for (const s of res.steps) expect(s.ok, `step ${JSON.stringify(s.step)} saw: ${s.text}`).toBe(true);
    expect(texts[0]).toContain("mlx-ts");
    expect(texts[2]).toContain("Out[2]: 42");
    expect(texts[3]).toContain("...: ");
    expect(texts[5]).toContain("Out[4]: 84");
    expect(texts[6]).toContain("InterruptError");
    expect(texts[7]).toContain("InterruptError");
    expect(texts[8]).toContain("cb boom");
    expect(texts[8]).toContain("lost promise");
    expect(texts[9]).toContain("Out[8]: true");
    expect(texts[10]).toContain("^C");
    expect(texts[11]).toContain("Math.PI");
    expect(texts[12]).toContain("3.141592653589793");
    expect(texts[13]).toContain("Line magics:");
    expect(res.exit).toBe(0);
    const history = readFileSync(join(home, ".local", "share", "mlx-ts", "repl_history"), "utf8");
    expect(history).toContain("const a = 40 + 2\n");
    expect(existsSync(join(home, ".local", "share", "mlx-ts", "history.jsonl"))).toBe(true);
  });
});
