// MLX's process-wide controls (memory counters, limits, allocator cache, default device), bound once:
// from the engine addon, whose MLX runtime kernel/mx shares (both addons link one libmlx). The engine's
// methods and mx.memory()/mx.setDefaultDevice()/... are all this.
import { fromNative } from "./errors.js";
import { loadNative } from "./native.js";
import type { NativeAddon, NativeMemory, NativeRuntimeInfo } from "./native-types.js";

export type RuntimeAddon = Pick<NativeAddon, "runtime" | "memory" | "resetPeakMemory" | "setMemoryLimit" | "setCacheLimit" | "clearCache" | "setDefaultDevice">;

export class RuntimeControls {
  constructor(private readonly addon: () => RuntimeAddon) {}

  /** MLX version, backend, default device and its name */
  runtime(): NativeRuntimeInfo {
    return this.call("Reading the MLX runtime", (n) => n.runtime());
  }

  /** active, peak, cache, limit and cacheLimit, in bytes (one MLX runtime: models and arrays together) */
  memory(): NativeMemory {
    return this.call("Reading MLX memory", (n) => n.memory());
  }

  resetPeakMemory(): void {
    this.call("Resetting peak memory", (n) => n.resetPeakMemory());
  }

  /** returns the previous limit */
  setMemoryLimit(bytes: number): number {
    return this.call(`Setting the memory limit to ${bytes} bytes`, (n) => n.setMemoryLimit(bytes));
  }

  /** returns the previous limit */
  setCacheLimit(bytes: number): number {
    return this.call(`Setting the cache limit to ${bytes} bytes`, (n) => n.setCacheLimit(bytes));
  }

  clearCache(): void {
    this.call("Clearing the MLX cache", (n) => n.clearCache());
  }

  setDevice(device: "cpu" | "gpu"): void {
    this.call(`Switching the default device to ${device}`, (n) => n.setDefaultDevice(device));
  }

  private call<T>(what: string, f: (n: RuntimeAddon) => T): T {
    const n = this.addon();
    try {
      return f(n);
    } catch (e) {
      throw fromNative(e, what);
    }
  }
}

/** The process's controls over the addon loadNative() loads; kernel/mx uses these. */
export const runtimeControls = new RuntimeControls(loadNative);
