// vitest globalSetup of vitest.gpu.config.ts: one line saying which GPU the suite runs on, or why it skips.
import { gpuStatus } from "./gpu.js";

export default function setup(): void {
  process.stderr.write(`${gpuStatus().line}\n`);
}
