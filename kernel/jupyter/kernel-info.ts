// kernel_info_reply content: who we are, which language, and the session's banner.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { repoRoot } from "../util/repo-root.js";
import { PROTOCOL_VERSION, type JsonObject } from "./messages.js";

export function packageVersion(): string {
  const pj = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version?: string };
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

/** The editor language JupyterLab looks up: the extension's by name, else JupyterLab's TypeScript by mime type. */
export const CODEMIRROR_MODE = { name: "mlx-ts", mime: "application/typescript" } as const;

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
      // JupyterLab picks one editor language per cell from this: by name, then by mime type. Our extension
      // (labextension/) registers "mlx-ts", TypeScript with `%` lines and `%%` bodies as plain text; a
      // JupyterLab without it finds no such name and takes TypeScript by the mime type.
      codemirror_mode: CODEMIRROR_MODE,
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
