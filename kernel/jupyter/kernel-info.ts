// kernel_info_reply content: who we are, which language, and the session's banner.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROTOCOL_VERSION, type JsonObject } from "./messages.js";

/** The checkout's root: the nearest ancestor of this file with the mlx-ts package.json (works from src and dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "mlx-ts") return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the mlx-ts package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function packageVersion(): string {
  const pj = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: string };
  return pj.version ?? "0.0.0";
}

export function typescriptVersion(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req("typescript/package.json") as { version: string }).version;
  } catch {
    return "5";
  }
}

export function kernelInfoContent(banner: string): JsonObject {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "mlx-ts",
    implementation_version: packageVersion(),
    language_info: {
      name: "typescript",
      version: typescriptVersion(),
      mimetype: "text/typescript",
      file_extension: ".ts",
      codemirror_mode: "typescript",
      pygments_lexer: "typescript",
    },
    banner,
    debugger: false,
    help_links: [
      { text: "MLX", url: "https://ml-explore.github.io/mlx/" },
      { text: "TypeScript", url: "https://www.typescriptlang.org/docs/" },
      { text: "Jupyter messaging", url: "https://jupyter-client.readthedocs.io/en/latest/messaging.html" },
    ],
  };
}
