// The session imports the engine and mx statically; both load their addons on first use, so with no
// addon built plain TypeScript cells still run and model or array use fails with E_NATIVE_UNAVAILABLE
// and the command that builds it. The variables survive the failure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, type Session } from "../../kernel/session/index.js";
import type { ExecuteOutcome, OutputSink } from "../../kernel/session/types.js";

const dir = mkdtempSync(join(tmpdir(), "mlx-ts-no-addon-"));
const saved = { engine: process.env.MLX_TS_ADDON, mx: process.env.MLX_TS_MX_ADDON };
let session: Session;
const sink: OutputSink = {
  stream: () => undefined, display: () => undefined, updateDisplay: () => undefined, clearOutput: () => undefined,
  input: () => Promise.reject(new Error("no stdin")),
};
const exec = (code: string): Promise<ExecuteOutcome> => session.execute({ code, silent: false, storeHistory: true, allowStdin: false }, sink);

beforeAll(async () => {
  process.env.MLX_TS_ADDON = join(dir, "missing.node");
  process.env.MLX_TS_MX_ADDON = join(dir, "missing-mx.node");
  session = await createSession({ historyFile: join(dir, "history.jsonl"), cwd: dir, catchProcessErrors: false, handleSigint: false, warmLanguageService: false });
});
afterAll(async () => {
  await session.shutdown();
  for (const [k, v] of [["MLX_TS_ADDON", saved.engine], ["MLX_TS_MX_ADDON", saved.mx]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("a session without the native addons", () => {
  it("runs plain cells, and says how to build the addon when a model is used", async () => {
    const r = await exec("const kept = 40; kept + 2");
    expect(r.status === "ok" && r.result?.["text/plain"]).toBe("42");
    expect(session.banner()).toContain("MLX engine loads on first use");

    const load = await exec('await session.load("smollm2")');
    expect(load.status).toBe("error");
    if (load.status === "error") {
      expect(load.ename).toBe("MlxTsError");
      expect(load.evalue).toContain("npm run build:native");
    }
    const gen = await exec('%%generate\nHi');
    expect(gen.status).toBe("error");

    const arr = await exec("mx.zeros([2])");
    expect(arr.status === "error" && arr.evalue).toMatch(/mx addon .* is not built|could not be loaded/);

    const after = await exec("kept");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("40");
  });
});
