// The checkout's root: the nearest ancestor of this module holding mlx-ts's package.json, from
// kernel/**.ts and dist/kernel/**.js alike. The addons, .venv, node_modules and the kernelspec are found from it.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: string | undefined;

export function repoRoot(): string {
  if (found !== undefined) return found;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: unknown }).name === "mlx-ts") return (found = dir);
      } catch {
        // an unreadable package.json is not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) {
      throw new Error(`Cannot find the mlx-ts checkout (a package.json named mlx-ts) above ${start}. Run mlx-ts from its repository or installed package.`);
    }
  }
}
