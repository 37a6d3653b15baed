// Interrupts of the real Session: a pending await, a synchronous loop in the cell's first synchronous
// part, and a synchronous loop after an await (outside runInContext; the watchdog worker stops it). The
// SIGINT comes from another process, as the Jupyter front end and the terminal send it.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, type Session } from "../../kernel/session/index.js";
import type { ExecuteOutcome, OutputSink } from "../../kernel/session/types.js";

const dir = mkdtempSync(join(tmpdir(), "mlx-ts-interrupt-"));
let session: Session;

const sink: OutputSink = {
  stream: () => undefined,
  display: () => undefined,
  updateDisplay: () => undefined,
  clearOutput: () => undefined,
  input: () => Promise.reject(new Error("no stdin")),
};

const exec = (code: string): Promise<ExecuteOutcome> =>
  session.execute({ code, silent: false, storeHistory: true, allowStdin: false }, sink);

/** SIGINT to this process from a separate process, after `ms`. */
function sigintAfter(ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("sh", ["-c", `sleep ${ms / 1000}; kill -INT ${process.pid}`], { stdio: "ignore" });
    p.on("exit", () => resolve());
    p.on("error", reject);
  });
}

function expectInterrupted(r: ExecuteOutcome): void {
  expect(r.status).toBe("error");
  if (r.status === "error") {
    expect(r.ename).toBe("InterruptError");
    expect(r.evalue).toContain("Variables and loaded models are kept");
  }
}

beforeAll(async () => {
  session = await createSession({ historyFile: join(dir, "history.jsonl"), cwd: dir, handleSigint: true, catchProcessErrors: false, warmLanguageService: false });
  const r = await exec("let survivor = 41");
  expect(r.status).toBe("ok");
});

afterAll(async () => {
  await session.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe("interrupt", () => {
  it("rejects a pending await when the front end calls interrupt()", async () => {
    setTimeout(() => session.interrupt(), 200);
    expectInterrupted(await exec("await new Promise(() => {})"));
  });

  it("aborts the cell's signal so long operations can stop", async () => {
    const running = exec("globalThis.seenAbort = false\nawait new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000))");
    setTimeout(() => session.interrupt(), 200);
    expectInterrupted(await running);
  });

  it("breaks a synchronous loop in the cell's synchronous part on SIGINT", async () => {
    const [r] = await Promise.all([exec("let spins = 0\nwhile (true) { spins++ }"), sigintAfter(500)]);
    expectInterrupted(r);
    const after = await exec("spins > 0");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("true");
  });

  it("breaks a synchronous loop after an await on SIGINT", async () => {
    const [r] = await Promise.all([exec("await new Promise((r) => setTimeout(r, 20))\nlet spins2 = 0\nfor (;;) { spins2++ }"), sigintAfter(600)]);
    expectInterrupted(r);
  });

  it("survives SIGINT between cells, and variables survive every interrupt", async () => {
    await sigintAfter(50);
    await new Promise((r) => setTimeout(r, 200));
    const r = await exec("survivor + 1");
    expect(r.status === "ok" && r.result?.["text/plain"]).toBe("42");
  });
});
