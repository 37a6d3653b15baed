import { defineConfig } from "vitest/config";

// Compute-bound files that hold no kernel process and time nothing (the engine against mlx-lm, unit
// tests): two at a time, after the rest, so each waits less on the other's mlx-lm subprocess on a 2-core
// box. Everything else (real kernels, interrupts, the REPL, the browser, the soak's memory readings) runs
// one file at a time, as timing-sensitive tests need.
const PARALLEL = [
  // not shards-*: their ring ranks (ours and mlx.launch's) crawl when they share the 2 cores with another file
  "test/parity/**/!(shards-)*.test.ts",
  "test/unit/**/*.test.ts",
  "test/integration/engine-*.test.ts",
  "test/integration/native-*.test.ts",
  "test/integration/speculative-engine.test.ts",
  "test/integration/speculative-parity.test.ts",
  "test/integration/speculative-smollm2.test.ts",
  "test/integration/finetune.test.ts",
  "test/integration/batch-engine.test.ts",
];

export default defineConfig({
  test: {
    // Deterministic random-weight checkpoints (scripts/make-fixtures.py) are built once before any file runs.
    globalSetup: ["test/setup/fixtures.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: {
          name: "serial",
          include: ["test/**/*.test.ts"],
          // The GPU suite has its own config (vitest.gpu.config.ts, `npm run test:gpu`).
          exclude: ["test/gpu/**", "**/node_modules/**", ...PARALLEL],
          fileParallelism: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "parallel",
          include: PARALLEL,
          exclude: ["test/gpu/**", "**/node_modules/**"],
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
