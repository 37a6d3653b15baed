// Interrupts of the real Session: a pending await, a synchronous loop in the cell's synchronous start, and
// a synchronous loop after an await (the interrupter's terminator stops both, see interrupt.ts). The
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

/** SIGINT to this process from a separate process, after `ms` (then `again` ms later a second one, as a user pressing Stop twice). */
function sigintAfter(ms: number, again?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const second = again === undefined ? "" : `; sleep ${again / 1000}; kill -INT ${process.pid}`;
    const p = spawn("sh", ["-c", `sleep ${ms / 1000}; kill -INT ${process.pid}${second}`], { stdio: "ignore" });
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

  it("breaks a loop over a variable of an earlier cell (a script-scope binding), before and after an await", async () => {
    expect((await exec("let shared = 0")).status).toBe("ok");
    const [r] = await Promise.all([exec("while (true) { shared++ }"), sigintAfter(500)]);
    expectInterrupted(r);
    const [r2] = await Promise.all([exec("await new Promise((r) => setTimeout(r, 20))\nconst before = shared\nfor (;;) { shared++ }"), sigintAfter(600)]);
    expectInterrupted(r2);
    const after = await exec("shared > before && before > 0");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("true");
  });

  it("breaks a synchronous loop after an await on SIGINT", async () => {
    const [r] = await Promise.all([exec("await new Promise((r) => setTimeout(r, 20))\nlet spins2 = 0\nfor (;;) { spins2++ }"), sigintAfter(600)]);
    expectInterrupted(r);
  });

  // The listener must be back in breakOnSigint at once after taking a signal: while no thread is in it,
  // Node's disposition for SIGINT is to end the process, and a second Stop used to kill the kernel.
  it("survives Stop pressed twice quickly on a loop after an await", async () => {
    for (let i = 0; i < 3; i++) {
      const [r] = await Promise.all([exec("await new Promise((r) => setTimeout(r, 20))\nfor (;;) {}"), sigintAfter(400, 30)]);
      expectInterrupted(r);
    }
    const after = await exec("survivor");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("41");
  });

  it("stops a loop after an await that spends most of its time in Node's own code", async () => {
    // the watchdog will not unwind Node's frames, so it tries again until it catches the cell's own code
    const [r] = await Promise.all([exec("await new Promise((r) => setTimeout(r, 20))\nlet urls = 0\nfor (;;) { urls += new URL('http://a/' + urls).href.length }"), sigintAfter(500)]);
    expectInterrupted(r);
    const after = await exec("urls > 0");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("true");
  });

  it("stops a loop resumed by Node's tick queue (an await on a nextTick)", async () => {
    // the continuation runs below Node's processTicksAndRejections, which the terminator may unwind only there
    const [r] = await Promise.all([exec("await new Promise((r) => setTimeout(r, 20))\nawait new Promise((r) => process.nextTick(r))\nlet ticks = 0\nfor (;;) { ticks++ }"), sigintAfter(500)]);
    expectInterrupted(r);
    const after = await exec("ticks > 0");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("true");
  });

  it("a cell interrupted while it sleeps does not start its loop when the sleep ends", async () => {
    // the SIGINT goes once the cell has started (its type check can take longer than the sleep on a loaded box)
    expect((await exec("let woke = false")).status).toBe("ok");
    let started!: () => void;
    const running = new Promise<void>((res) => (started = res));
    const cell = session.execute({ code: "console.log('asleep')\nawait new Promise((r) => setTimeout(r, 600))\nwoke = true\nfor (;;) {}", silent: false, storeHistory: true, allowStdin: false }, { ...sink, stream: () => started() });
    await running;
    const [r] = await Promise.all([cell, sigintAfter(100)]);
    expectInterrupted(r);
    await new Promise((res) => setTimeout(res, 900));
    const after = await exec("woke");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("false");
  });

  it("console output still arrives after Stop lands inside console.log", async () => {
    // a cell that spends its time inside console.log (a slow front end): the interrupt lands mid-write
    const seen: string[] = [];
    const slowUntil = (ms: number) => { const t = Date.now() + ms; while (Date.now() < t); };
    const capture: OutputSink = { ...sink, stream: (_n, text) => { slowUntil(1); seen.push(text); } };
    for (let i = 0; i < 5; i++) {
      const [r] = await Promise.all([session.execute({ code: "for (;;) console.log('spin')", silent: false, storeHistory: false, allowStdin: false }, capture), sigintAfter(150)]);
      expectInterrupted(r);
    }
    seen.length = 0;
    const r = await session.execute({ code: "console.log('still here'); process.stdout.write('and here\\n')", silent: false, storeHistory: false, allowStdin: false }, capture);
    expect(r.status).toBe("ok");
    expect(seen.join("")).toBe("still here\nand here\n");
  });

  it("survives SIGINT between cells, and variables survive every interrupt", async () => {
    await sigintAfter(50);
    await new Promise((r) => setTimeout(r, 200));
    const r = await exec("survivor + 1");
    expect(r.status === "ok" && r.result?.["text/plain"]).toBe("42");
  });
});
