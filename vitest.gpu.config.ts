import { defineConfig } from "vitest/config";

// `npm run test:gpu`: the GPU suite (test/gpu), run on a machine whose MLX has a CUDA or Metal backend
// (on the lent H200: see README's GPU section). Elsewhere every file skips, after one line saying why.
export default defineConfig({
  test: {
    include: ["test/gpu/*.test.ts"],
    globalSetup: ["test/setup/fixtures.ts", "test/gpu/setup.ts"],
    fileParallelism: false,
    // First use of a quantized-matmul kernel variant JIT-compiles for up to a minute on CUDA.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
