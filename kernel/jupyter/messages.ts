// Jupyter message shapes (messaging protocol 5.4) shared by the wire worker and the main-thread kernel.
import { randomUUID } from "node:crypto";

export const PROTOCOL_VERSION = "5.4";

export type SocketName = "shell" | "control" | "stdin" | "iopub";

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [extra: string]: unknown;
}

export type JsonObject = Record<string, unknown>;

/** A verified, parsed message. `ids` are the ZeroMQ routing ids a reply must be sent back to. */
export interface JupyterMessage {
  ids: Uint8Array[];
  header: MessageHeader;
  /** the empty object when the message has no parent */
  parent_header: Partial<MessageHeader>;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Uint8Array[];
}

/** What the kernel asks the wire worker to send; the worker adds the signature. */
export interface OutgoingMessage {
  socket: SocketName;
  ids: Uint8Array[];
  header: MessageHeader;
  parent_header: Partial<MessageHeader> | Record<string, never>;
  metadata: JsonObject;
  content: JsonObject;
  buffers?: Uint8Array[];
}

export function makeHeader(msgType: string, session: string, username = "kernel"): MessageHeader {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

/** Builds a message in reply to / caused by `parent` (empty ids for iopub broadcasts). */
export function makeMessage(
  socket: SocketName,
  msgType: string,
  content: JsonObject,
  parent: JupyterMessage | undefined,
  session: string,
  opts: { ids?: Uint8Array[]; metadata?: JsonObject; buffers?: Uint8Array[] } = {},
): OutgoingMessage {
  return {
    socket,
    ids: opts.ids ?? (socket === "iopub" ? [] : parent?.ids ?? []),
    header: makeHeader(msgType, session),
    parent_header: parent ? parent.header : {},
    metadata: opts.metadata ?? {},
    content,
    buffers: opts.buffers,
  };
}

export function replyType(requestType: string): string {
  return requestType.replace(/_request$/, "_reply");
}
