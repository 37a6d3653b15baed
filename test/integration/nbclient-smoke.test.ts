// Headless notebook execution as CI and papermill users do it: `jupyter execute` (nbclient) from .venv.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, VENV_BIN, installTempKernelSpec } from "./kernel-harness.js";

interface Output {
  output_type: string;
  text?: string | string[];
  name?: string;
  data?: Record<string, unknown>;
  ename?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
}
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);
const text = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v));

function execute(notebook: string, env: NodeJS.ProcessEnv, extra: string[] = []) {
  return spawnSync(join(VENV_BIN, "jupyter"), ["execute", notebook, "--kernel_name=mlx-ts", "--output=executed", "--startup_timeout=120", "--timeout=120", ...extra], { env, encoding: "utf8", timeout: 300_000 });
}

describe("nbclient (jupyter execute)", () => {
  it("runs notebooks/smoke.ipynb to the end with the expected outputs", () => {
    const { env } = installTempKernelSpec();
    const dir = mkdtempSync(join(tmpdir(), "mlx-ts-nb-"));
    copyFileSync(join(ROOT, "notebooks", "smoke.ipynb"), join(dir, "smoke.ipynb"));
    const r = execute(join(dir, "smoke.ipynb"), env);
    expect(r.status, r.stderr).toBe(0);
    const nb = JSON.parse(readFileSync(join(dir, "executed.ipynb"), "utf8")) as { cells: Cell[] };
    const code = nb.cells.filter((c) => c.cell_type === "code");
    expect(code.map((c) => c.execution_count)).toEqual([1, 2, 3, 4]);
    const [doubled, hello, md, sum] = code as [Cell, Cell, Cell, Cell];
    expect(text(doubled.outputs!.find((o) => o.output_type === "execute_result")!.data!["text/plain"])).toContain("2");
    expect(hello.outputs!.map((o) => [o.output_type, o.name, text(o.text)])).toEqual([["stream", "stdout", "hello from mlx-ts\n"]]);
    expect(text(md.outputs!.find((o) => o.output_type === "display_data")!.data!["text/markdown"])).toBe("**smoke** test");
    expect(text(sum.outputs!.find((o) => o.output_type === "execute_result")!.data!["text/plain"])).toBe("6");
    expect(src(sum)).toContain("await");
  });

  it("stops at a failing cell, reports it, and does not run the cells after it", () => {
    const { env } = installTempKernelSpec();
    const dir = mkdtempSync(join(tmpdir(), "mlx-ts-nb-"));
    const marker = join(dir, "must-not-exist.txt");
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "mlx-ts", display_name: "TypeScript (MLX)", language: "typescript" } },
      cells: [
        { cell_type: "code", id: "a", metadata: {}, execution_count: null, outputs: [], source: 'throw new Error("smoke failure")' },
        { cell_type: "code", id: "b", metadata: {}, execution_count: null, outputs: [], source: `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "ran")` },
      ],
    };
    writeFileSync(join(dir, "fails.ipynb"), JSON.stringify(nb));
    const r = execute(join(dir, "fails.ipynb"), env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("smoke failure");
    expect(() => readFileSync(marker)).toThrow();
  });
});
