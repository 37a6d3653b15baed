// bench/roundtrip.py against our kernel: it must run end to end and report sane numbers as JSON.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, VENV_BIN, installTempKernelSpec } from "./kernel-harness.js";

describe("bench/roundtrip.py", () => {
  it("times `1+1` through jupyter_client and prints median and p99 as JSON", () => {
    const { env } = installTempKernelSpec();
    const r = spawnSync(join(VENV_BIN, "python"), [join(ROOT, "bench", "roundtrip.py"), "--kernel", "mlx-ts", "-n", "20", "--warmup", "2"], { env, encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number | string>;
    expect(out).toMatchObject({ kernel: "mlx-ts", code: "1+1", n: 20 });
    expect(out.median_ms as number).toBeGreaterThan(0);
    expect(out.p99_ms as number).toBeGreaterThanOrEqual(out.median_ms as number);
    expect(out.min_ms as number).toBeLessThanOrEqual(out.median_ms as number);
  });
});
