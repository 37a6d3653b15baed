// Messages between the session and its language-service worker.
import type { Completion, QuickInfo, TypeDiagnostic } from "./language-service.js";

export type LsRequest =
  | { id: number; op: "addCell"; code: string }
  | { id: number; op: "complete"; code: string; offset: number }
  | { id: number; op: "quickInfo"; code: string; offset: number }
  | { id: number; op: "diagnostics"; code: string }
  | { id: number; op: "warm" };

/** id 0 is the worker's own report after a full collection: its live heap, in bytes */
export type LsResponse =
  | { id: number; ok: true; completions?: Completion[]; quickInfo?: QuickInfo | undefined; diagnostics?: TypeDiagnostic[]; heapUsed?: number }
  | { id: number; ok: false; error: string };
