// The channel between the kernel's main thread and the wire process: packets of byte frames over a pipe,
// each packet `u32 size of the rest, u32 frame count, then per frame u32 length + bytes` (little-endian).
// The first frame is a small JSON head saying what the packet is; Jupyter messages follow as the frames
// they have on the wire, so routing ids, JSON parts and buffers cross as they are, with no base64 and no
// second JSON encoding.
import type { Socket } from "node:net";

/** One packet as bytes. */
export function encodePacket(head: object, frames: readonly Uint8Array[] = []): Buffer {
  const headBytes = Buffer.from(JSON.stringify(head));
  let size = 8 + 4 + headBytes.length;
  for (const f of frames) size += 4 + f.byteLength;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(size - 4, 0);
  out.writeUInt32LE(frames.length + 1, 4);
  out.writeUInt32LE(headBytes.length, 8);
  headBytes.copy(out, 12);
  let at = 12 + headBytes.length;
  for (const f of frames) {
    out.writeUInt32LE(f.byteLength, at);
    out.set(f, at + 4);
    at += 4 + f.byteLength;
  }
  return out;
}

/** Cuts a byte stream back into packets, however the stream was split into chunks. */
export class PacketReader {
  /** chunks of a packet not complete yet, and how many bytes they hold */
  private chunks: Buffer[] = [];
  private held = 0;
  /** size of the packet being collected (its leading u32 included), once known */
  private need = 0;

  constructor(private readonly onPacket: (head: unknown, frames: Buffer[]) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    // A big packet arrives in many chunks: they are joined once it is complete, not at every chunk.
    while (this.held >= 4) {
      if (!this.need) {
        if (this.chunks[0]!.length < 4) this.join();
        this.need = 4 + this.chunks[0]!.readUInt32LE(0);
      }
      if (this.held < this.need) return;
      const buf = this.join();
      const end = this.need;
      this.need = 0;
      const rest = buf.subarray(end);
      this.chunks = rest.length ? [rest] : [];
      this.held = rest.length;
      const frames = framesOf(buf.subarray(0, end));
      this.onPacket(JSON.parse(frames[0]!.toString("utf8")) as unknown, frames.slice(1));
    }
  }

  private join(): Buffer {
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.held);
    this.chunks = [buf];
    return buf;
  }
}

function framesOf(packet: Buffer): Buffer[] {
  const count = packet.readUInt32LE(4);
  const frames: Buffer[] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    const n = packet.readUInt32LE(at);
    frames.push(packet.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return frames;
}

/** Both ends of the pipe use this: send packets, get packets, and learn when the other side is gone. */
export class FramePipe<Out extends object, In> {
  private corked = false;

  constructor(
    private readonly sock: Socket,
    onPacket: (head: In, frames: Buffer[]) => void,
    onClose: () => void,
  ) {
    const reader = new PacketReader((h, f) => onPacket(h as In, f));
    sock.on("data", (chunk: Buffer) => reader.push(chunk));
    sock.on("close", onClose);
    // EPIPE/ECONNRESET: the other process died; "close" follows and says so.
    sock.on("error", () => undefined);
  }

  get open(): boolean {
    return this.sock.writable;
  }

  send(head: Out, frames: readonly Uint8Array[] = []): void {
    if (this.sock.writable) this.sock.write(encodePacket(head, frames));
  }

  /** Holds writes until uncork(), so a reply and what ends its request leave in one write. */
  cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.sock.cork();
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.sock.uncork();
  }
}
