// The `mx` namespace through a real kernel process: values against known results and against Python
// mlx on the same inputs, the numpy-like displays, and a clear error for a shape mismatch that leaves
// the session usable.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startKernel, type Msg, type RunningKernel } from "./kernel-harness.js";

let kernel: RunningKernel;

const data = (m: Msg | undefined, mime: string) => String((m?.content.data as Record<string, string> | undefined)?.[mime] ?? "");

async function result(code: string): Promise<Msg> {
  const { reply, iopub } = await kernel.client.execute(code, {}, 120_000);
  expect(reply.content.status, JSON.stringify(reply.content)).toBe("ok");
  const r = iopub.find((m) => m.header.msg_type === "execute_result");
  expect(r).toBeDefined();
  return r!;
}

function pythonMlx(code: string): unknown {
  const r = spawnSync(join(ROOT, ".venv", "bin", "python"), ["-c", `import json, mlx.core as mx\n${code}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  kernel = await startKernel({ MLX_TS_HISTORY_FILE: join(mkdtempSync(join(tmpdir(), "mlx-ts-mx-")), "history.jsonl") });
}, 180_000);

afterAll(async () => {
  await kernel?.stop();
});

describe("mx through the kernel", () => {
  it("computes known values, and the same as Python mlx", async () => {
    expect(data(await result(`mx.matmul(mx.array([[1, 2], [3, 4]], { dtype: "float32" }), mx.array([[5, 6], [7, 8]], { dtype: "float32" })).tolist()`), "text/plain")).toBe("[ [ 19, 22 ], [ 43, 50 ] ]");
    const ours = JSON.parse(data(await result(`const x = mx.arange(0, 12, 1, "float32").reshape([3, 4]);
JSON.stringify({ soft: mx.softmax(x, -1).tolist(), sum: x.sum(0).tolist(), amax: x.argmax(1).tolist(), lse: mx.logsumexp(x, 1).tolist() })`), "text/plain").replace(/^'|'$/g, ""));
    const ref = pythonMlx(`x = mx.arange(12, dtype=mx.float32).reshape(3, 4)
print(json.dumps({"soft": mx.softmax(x, -1).tolist(), "sum": x.sum(0).tolist(), "amax": x.argmax(1).tolist(), "lse": mx.logsumexp(x, 1).tolist()}))`) as Record<string, number[] | number[][]>;
    expect(ours.sum).toEqual(ref.sum);
    expect(ours.amax).toEqual(ref.amax);
    const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
    for (const k of ["soft", "lse"]) flat(ours[k]).forEach((v, i) => expect(v).toBeCloseTo(flat(ref[k])[i]!, 5));
  }, 180_000);

  it("displays arrays like numpy as text and as an HTML table with shape and dtype", async () => {
    const r = await result(`mx.array([[1, 2], [3, 4]], { dtype: "int32" })`);
    expect(data(r, "text/plain")).toBe("array([[1, 2],\n       [3, 4]], dtype=int32)");
    const html = data(r, "text/html");
    expect(html).toContain("<table");
    expect(html).toMatch(/int32/);
    expect(html).toMatch(/2\s*[×x,]\s*2/);
  }, 120_000);

  it("turns a shape mismatch into a clear error and keeps the session", async () => {
    const { reply } = await kernel.client.execute("const y = 7; mx.add(mx.zeros([2, 3]), mx.zeros([4]))", {}, 60_000);
    expect(reply.content.status).toBe("error");
    expect(String(reply.content.ename)).toBe("MlxError");
    expect(String(reply.content.evalue)).toMatch(/broadcast/);
    expect(data(await result("y * 6"), "text/plain")).toBe("42");
  }, 120_000);
});
