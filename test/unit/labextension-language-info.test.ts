// The kernel's language_info names the extension's editor language, with TypeScript's mime type beside it
// for a JupyterLab without the extension (JupyterLab's findBest: by name, then by mime).
import { describe, expect, it } from "vitest";
import { kernelInfoContent } from "../../kernel/jupyter/kernel-info.js";
import { LANGUAGE_NAME } from "../../labextension/src/cell-language.js";

describe("language_info.codemirror_mode", () => {
  it("is the extension's language by name, and JupyterLab's TypeScript by mime", () => {
    const info = kernelInfoContent("").language_info as { name: string; codemirror_mode: { name: string; mime: string } };
    expect(info.codemirror_mode.name).toBe(LANGUAGE_NAME);
    // the mime type JupyterLab 4 registers its TypeScript language under (@jupyterlab/codemirror, language.js)
    expect(info.codemirror_mode.mime).toBe("application/typescript");
    expect(info.name).toBe("typescript");
  });
});
