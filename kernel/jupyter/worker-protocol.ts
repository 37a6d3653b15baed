// Messages between the main thread (which owns the Session) and the wire worker (which owns the sockets).
import type { ConnectionInfo } from "./connection.js";
import type { JsonObject, JupyterMessage, OutgoingMessage } from "./messages.js";

export interface WorkerInit {
  connection: ConnectionInfo;
  /** the kernel's session id, put in every header it sends */
  session: string;
  /** kernel_info_reply content, so control can answer while the main thread is busy */
  kernelInfo: JsonObject;
  /** ms the worker waits for the main thread to finish a shutdown before it forces the exit */
  shutdownGraceMs: number;
}

export type MainToWorker =
  | { type: "send"; msg: OutgoingMessage }
  /** echoed back once every message the worker received before it has been posted to the main thread */
  | { type: "barrier" }
  /** the main thread finished shutting down: reply, close sockets, then report "closed" */
  | { type: "shutdown-done"; request: JupyterMessage; restart: boolean };

export type WorkerToMain =
  | { type: "ready"; endpoints: Record<string, string> }
  | { type: "fatal"; message: string }
  | { type: "shell"; msg: JupyterMessage }
  | { type: "stdin"; msg: JupyterMessage }
  | { type: "shutdown"; msg: JupyterMessage }
  | { type: "barrier" }
  | { type: "closed" };
