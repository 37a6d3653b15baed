// Runs the jupyter_kernel_test suite (test_mlx_ts_kernel.py) against our kernel through jupyter_client,
// with the kernelspec installed by `mlx-ts install --prefix` into a temporary JUPYTER_PATH.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, VENV_BIN, installTempKernelSpec } from "../integration/kernel-harness.js";

describe("jupyter_kernel_test conformance", () => {
  it("passes every test of the suite, none skipped", () => {
    const { env } = installTempKernelSpec();
    const r = spawnSync(join(VENV_BIN, "python"), ["-m", "unittest", "-v", "test_mlx_ts_kernel"], {
      cwd: join(ROOT, "test", "conformance"),
      env,
      encoding: "utf8",
      timeout: 600_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    const ran = /Ran (\d+) tests?/.exec(out);
    const verdict = /\n(OK|FAILED)( \(([^)]*)\))?\s*$/.exec(out.trimEnd() + "\n");
    // Print the per-test lines so a failure says which sample broke.
    if (r.status !== 0 || !verdict || verdict[1] !== "OK" || verdict[3]) console.log(out);
    expect(ran, "unittest did not report a test count").not.toBeNull();
    expect(Number(ran![1])).toBeGreaterThanOrEqual(13);
    expect(verdict?.[1]).toBe("OK");
    expect(verdict?.[3] ?? "", "tests were skipped or failed").toBe("");
    expect(r.status).toBe(0);
  }, 620_000);
});
