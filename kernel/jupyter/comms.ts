// Comm registry (comm_open / comm_msg / comm_close / comm_info). Targets are registered by name;
// a comm_open for a target nobody registered is answered with comm_close, as ipykernel does.
import type { JsonObject } from "./messages.js";

export interface Comm {
  readonly id: string;
  readonly targetName: string;
  /** sends comm_msg to the front end */
  send(data: JsonObject, metadata?: JsonObject, buffers?: Uint8Array[]): void;
  close(data?: JsonObject): void;
  onMessage?: (data: JsonObject, buffers: Uint8Array[]) => void;
  onClose?: (data: JsonObject) => void;
}

/** Called on comm_open for its target; may set onMessage/onClose on the comm. */
export type CommTarget = (comm: Comm, data: JsonObject, buffers: Uint8Array[]) => void;

export interface CommTransport {
  send(type: "comm_msg" | "comm_close", content: JsonObject, metadata?: JsonObject, buffers?: Uint8Array[]): void;
}

export class CommRegistry {
  private readonly targets = new Map<string, CommTarget>();
  private readonly comms = new Map<string, Comm>();

  registerTarget(name: string, target: CommTarget): void {
    this.targets.set(name, target);
  }

  unregisterTarget(name: string): void {
    this.targets.delete(name);
  }

  /** false when no target is registered under that name (the caller then sends comm_close) */
  open(id: string, targetName: string, data: JsonObject, buffers: Uint8Array[], transport: CommTransport): boolean {
    const target = this.targets.get(targetName);
    if (!target) return false;
    const comms = this.comms;
    const comm: Comm = {
      id,
      targetName,
      send: (d, md, bufs) => transport.send("comm_msg", { comm_id: id, data: d }, md, bufs),
      close: (d = {}) => {
        if (!comms.delete(id)) return;
        transport.send("comm_close", { comm_id: id, data: d });
      },
    };
    this.comms.set(id, comm);
    target(comm, data, buffers);
    return true;
  }

  /** false when the comm is unknown */
  message(id: string, data: JsonObject, buffers: Uint8Array[]): boolean {
    const comm = this.comms.get(id);
    if (!comm) return false;
    comm.onMessage?.(data, buffers);
    return true;
  }

  closeFromFrontEnd(id: string, data: JsonObject): boolean {
    const comm = this.comms.get(id);
    if (!comm) return false;
    this.comms.delete(id);
    comm.onClose?.(data);
    return true;
  }

  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const c of this.comms.values()) {
      if (targetName === undefined || c.targetName === targetName) out[c.id] = { target_name: c.targetName };
    }
    return out;
  }
}
