// Starts a kernel: the Session on this (main) thread, the sockets in a wire process, and the glue between.
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { processInterrupter } from "../session/interrupt.js";
import type { SessionApi } from "../session/types.js";
import { readConnectionFile } from "./connection.js";
import { kernelInfoContent } from "./kernel-info.js";
import { makeMessage, type OutgoingMessage } from "./messages.js";
import { Shell } from "./shell.js";
import { decodeBytes, encodeBytes, type MainToWorker, type WorkerInit, type WorkerToMain } from "./worker-protocol.js";

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

function post(wire: ChildProcess, m: MainToWorker): void {
  if (!wire.connected) return;
  try {
    wire.send(m);
  } catch (e) {
    try {
      wire.send(JSON.parse(JSON.stringify(m, jsonSafe)) as MainToWorker);
    } catch {
      log(`dropped an outgoing ${m.type === "send" ? m.msg.header.msg_type : m.type} message that cannot be sent as JSON: ${(e as Error).message}`);
    }
  }
}

export async function runKernel(connectionFile: string, createSession: SessionFactory): Promise<KernelHandle> {
  const connection = readConnectionFile(connectionFile);
  const sessionId = randomUUID();
  let session: SessionApi | undefined;
  let shell: Shell | undefined;

  // SIGINT (also what the wire process turns interrupt_request into) belongs to the session's interrupter,
  // from the first moment so an early one does not end the process; the session stops its cell itself.
  processInterrupter().subscribe(() => shell?.onInterrupt());

  // The sockets come up while the session loads (importing TypeScript alone takes about a second).
  const init: WorkerInit = { connection, session: sessionId, shutdownGraceMs: 4000 };
  const worker = fork(fileURLToPath(new URL("./wire-process.js", import.meta.url)), [], { serialization: "json", stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
  post(worker, { type: "init", init });
  const send = (msg: OutgoingMessage): void => post(worker, { type: "send", msg: encodeBytes(msg) });

  worker.on("error", (e) => {
    log(`wire process failed: ${e.stack ?? e.message}`);
    process.exit(1);
  });
  worker.on("exit", (code, signal) => {
    // Without its sockets the kernel is unreachable; exit so Jupyter sees it died (and may restart it).
    log(`wire process exited (${signal ?? `code ${code}`}); the kernel stops`);
    process.exit(code === 0 ? 0 : 1);
  });

  const handle = (m: WorkerToMain, sh: Shell, se: SessionApi): void => {
    switch (m.type) {
      case "shell":
        sh.enqueue(decodeBytes(m.msg));
        break;
      case "barrier":
        sh.onBarrier();
        break;
      case "stdin":
        sh.onStdin(decodeBytes(m.msg));
        break;
      case "shutdown": {
        const restart = m.msg.content.restart === true;
        void se
          .shutdown()
          .catch((e: unknown) => log(`session shutdown failed: ${(e as Error).message}`))
          .finally(() => post(worker, { type: "shutdown-done", request: m.msg, restart }));
        break;
      }
      case "closed":
        process.exit(0);
    }
  };
  /** requests that arrived while the session was still loading, handled in order once it is there */
  const early: WorkerToMain[] = [];
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    worker.on("message", (m: WorkerToMain) => {
      if (m.type === "ready") resolve(m.endpoints);
      else if (m.type === "fatal") reject(new Error(m.message));
      else if (shell && session) handle(m, shell, session);
      else early.push(m);
    });
  });
  ready.catch(() => undefined); // observed below; a bind failure must not surface as an unhandled rejection first

  try {
    session = await createSession();
  } catch (e) {
    worker.kill();
    throw e;
  }
  const kernelInfo = kernelInfoContent(session.banner());
  post(worker, { type: "kernel-info", content: kernelInfo });
  const sh = new Shell({
    session,
    sessionId,
    kernelInfo,
    send,
    barrier: () => post(worker, { type: "barrier" }),
    ports: { shell_port: connection.shell_port, iopub_port: connection.iopub_port, stdin_port: connection.stdin_port, hb_port: connection.hb_port, control_port: connection.control_port },
  });
  const endpoints = await ready;
  send(makeMessage("iopub", "status", { execution_state: "starting" }, undefined, sessionId));
  shell = sh;
  for (const m of early.splice(0)) handle(m, sh, session);
  return { shell: sh, endpoints };
}
