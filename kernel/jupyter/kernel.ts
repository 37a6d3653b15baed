// Starts a kernel: the Session on this (main) thread, the sockets on a wire worker, and the glue between.
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { SessionApi } from "../session/types.js";
import { readConnectionFile } from "./connection.js";
import { kernelInfoContent } from "./kernel-info.js";
import { makeMessage, type OutgoingMessage } from "./messages.js";
import { Shell } from "./shell.js";
import type { MainToWorker, WorkerInit, WorkerToMain } from "./worker-protocol.js";

export type SessionFactory = () => Promise<SessionApi>;

export interface KernelHandle {
  shell: Shell;
  endpoints: Record<string, string>;
}

const log = (text: string): void => {
  process.stderr.write(`mlx-ts kernel: ${text}\n`);
};

/** Structured clone refuses functions and class instances a cell may have put in a bundle; JSON does not. */
function post(worker: Worker, m: MainToWorker): void {
  try {
    worker.postMessage(m);
  } catch {
    worker.postMessage(JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v))) as MainToWorker);
  }
}

export async function runKernel(connectionFile: string, createSession: SessionFactory): Promise<KernelHandle> {
  const connection = readConnectionFile(connectionFile);
  const session = await createSession();
  const sessionId = randomUUID();
  const kernelInfo = kernelInfoContent(session.banner());

  // Node's default SIGINT action kills the process; an interrupt must only stop the running cell.
  // vm's breakOnSigint takes the signal while synchronous cell code runs; this listener covers the rest.
  let shell: Shell | undefined;
  process.on("SIGINT", () => {
    shell?.onInterrupt();
    session.interrupt();
  });

  const init: WorkerInit = { connection, session: sessionId, kernelInfo, shutdownGraceMs: 4000 };
  const worker = new Worker(new URL("./wire-worker.js", import.meta.url), { workerData: init });
  const send = (msg: OutgoingMessage): void => post(worker, { type: "send", msg });
  shell = new Shell({
    session,
    sessionId,
    kernelInfo,
    send,
    barrier: () => post(worker, { type: "barrier" }),
    ports: { shell_port: connection.shell_port, iopub_port: connection.iopub_port, stdin_port: connection.stdin_port, hb_port: connection.hb_port, control_port: connection.control_port },
  });
  const sh = shell;

  const endpoints = await new Promise<Record<string, string>>((resolve, reject) => {
    worker.on("error", (e) => {
      log(`wire worker crashed: ${e.stack ?? e.message}`);
      process.exit(1);
    });
    worker.on("exit", (code) => {
      if (code !== 0) {
        log(`wire worker exited with code ${code}`);
        process.exit(1);
      }
    });
    worker.on("message", (m: WorkerToMain) => {
      switch (m.type) {
        case "ready":
          resolve(m.endpoints);
          break;
        case "fatal":
          reject(new Error(m.message));
          break;
        case "shell":
          sh.enqueue(m.msg);
          break;
        case "barrier":
          sh.onBarrier();
          break;
        case "stdin":
          sh.onStdin(m.msg);
          break;
        case "shutdown": {
          const restart = m.msg.content.restart === true;
          void session
            .shutdown()
            .catch((e: unknown) => log(`session shutdown failed: ${(e as Error).message}`))
            .finally(() => post(worker, { type: "shutdown-done", request: m.msg, restart }));
          break;
        }
        case "closed":
          process.exit(0);
      }
    });
  });
  send(makeMessage("iopub", "status", { execution_state: "starting" }, undefined, sessionId));
  return { shell: sh, endpoints };
}
