// The wire process: owns every ZeroMQ socket, so heartbeat and control (kernel_info, interrupt, shutdown)
// keep answering while the kernel's main thread is stuck in a cell such as `while (true) {}`.
// Shell and stdin traffic is verified here and handed to the kernel; whatever the kernel sends comes back
// here to be signed and queued on its socket.
//
// Why a child process and not a worker_thread: the session keeps a breakOnSigint watchdog armed, which
// installs Node's raw SIGINT handler without SA_RESTART; a SIGINT landing on a thread inside libzmq then
// surfaces as EINTR in the zeromq binding, which aborts the whole process ("terminate called after
// throwing an instance of 'Napi::Error'"). In a process of its own no signal aimed at the kernel reaches
// the sockets.
import * as zmq from "zeromq";
import { IopubCoalescer } from "./coalesce.js";
import { endpoint, type Channel } from "./connection.js";
import { makeMessage, type JupyterMessage, type OutgoingMessage, type SocketName } from "./messages.js";
import { ReplayGuard, Signer, parseFrames, serialize } from "./wire.js";
import { decodeBytes, encodeBytes, type MainToWorker, type WorkerInit, type WorkerToMain } from "./worker-protocol.js";

if (!process.send) throw new Error("wire-process.js must be started by the kernel with an IPC channel (child_process.fork)");
const init = await new Promise<WorkerInit>((resolve) => process.once("message", (m: MainToWorker) => m.type === "init" && resolve(m.init)));
const kernelPid = process.ppid;

const log = (text: string): void => {
  process.stderr.write(`mlx-ts kernel: ${text}\n`);
};
const post = (m: WorkerToMain): void => {
  if (process.connected) process.send!(m);
};
// A process-group SIGINT (Ctrl-C in a terminal, or a signal-mode interrupt) is meant for the kernel, which gets it too.
process.on("SIGINT", () => undefined);
// The kernel died without a shutdown: nothing is left to serve.
process.on("disconnect", () => {
  closing = true;
  for (const s of Object.values(sockets)) s.close();
  process.exit(0);
});

const signer = new Signer(init.connection.key, init.connection.signature_scheme);
const replay = new ReplayGuard();

type Sendable = zmq.Router | zmq.Publisher | zmq.Reply;

/** zeromq v6 allows one pending send per socket, so every socket gets its own FIFO of sends. */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(
    private readonly sock: Sendable,
    private readonly name: string,
  ) {}

  push(frames: Uint8Array[]): Promise<void> {
    this.tail = this.tail
      .then(() => this.sock.send(frames))
      .catch((e: unknown) => log(`send on ${this.name} failed: ${(e as Error).message}`));
    return this.tail;
  }

  drain(): Promise<void> {
    return this.tail;
  }
}

const sockets = {
  shell: new zmq.Router({ linger: 1000 }),
  control: new zmq.Router({ linger: 1000 }),
  stdin: new zmq.Router({ linger: 1000 }),
  // No high-water mark: a PUB socket drops what exceeds it, and a dropped "idle" leaves clients waiting forever.
  iopub: new zmq.Publisher({ linger: 1000, sendHighWaterMark: 0 }),
  hb: new zmq.Reply({ linger: 0 }),
};
const queues: Record<SocketName, SendQueue> = {
  shell: new SendQueue(sockets.shell, "shell"),
  control: new SendQueue(sockets.control, "control"),
  stdin: new SendQueue(sockets.stdin, "stdin"),
  iopub: new SendQueue(sockets.iopub, "iopub"),
};
let closing = false;

function sendNow(msg: OutgoingMessage): Promise<void> {
  if (closing && msg.socket === "stdin") return Promise.resolve();
  return queues[msg.socket].push(serialize(msg, signer));
}

const coalescer = new IopubCoalescer((m) => void sendNow(m));

function send(msg: OutgoingMessage): Promise<void> {
  if (msg.socket === "iopub") {
    coalescer.push(msg);
    return queues.iopub.drain();
  }
  // Outputs a cell produced before its reply reach the client before the reply.
  coalescer.flush();
  return sendNow(msg);
}

function reply(socket: SocketName, parent: JupyterMessage, type: string, content: Record<string, unknown>): Promise<void> {
  return send(makeMessage(socket, type, content, parent, init.session));
}

function status(parent: JupyterMessage, state: "busy" | "idle"): Promise<void> {
  return send(makeMessage("iopub", "status", { execution_state: state }, parent, init.session));
}

async function bindAll(): Promise<Record<string, string>> {
  const bound: Record<string, string> = {};
  for (const ch of ["shell", "control", "stdin", "iopub", "hb"] as Channel[]) {
    let ep = endpoint(init.connection, ch);
    // Port 0 means "any free port"; the chosen endpoint is reported back.
    if (init.connection.transport === "tcp" && ep.endsWith(":0")) ep = ep.slice(0, -2) + ":*";
    try {
      await sockets[ch].bind(ep);
    } catch (e) {
      throw new Error(`cannot bind ${ch} to ${ep}: ${(e as Error).message}; is another kernel using this connection file?`);
    }
    bound[ch] = sockets[ch].lastEndpoint ?? ep;
  }
  return bound;
}

let shutdownPending: { request: JupyterMessage; socket: SocketName; timer: NodeJS.Timeout } | undefined;

async function finishShutdown(request: JupyterMessage, socket: SocketName, restart: boolean, forced: boolean): Promise<void> {
  if (shutdownPending) clearTimeout(shutdownPending.timer);
  shutdownPending = undefined;
  closing = true;
  const content = { status: "ok", restart };
  await reply(socket, request, "shutdown_reply", content);
  // ipykernel also broadcasts the reply, so every client learns the kernel is going away.
  await send(makeMessage("iopub", "shutdown_reply", content, request, init.session));
  await status(request, "idle");
  coalescer.flush();
  await Promise.all(Object.values(queues).map((q) => q.drain()));
  for (const s of Object.values(sockets)) s.close();
  if (forced) {
    log("the main thread did not finish the shutdown in time (a cell is probably stuck); terminating");
    process.kill(kernelPid, "SIGTERM");
    process.exit(0);
  }
  post({ type: "closed" });
}

function beginShutdown(msg: JupyterMessage, socket: SocketName): void {
  if (shutdownPending) return;
  void status(msg, "busy");
  const restart = msg.content.restart === true;
  const timer = setTimeout(() => void finishShutdown(msg, socket, restart, true), init.shutdownGraceMs);
  shutdownPending = { request: msg, socket, timer };
  post({ type: "shutdown", msg: encodeBytes(msg) });
}

let kernelInfo: Record<string, unknown> | undefined;
const infoWaiting: JupyterMessage[] = [];

async function answerKernelInfo(msg: JupyterMessage, content: Record<string, unknown>): Promise<void> {
  await status(msg, "busy");
  await reply("control", msg, "kernel_info_reply", content);
  await status(msg, "idle");
}

async function onControl(msg: JupyterMessage): Promise<void> {
  const type = msg.header.msg_type;
  switch (type) {
    case "kernel_info_request":
      if (!kernelInfo) {
        infoWaiting.push(msg); // the session is still loading; answered as soon as it is there
        return;
      }
      await answerKernelInfo(msg, kernelInfo);
      return;
    case "interrupt_request":
      await status(msg, "busy");
      // A signal is the one thing that reaches a main thread spinning in synchronous code: the
      // session's interrupter takes it (kernel/session/interrupt.ts) and stops the cell.
      process.kill(kernelPid, "SIGINT");
      await reply("control", msg, "interrupt_reply", { status: "ok" });
      await status(msg, "idle");
      return;
    case "shutdown_request":
      beginShutdown(msg, "control");
      return;
    default:
      log(`unknown control message type "${type}" ignored`);
  }
}

async function receive(ch: "shell" | "control" | "stdin"): Promise<void> {
  const sock = sockets[ch];
  for await (const frames of sock) {
    if (closing) continue;
    const r = parseFrames(frames, signer);
    if (!r.ok) {
      log(`dropped a message on ${ch}: ${r.reason}`);
      continue;
    }
    if (!replay.admit(r.signature)) {
      log(`dropped a message on ${ch}: duplicate signature (replayed message)`);
      continue;
    }
    const msg = r.msg;
    if (ch === "control") await onControl(msg).catch((e: unknown) => log(`control handler failed: ${(e as Error).stack ?? String(e)}`));
    else if (ch === "stdin") post({ type: "stdin", msg: encodeBytes(msg) });
    else if (msg.header.msg_type === "shutdown_request") beginShutdown(msg, "shell");
    else post({ type: "shell", msg: encodeBytes(msg) });
  }
}

async function heartbeat(): Promise<void> {
  const hb = sockets.hb;
  for await (const frames of hb) await hb.send(frames);
}

process.on("message", (m: MainToWorker) => {
  if (m.type === "send") void send(decodeBytes(m.msg));
  else if (m.type === "kernel-info") {
    kernelInfo = m.content;
    for (const w of infoWaiting.splice(0)) void answerKernelInfo(w, m.content);
  }
  else if (m.type === "barrier") post({ type: "barrier" });
  else if (m.type === "shutdown-done") {
    const socket = shutdownPending?.socket ?? "control";
    void finishShutdown(decodeBytes(m.request), socket, m.restart, false);
  }
});

const swallowClosed = (ch: string) => (e: unknown) => {
  if (!closing) log(`${ch} receive loop ended: ${(e as Error).message}`);
};

bindAll().then(
  (endpoints) => {
    for (const ch of ["shell", "control", "stdin"] as const) receive(ch).catch(swallowClosed(ch));
    heartbeat().catch(swallowClosed("hb"));
    post({ type: "ready", endpoints });
  },
  (e: unknown) => post({ type: "fatal", message: (e as Error).message }),
);
