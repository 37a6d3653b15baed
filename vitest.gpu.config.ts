import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

// Cheapest first, so that a run cut short by a device lease still reports the most; the later files
// JIT-compile more kernels on a cold machine.
const ORDER = ["sigterm", "kernels", "session", "interop", "parity", "kernel"];
class GpuOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = ORDER.findIndex((n) => f.moduleId.endsWith(`/${n}.test.ts`));
      return i < 0 ? ORDER.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

// `npm run test:gpu`: the GPU suite (test/gpu), run on a machine whose MLX has a CUDA or Metal backend
// (on the lent H200: see README's GPU section). Elsewhere every file skips, after one line saying why.
export default defineConfig({
  test: {
    include: ["test/gpu/*.test.ts"],
    globalSetup: ["test/setup/fixtures.ts", "test/gpu/setup.ts"],
    fileParallelism: false,
    sequence: { sequencer: GpuOrder },
    // First use of a quantized-matmul kernel variant JIT-compiles for up to a minute on CUDA.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
