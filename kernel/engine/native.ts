// Loads the C++ addon (native/build/Release/mlx_ts.node) once and types it as the NativeAddon contract.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { repoRoot } from "../util/repo-root.js";
import { useLastingKernelCache } from "./kernel-cache.js";
import { configureKernels, type KernelsConfig } from "./kernels.js";
import type { NativeAddon } from "./native-types.js";
import { MlxTsError } from "./types.js";

const ADDON_RELATIVE = join("native", "build", "Release", "mlx_ts.node");

/** Where the addon is expected: $MLX_TS_ADDON if set, else <repo>/native/build/Release/mlx_ts.node. */
export function addonPath(): string {
  return process.env.MLX_TS_ADDON ?? join(repoRoot(), ADDON_RELATIVE);
}

let cached: NativeAddon | undefined;
let kernels: KernelsConfig | undefined;

/** The custom kernels' table and switches as configured at load (or by the last reconfigureKernels). */
export function kernelsConfig(): KernelsConfig {
  const addon = loadNative();
  return (kernels ??= configureKernels(addon));
}

/** Reads the measured table and MLX_TS_KERNELS again (after %kernels bench wrote a new table). */
export function reconfigureKernels(): KernelsConfig {
  return (kernels = configureKernels(loadNative()));
}

/** Loads the addon once per process. Throws MlxTsError E_NATIVE_UNAVAILABLE when it is missing or fails to load. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new MlxTsError("E_NATIVE_UNAVAILABLE", `the native addon is not built (${path} is missing). Run: npm run build:native`);
  }
  const require = createRequire(import.meta.url);
  try {
    cached = require(path) as NativeAddon;
    useLastingKernelCache(cached.runtime().mlxVersion);
    // the dispatcher needs the sources' folder and this device's measured rules before the first step
    kernels = configureKernels(cached);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new MlxTsError(
      "E_NATIVE_UNAVAILABLE",
      `the native addon at ${path} failed to load (${why}). Rebuild it with: npm run build:native (it links against MLX in .venv; check that .venv exists).`,
      { cause: err },
    );
  }
  return cached;
}
