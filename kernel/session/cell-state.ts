// Which cell a piece of code belongs to. The session runs each cell inside `cellStorage.run(state, ...)`,
// and Node carries that store through timers, promises and I/O callbacks, so console output, displays and
// errors from a callback that fires after the cell ended still reach the sink of the cell that scheduled it.
import { AsyncLocalStorage } from "node:async_hooks";
import type { OutputSink } from "./types.js";

export interface CellState {
  sink: OutputSink;
  /** "3" for In [3], "*" for silent cells */
  label: string;
  executionCount: number;
  controller: AbortController;
  /** async outputs (displays) to wait for before the cell's reply */
  pending: Set<Promise<unknown>>;
}

export const cellStorage = new AsyncLocalStorage<CellState>();
