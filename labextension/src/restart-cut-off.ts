// Ends the live generation outputs of a notebook when its kernel restarts or dies. The kernel renders
// "cut off by restart" itself, but JupyterLab stops listening to the old kernel the moment a restart
// begins, so without this the output would keep its cursor until the 20 s CSS expiry (token-stream.ts).
// The change goes into the output model, so the saved notebook shows the ended output too.
import type { ICodeCellModel } from "@jupyterlab/cells";
import type { IMimeBundle } from "@jupyterlab/nbformat";
import type { INotebookTracker, NotebookPanel } from "@jupyterlab/notebook";
import type { Kernel } from "@jupyterlab/services";
import { DEAD_NOTE, RESTART_NOTE, cutOffData, isLiveGeneration } from "./cut-off.js";

const NOTES: Partial<Record<Kernel.Status, string>> = {
  restarting: RESTART_NOTE,
  autorestarting: RESTART_NOTE,
  dead: DEAD_NOTE,
};

/** Ends every live mlx-ts generation output of the notebook with `note`; returns how many. */
export function cutOffLiveOutputs(panel: NotebookPanel, note: string): number {
  let count = 0;
  for (const cell of panel.content.model?.cells ?? []) {
    if (cell.type !== "code") continue;
    const outputs = (cell as ICodeCellModel).outputs;
    for (let i = 0; i < outputs.length; i++) {
      const output = outputs.get(i);
      if (!isLiveGeneration(output.data)) continue;
      outputs.set(i, { ...output.toJSON(), data: cutOffData(output.data, note) as IMimeBundle });
      count++;
    }
  }
  return count;
}

export function watchRestarts(tracker: INotebookTracker): void {
  tracker.widgetAdded.connect((_, panel) => {
    // Runs inside the kernel connection's status change, before it drops the old kernel's requests.
    panel.sessionContext.statusChanged.connect((_, status) => {
      const note = NOTES[status];
      if (note !== undefined) cutOffLiveOutputs(panel, note);
    });
  });
}
