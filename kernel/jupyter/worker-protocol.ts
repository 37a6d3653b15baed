// Packets between the kernel's main thread (which owns the Session) and the wire process (which owns the
// sockets), over the pipe of pipe.ts. Each has a JSON head (below) and, for Jupyter messages, the
// message's frames: routing ids, then header, parent_header, metadata and content as JSON bytes, then
// buffers. The wire process signs outgoing messages and checks incoming ones; the main thread never
// sees a signature.
import type { ConnectionInfo } from "./connection.js";
import type { JsonObject, SocketName } from "./messages.js";

export interface WorkerInit {
  connection: ConnectionInfo;
  /** the kernel's session id, put in every header it sends */
  session: string;
  /** ms the worker waits for the main thread to finish a shutdown before it forces the exit */
  shutdownGraceMs: number;
}

export type MainToWorker =
  | { type: "init"; init: WorkerInit }
  /** kernel_info_reply content, once the session is loaded, so control can answer while the main thread is busy */
  | { type: "kernel-info"; content: JsonObject }
  /**
   * A message to sign and send; frames: `ids` routing ids, the four JSON parts, then buffers.
   * `merge`: a stream or display update the wire process may merge with its neighbours (coalesce.ts).
   */
  | { type: "send"; socket: SocketName; ids: number; merge?: true }
  /** the oldest shell request the wire process handed over is finished: it reports idle for it */
  | { type: "done" }
  /** echoed back once every message the worker received before it has been posted to the main thread */
  | { type: "barrier" }
  /** the main thread finished shutting down: reply, close sockets, then report "closed" */
  | { type: "shutdown-done"; restart: boolean };

export type WorkerToMain =
  | { type: "ready"; endpoints: Record<string, string> }
  | { type: "fatal"; message: string }
  /** a verified request; frames: `ids` routing ids, the four JSON parts, then buffers */
  | { type: "shell"; ids: number }
  | { type: "stdin"; ids: number }
  | { type: "shutdown"; restart: boolean }
  | { type: "barrier" }
  | { type: "closed" };

