// Writes the "mlx-ts" kernelspec (kernel.json + logos) where Jupyter looks for kernels.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { KernelError } from "./errors.js";
import { repoRoot } from "../util/repo-root.js";
import { logoPng } from "./png.js";

export const KERNEL_NAME = "mlx-ts";

export type InstallTarget = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; prefix: string };

/** `jupyter --data-dir`: JUPYTER_DATA_DIR, else the per-user data dir of this platform. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.JUPYTER_DATA_DIR) return resolve(env.JUPYTER_DATA_DIR);
  if (platform === "darwin") return join(homedir(), "Library", "Jupyter");
  if (platform === "win32") return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "jupyter");
  const xdg = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(homedir(), ".local", "share");
  return join(xdg, "jupyter");
}

/** The project's virtual environment: its prefix is where `--sys-prefix` installs go. */
export function venvPrefix(root = repoRoot()): string {
  return join(root, ".venv");
}

export function kernelsDir(target: InstallTarget, root = repoRoot()): string {
  switch (target.kind) {
    case "user":
      return join(userDataDir(), "kernels");
    case "sys-prefix":
      return join(venvPrefix(root), "share", "jupyter", "kernels");
    case "prefix":
      return join(resolve(target.prefix), "share", "jupyter", "kernels");
  }
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: "message" | "signal";
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

/** kernel.json from the template at the repository root, with absolute paths for node and the CLI. */
export function buildKernelSpec(root = repoRoot(), nodePath = process.execPath): KernelSpec {
  const template = JSON.parse(readFileSync(join(root, "kernel.json"), "utf8")) as KernelSpec;
  const cli = join(root, "dist", "bin", "mlx-ts.js");
  const rest = template.argv.slice(2);
  return { ...template, argv: [nodePath, cli, ...rest] };
}

/** Installs the kernelspec and returns the directory written. */
export function installKernelSpec(target: InstallTarget, root = repoRoot()): string {
  const dir = join(kernelsDir(target, root), KERNEL_NAME);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "kernel.json"), JSON.stringify(buildKernelSpec(root), null, 2) + "\n");
    writeFileSync(join(dir, "logo-32x32.png"), logoPng(32));
    writeFileSync(join(dir, "logo-64x64.png"), logoPng(64));
  } catch (e) {
    throw new KernelError("E_INSTALL", `cannot write the kernelspec to ${dir}: ${(e as Error).message}; pick another place with --user, --sys-prefix or --prefix DIR`, { cause: e });
  }
  return dir;
}
