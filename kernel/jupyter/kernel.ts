// Starts a kernel: the Session on this (main) thread, the sockets in a wire process, and the glue between.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { processInterrupter } from "../session/interrupt.js";
import type { SessionApi } from "../session/types.js";
import { readConnectionFile } from "./connection.js";
import { cutOffLiveGenerations } from "../display/token-stream.js";
import { kernelInfoContent } from "./kernel-info.js";
import type { OutgoingMessage } from "./messages.js";
import { coalescable } from "./coalesce.js";
import { Outbox } from "./outbox.js";
import { FramePipe } from "./pipe.js";
import { Shell } from "./shell.js";
import { decodeVerified, encodeParts, type Parts } from "./wire.js";
import type { MainToWorker, WorkerInit, WorkerToMain } from "./worker-protocol.js";

export type SessionFactory = () => Promise<SessionApi>;

export interface KernelHandle {
  shell: Shell;
  endpoints: Record<string, string>;
}

const log = (text: string): void => {
  process.stderr.write(`mlx-ts kernel: ${text}\n`);
};

/** JSON cannot hold BigInt; a cell may still have put one in a display's data. */
const jsonSafe = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? v.toString() : v);

function partsOf(msg: OutgoingMessage): Parts | undefined {
  try {
    return encodeParts(msg);
  } catch (e) {
    try {
      return encodeParts(msg, jsonSafe);
    } catch {
      log(`dropped an outgoing ${msg.header.msg_type} message that cannot be sent as JSON: ${(e as Error).message}`);
      return undefined;
    }
  }
}

export async function runKernel(connectionFile: string, createSession: SessionFactory): Promise<KernelHandle> {
  // Jupyter front ends render ANSI colours in stream output, but stdout here is a pipe, so chalk and its
  // kind (supports-color) would pick level 0 in cells. NO_COLOR or an explicit FORCE_COLOR still win.
  if (process.env.FORCE_COLOR === undefined && process.env.NO_COLOR === undefined) process.env.FORCE_COLOR = "1";
  const connection = readConnectionFile(connectionFile);
  const sessionId = randomUUID();
  let session: SessionApi | undefined;
  let shell: Shell | undefined;

  // SIGINT (also what the wire process turns interrupt_request into) belongs to the session's interrupter,
  // from the first moment so an early one does not end the process; the session stops its cell itself.
  processInterrupter().subscribe(() => shell?.onInterrupt());

  // The sockets come up while the session loads (importing TypeScript alone takes about a second).
  const init: WorkerInit = { connection, session: sessionId, shutdownGraceMs: 1500 };
  const worker = spawn(process.execPath, [fileURLToPath(new URL("./wire-process.js", import.meta.url))], { stdio: ["ignore", "inherit", "inherit", "pipe"] });
  let onPacket: (h: WorkerToMain, frames: Buffer[]) => void = () => undefined;
  // The wire process owns the other end; it exits when this pipe closes (the kernel died).
  const pipe = new FramePipe<MainToWorker, WorkerToMain>(worker.stdio[3] as Socket, (h, f) => onPacket(h, f), () => undefined);
  pipe.send({ type: "init", init });
  const out = new Outbox(pipe);
  const sendWith = (write: (h: MainToWorker, frames: Uint8Array[]) => void) => (msg: OutgoingMessage): void => {
    const parts = partsOf(msg);
    if (!parts) return;
    const head: MainToWorker = coalescable(msg) ? { type: "send", socket: msg.socket, ids: msg.ids.length, merge: true } : { type: "send", socket: msg.socket, ids: msg.ids.length };
    write(head, [...msg.ids, ...parts, ...(msg.buffers ?? [])]);
  };
  const send = sendWith((h, f) => out.send(h, f));

  const handle = (m: WorkerToMain, frames: Buffer[], sh: Shell, se: SessionApi): void => {
    switch (m.type) {
      case "shell":
        sh.enqueue(decodeVerified(frames, m.ids));
        break;
      case "barrier":
        sh.onBarrier();
        break;
      case "stdin":
        sh.onStdin(decodeVerified(frames, m.ids));
        break;
      case "shutdown":
        // Before the interrupt that shutdown sends: a generation's display ends as cut off, not with a live cursor.
        cutOffLiveGenerations(m.restart ? "cut off by restart" : "cut off: the kernel shut down");
        void se
          .shutdown()
          .catch((e: unknown) => log(`session shutdown failed: ${(e as Error).message}`))
          .finally(() => out.send({ type: "shutdown-done", restart: m.restart }));
        break;
      case "closed":
        process.exit(0);
    }
  };
  /** requests that arrived while the session was still loading, handled in order once it is there */
  const early: [WorkerToMain, Buffer[]][] = [];
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    onPacket = (m, frames) => {
      if (m.type === "ready") resolve(m.endpoints);
      else if (m.type === "fatal") reject(new Error(m.message));
      else if (shell && session) handle(m, frames, shell, session);
      else early.push([m, frames]);
    };
  });
  ready.catch(() => undefined); // observed below; a bind failure must not surface as an unhandled rejection first

  try {
    session = await createSession();
  } catch (e) {
    worker.kill();
    throw e;
  }
  const kernelInfo = kernelInfoContent(session.banner());
  out.send({ type: "kernel-info", content: kernelInfo });
  const sh = new Shell({
    session,
    sessionId,
    kernelInfo,
    send,
    sendSoon: sendWith((h, f) => out.sendSoon(h, f)),
    hold: () => out.hold(),
    done: () => out.done({ type: "done" }),
    barrier: () => out.send({ type: "barrier" }),
    ports: { shell_port: connection.shell_port, iopub_port: connection.iopub_port, stdin_port: connection.stdin_port, hb_port: connection.hb_port, control_port: connection.control_port },
  });
  const endpoints = await ready;
  shell = sh;
  for (const [m, frames] of early.splice(0)) handle(m, frames, sh, session);
  return { shell: sh, endpoints };
}
