// The sweep from the command line (what `npm run bench` can call): a real process, a real model, a
// markdown table on stdout and the rows as JSON, each naming backend, model and command.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "./kernel-harness.js";

beforeAll(() => ensureBuilt(), 300_000);

it("node dist/kernel/bench/cli.js smollm2 -p 16 -g 4 -n 1 prints a table and writes JSON", () => {
  const out = join(mkdtempSync(join(tmpdir(), "mlx-ts-bench-cli-")), "sweep.json");
  const r = spawnSync(process.execPath, [join(ROOT, "dist", "kernel", "bench", "cli.js"), "smollm2", "-p", "16", "-g", "4", "-n", "1", "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^\| model \| quantization \| backend \| p \| g \| prompt tok\/s \| gen tok\/s/);
  expect(r.stdout).toMatch(/\| smollm2 \| affine 4-bit g32 \| cpu\/cpu \| \d+ \| \d+ \|/);
  const saved = JSON.parse(readFileSync(out, "utf8")) as { command: string; rows: { backend: string; model: string; promptTokens: number; genTokens: number; generationTps: number }[] };
  expect(saved.command).toContain("-p 16 -g 4 -n 1");
  expect(saved.rows).toHaveLength(1);
  expect(saved.rows[0]).toMatchObject({ backend: "cpu", model: "smollm2", promptTokens: 16, genTokens: 4 });
  expect(saved.rows[0]!.generationTps).toBeGreaterThan(0);
});

it("bad arguments exit non-zero with the reason", () => {
  const r = spawnSync(process.execPath, [join(ROOT, "dist", "kernel", "bench", "cli.js"), "-p", "abc"], { cwd: ROOT, encoding: "utf8" });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/--prompt-tokens needs whole numbers separated by commas/);
});
