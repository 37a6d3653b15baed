// Where MLX's CUDA backend keeps the kernels it JIT-compiles. MLX compiles each kernel variant once with
// NVRTC (40-60 s for a quantized matmul on an H200) and writes the cubin to $MLX_PTX_CACHE_DIR, by default
// <tmp>/mlx/<version>/ptx, which a reboot or a fresh machine loses. We point it at a lasting user cache,
// with the MLX version in the path because the cache files are named by kernel only.
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The folder MLX will use, set in this process's environment before the first JIT compile reads it. */
export function useLastingKernelCache(mlxVersion: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.MLX_PTX_CACHE_DIR;
  if (given) return given;
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const dir = join(base, "mlx-ts", `mlx-${mlxVersion}`, "kernels");
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    // An unwritable home: MLX falls back to its own temp folder, which still works for this boot.
    return join("/tmp", "mlx", mlxVersion, "ptx");
  }
  // MLX reads the variable once, at its first JIT compile, with getenv: process.env writes through setenv.
  env.MLX_PTX_CACHE_DIR = dir;
  return dir;
}
