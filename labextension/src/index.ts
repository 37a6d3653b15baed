// mlx-ts's JupyterLab extension: the cell editor language (TypeScript with plain-text magic lines and
// `%%` bodies), picked through the kernel's language_info.codemirror_mode, and the end of live generation
// outputs when the kernel restarts.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { IEditorLanguageRegistry } from "@jupyterlab/codemirror";
import { INotebookTracker } from "@jupyterlab/notebook";
import { LANGUAGE_NAME, cellLanguage } from "./cell-language.js";
import { watchRestarts } from "./restart-cut-off.js";

// kernel/jupyter/kernel-info.ts names this in codemirror_mode; without this extension JupyterLab finds no
// language of that name and takes the mime type given beside it, TypeScript's.
export const MIME_TYPE = "text/x-mlx-ts";

const language: JupyterFrontEndPlugin<void> = {
  id: "mlx-ts-labextension:cell-language",
  description: "Highlights mlx-ts cells as TypeScript, with magic lines and %% cell bodies as plain text.",
  autoStart: true,
  requires: [IEditorLanguageRegistry],
  activate: (_app: JupyterFrontEnd, languages: IEditorLanguageRegistry): void => {
    languages.addLanguage({
      name: LANGUAGE_NAME,
      displayName: "TypeScript (mlx-ts)",
      mime: MIME_TYPE,
      extensions: [],
      load: async () => {
        const typescript = await languages.getLanguage("typescript");
        if (!typescript?.support) throw new Error("mlx-ts: JupyterLab's TypeScript language is not available");
        return cellLanguage(typescript.support);
      },
    });
  },
};

const restarts: JupyterFrontEndPlugin<void> = {
  id: "mlx-ts-labextension:restart-cut-off",
  description: "Ends live mlx-ts generation outputs as cut off when their kernel restarts.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker): void => watchRestarts(tracker),
};

export default [language, restarts];
