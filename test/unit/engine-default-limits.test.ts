// The limits MLX started with, as the engine remembers them for `%limit ... default` and the model
// budget's basis: a %limit memory before the first load must not become the budget (on CUDA the budget
// is a share of MLX's default limit; it once took the lowered limit and refused every later load).
import { afterAll, describe, expect, it } from "vitest";
import { createEngine } from "../../kernel/engine/index.js";

describe("engine.defaultLimits", () => {
  const engine = createEngine();
  const start = engine.memory();
  afterAll(() => {
    engine.setMemoryLimit(start.limit);
    engine.setCacheLimit(start.cacheLimit);
    engine.dispose();
  });

  it("keeps the limits from before the first change", () => {
    engine.setMemoryLimit(1_000_000);
    engine.setCacheLimit(2_000_000);
    expect(engine.memory().limit).toBe(1_000_000);
    expect(engine.defaultLimits()).toEqual({ memory: start.limit, cache: start.cacheLimit });
    engine.setMemoryLimit(3_000_000);
    expect(engine.defaultLimits().memory).toBe(start.limit);
  });
});
