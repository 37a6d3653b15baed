// The contract between front ends (kernel/jupyter, repl/) and the Session (kernel/session).
// The session never knows about ZeroMQ or readline: it talks to a front end through an OutputSink.

import type { MimeBundle, OutputSink } from "../protocol.js";

export type { DisplayOptions, MimeBundle, OutputSink } from "../protocol.js";

export interface ExecuteRequest {
  code: string;
  silent: boolean;
  storeHistory: boolean;
  allowStdin: boolean;
}

export type ExecuteOutcome =
  | {
      status: "ok";
      executionCount: number;
      /** the value of the last expression, already a mime bundle; absent when undefined or silent */
      result?: MimeBundle;
      /** Jupyter payloads (e.g. { source: "page", data: {...}, start: 0 }) */
      payload: Record<string, unknown>[];
    }
  | {
      status: "error";
      executionCount: number;
      ename: string;
      evalue: string;
      /** lines pointing at the user's cell and line, not at our internals */
      traceback: string[];
    };

export interface CompleteReply {
  matches: string[];
  /** code-point offsets into the code */
  cursorStart: number;
  cursorEnd: number;
  /** optional per-match types/signatures for _jupyter_types_experimental */
  types?: { text: string; type: string; start: number; end: number; signature?: string }[];
}

export interface InspectReply {
  found: boolean;
  data: MimeBundle;
}

export interface IsCompleteReply {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}

export interface HistoryEntry {
  session: number;
  line: number;
  input: string;
}

export interface HistoryQuery {
  kind: "tail" | "range" | "search";
  n?: number;
  session?: number;
  start?: number;
  stop?: number;
  pattern?: string;
  unique?: boolean;
}

export interface SessionApi {
  readonly executionCount: number;
  execute(req: ExecuteRequest, sink: OutputSink): Promise<ExecuteOutcome>;
  complete(code: string, cursorPos: number): Promise<CompleteReply>;
  inspect(code: string, cursorPos: number, detailLevel: 0 | 1): Promise<InspectReply>;
  isComplete(code: string): IsCompleteReply;
  history(q: HistoryQuery): HistoryEntry[];
  /** Stops the running cell: breaks a synchronous loop, rejects its pending await, cancels native generations. State survives. */
  interrupt(): void;
  /** Banner text for kernel_info (MLX version and backend). */
  banner(): string;
  shutdown(): Promise<void>;
}
