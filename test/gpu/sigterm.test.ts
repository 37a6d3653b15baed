// A process busy on the GPU ends promptly on SIGTERM: one whose generation is JIT-compiling MLX's CUDA
// kernels (a fresh, empty kernel cache forces the compile), and one blocked in a long synchronous MLX
// evaluation on its JS thread. Known to fail for the compile on MLX 0.32.4 / CUDA 13.0 (H200, 2026-12-03):
// libnvrtc.so.13 replaces the SIGTERM handler during the compile and the signal is lost (README, GPU). Each must be gone within 2 s of the signal (issue 14's bound); the child is
// SIGKILLed at 5 s so a failure cannot hang the suite.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixture } from "../parity/reference.js";
import { gpuStatus } from "./gpu.js";

const gpu = gpuStatus();
const CHILD = join(import.meta.dirname, "busy-child.mjs");
const BOUND_MS = 2000;
const DEADLINE_MS = 5000;

function busyThenTerm(args: string[], env: NodeJS.ProcessEnv): Promise<{ exitedAfterMs: number | null; signal: string | null; said: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let said = "";
    let termAt = 0;
    let killer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      said += d.toString();
      if (termAt === 0 && said.includes("busy")) {
        // Three seconds in, the compile (40-55 s per kernel on an H200) or the evaluation is under way.
        setTimeout(() => {
          termAt = Date.now();
          child.kill("SIGTERM");
          killer = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MS);
        }, 3000);
      }
    });
    child.stderr.on("data", (d: Buffer) => (said += d.toString()));
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      clearTimeout(killer);
      const after = termAt ? Date.now() - termAt : null;
      resolve({ exitedAfterMs: signal === "SIGKILL" ? null : after, signal, said });
    });
  });
}

describe.skipIf(!gpu.available)(`SIGTERM while busy on the GPU (${gpu.line})`, () => {
  it("ends a process whose generation is JIT-compiling CUDA kernels", { timeout: 120_000 }, async () => {
    const cache = mkdtempSync(join(tmpdir(), "mlx-ts-empty-ptx-"));
    try {
      const r = await busyThenTerm(["compile", fixture("qwen3-tiny-8bit")], { ...process.env, MLX_PTX_CACHE_DIR: cache });
      expect(r.said).not.toMatch(/\bdone\b/); // it was still busy when the signal came
      expect(r.exitedAfterMs, `output: ${r.said}`).not.toBeNull();
      expect(r.exitedAfterMs!).toBeLessThan(BOUND_MS);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("ends a process blocked in a long synchronous MLX evaluation", { timeout: 120_000 }, async () => {
    const r = await busyThenTerm(["eval"], process.env);
    expect(r.said).not.toMatch(/\bdone\b/);
    expect(r.exitedAfterMs, `output: ${r.said}`).not.toBeNull();
    expect(r.exitedAfterMs!).toBeLessThan(BOUND_MS);
  });
});
