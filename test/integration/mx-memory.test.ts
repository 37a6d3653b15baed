// Arrays are freed when JavaScript drops them. Each array reports its bytes to V8 as external memory,
// so a loop making many large temporaries triggers GC itself; MLX's active memory stays flat
// without any explicit gc() call.
import { describe, expect, it } from "vitest";
import { mx } from "../../kernel/mx/index.js";

describe("mx memory across many temporaries", () => {
  it("does not grow MLX active memory over 10,000 evaluated 1 MiB temporaries", () => {
    const base = mx.ones([512, 512]).eval(); // 1 MiB float32
    const before = mx.memory().active;
    let maxActive = before;
    for (let i = 0; i < 10_000; i++) {
      const t = base.add(i).eval();
      if (i % 500 === 0) maxActive = Math.max(maxActive, mx.memory().active);
      void t;
    }
    const after = mx.memory().active;
    // 10,000 live temporaries would hold ~10 GiB; V8's external-memory pressure keeps only a bounded few alive.
    expect(after - before).toBeLessThan(512 * 1024 * 1024);
    expect(maxActive - before).toBeLessThan(512 * 1024 * 1024);
    expect(base.index("0, 0").item()).toBe(1);
  });

  it("returns to the starting active memory once the temporaries are collected", async () => {
    const gc = globalThis.gc;
    if (!gc) return; // the measurement below needs --expose-gc; the bound above holds without it
    const before = mx.memory().active;
    for (let i = 0; i < 1000; i++) mx.ones([256, 256]).add(i).eval();
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    expect(mx.memory().active - before).toBeLessThan(4 * 256 * 256 * 4);
  });
});
