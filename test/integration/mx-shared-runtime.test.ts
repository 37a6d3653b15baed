// The mx addon and the engine addon link the same libmlx.so, so they share one MLX runtime: arrays
// made through mx count in the memory the engine reports (what %memory shows).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mx } from "../../kernel/mx/index.js";

const engineAddon = join(process.cwd(), "native", "build", "Release", "mlx_ts.node");

describe("one MLX runtime for mx and the engine", () => {
  it.skipIf(!existsSync(engineAddon))("counts mx arrays in the engine's memory numbers", () => {
    const engine = createRequire(import.meta.url)(engineAddon) as { memory(): { active: number }; runtime(): { mlxVersion: string } };
    expect(engine.runtime().mlxVersion).toBe(mx.version());
    const before = engine.memory().active;
    const a = mx.zeros([1024, 1024]).eval();
    expect(engine.memory().active - before).toBeGreaterThanOrEqual(a.nbytes);
    expect(mx.memory().active).toBe(engine.memory().active);
  });
});
