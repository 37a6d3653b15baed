// Which cell a piece of code belongs to, so console output, displays and errors from a callback that
// fires after the cell ended still reach the sink of the cell that scheduled it.
//
// Not AsyncLocalStorage: on Node 20 it enables promise hooks, and a main thread whose JavaScript was
// stopped by the interrupter's terminator (Runtime.terminateExecution, see interrupt.ts) then aborts on Node's
// async-id stack check. Instead the context's timers capture the scheduling cell and restore it around the
// callback; code resumed by a promise belongs to the running cell, or else to the latest one.
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

let active: CellState | undefined;
let fallback: () => CellState | undefined = () => undefined;

export const cellStorage = {
  /** the cell whose callback runs now, else the running cell, else the latest cell */
  getStore(): CellState | undefined {
    return active ?? fallback();
  },
  /** runs `fn` (synchronously) as code of cell `st` */
  run<T>(st: CellState | undefined, fn: () => T): T {
    const prev = active;
    active = st;
    try {
      return fn();
    } finally {
      active = prev;
    }
  },
  /** the session tells where code outside any callback belongs */
  setFallback(f: () => CellState | undefined): void {
    fallback = f;
  },
};
