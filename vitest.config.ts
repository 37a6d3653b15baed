import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The GPU suite has its own config (vitest.gpu.config.ts, `npm run test:gpu`).
    exclude: ["test/gpu/**", "**/node_modules/**"],
    // Deterministic random-weight checkpoints (scripts/make-fixtures.py) are built once before any file runs.
    globalSetup: ["test/setup/fixtures.ts"],
    // Native MLX loads and real kernels are slow on a 2-core CI box; one file at a time keeps memory predictable.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
