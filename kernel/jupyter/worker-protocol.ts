// Messages between the kernel's main thread (which owns the Session) and the wire process (which owns
// the sockets). The channel carries JSON (twice as fast as "advanced" serialization for the many small
// output messages a cell makes), so routing ids and buffers travel as base64 strings.
import type { ConnectionInfo } from "./connection.js";
import type { JsonObject, JupyterMessage, OutgoingMessage } from "./messages.js";

export interface WorkerInit {
  connection: ConnectionInfo;
  /** the kernel's session id, put in every header it sends */
  session: string;
  /** ms the worker waits for the main thread to finish a shutdown before it forces the exit */
  shutdownGraceMs: number;
}

/** A message with its byte fields (routing ids, buffers) as base64, for the JSON channel. */
export type OnChannel<T extends { ids: Uint8Array[]; buffers?: Uint8Array[] }> = Omit<T, "ids" | "buffers"> & { ids: string[]; buffers: string[] };

const toB64 = (a: readonly Uint8Array[] | undefined): string[] => (a ?? []).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64"));
const fromB64 = (a: readonly string[]): Buffer[] => a.map((s) => Buffer.from(s, "base64"));

export function encodeBytes<T extends { ids: Uint8Array[]; buffers?: Uint8Array[] }>(m: T): OnChannel<T> {
  return { ...m, ids: toB64(m.ids), buffers: toB64(m.buffers) };
}

export function decodeBytes<T extends { ids: Uint8Array[]; buffers?: Uint8Array[] }>(m: OnChannel<T>): T {
  return { ...m, ids: fromB64(m.ids), buffers: fromB64(m.buffers) } as unknown as T;
}

export type MainToWorker =
  | { type: "init"; init: WorkerInit }
  /** kernel_info_reply content, once the session is loaded, so control can answer while the main thread is busy */
  | { type: "kernel-info"; content: JsonObject }
  | { type: "send"; msg: OnChannel<OutgoingMessage> }
  /** echoed back once every message the worker received before it has been posted to the main thread */
  | { type: "barrier" }
  /** the main thread finished shutting down: reply, close sockets, then report "closed" */
  | { type: "shutdown-done"; request: OnChannel<JupyterMessage>; restart: boolean };

export type WorkerToMain =
  | { type: "ready"; endpoints: Record<string, string> }
  | { type: "fatal"; message: string }
  | { type: "shell"; msg: OnChannel<JupyterMessage> }
  | { type: "stdin"; msg: OnChannel<JupyterMessage> }
  | { type: "shutdown"; msg: OnChannel<JupyterMessage> }
  | { type: "barrier" }
  | { type: "closed" };
