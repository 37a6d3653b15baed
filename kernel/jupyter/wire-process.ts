// The wire process: owns every ZeroMQ socket, so heartbeat and control (kernel_info, interrupt, shutdown)
// keep answering while the kernel's main thread is stuck in a cell such as `while (true) {}`.
// Shell and stdin traffic is verified here and handed to the kernel; whatever the kernel sends comes back
// here to be signed and queued on its socket. `status: busy/idle` for shell requests is sent from here:
// busy as a request is handed over (or as the one before it finishes), idle right after its reply.
//
// Why a child process and not a worker_thread: the session keeps a breakOnSigint watchdog armed, which
// installs Node's raw SIGINT handler without SA_RESTART; a SIGINT landing on a thread inside libzmq then
// surfaces as EINTR in the zeromq binding, which aborts the whole process ("terminate called after
// throwing an instance of 'Napi::Error'"). In a process of its own no signal aimed at the kernel reaches
// the sockets.
import { Socket } from "node:net";
import * as zmq from "zeromq";
import { IopubCoalescer } from "./coalesce.js";
import { endpoint, type Channel } from "./connection.js";
import { makeMessage, type JupyterMessage, type OutgoingMessage, type SocketName } from "./messages.js";
import { FramePipe } from "./pipe.js";
import { ReplayGuard, Signer, decodeVerified, parseFrames, serialize, signedFrames, unsignedFrames, type Parts } from "./wire.js";
import type { MainToWorker, WorkerInit, WorkerToMain } from "./worker-protocol.js";

const kernelPid = process.ppid;

const log = (text: string): void => {
  process.stderr.write(`mlx-ts kernel: ${text}\n`);
};

let closing = false;
const sockets = {
  shell: new zmq.Router({ linger: 1000 }),
  control: new zmq.Router({ linger: 1000 }),
  stdin: new zmq.Router({ linger: 1000 }),
  // XPUB, so each new subscriber can be welcomed (JEP 65); "allSubs" reports every subscription, not
  // only the first for a topic. No high-water mark: what exceeds it is dropped, and a dropped "idle"
  // leaves clients waiting forever.
  iopub: new zmq.XPublisher({ linger: 1000, sendHighWaterMark: 0, verbosity: "allSubs" }),
  hb: new zmq.Reply({ linger: 0 }),
};

let onPacket: ((h: MainToWorker, frames: Buffer[]) => void) | undefined;
const beforeInit: [MainToWorker, Buffer[]][] = [];
let gotInit!: (init: WorkerInit) => void;
const initialized = new Promise<WorkerInit>((resolve) => { gotInit = resolve; });
// fd 3 is the pipe the kernel opened for us (kernel.ts spawns this process with it).
const pipe = new FramePipe<WorkerToMain, MainToWorker>(
  new Socket({ fd: 3, readable: true, writable: true }),
  (h, frames) => {
    if (h.type === "init") gotInit(h.init);
    else if (onPacket) onPacket(h, frames);
    else beforeInit.push([h, frames]);
  },
  // The kernel died without a shutdown: nothing is left to serve.
  () => {
    closing = true;
    for (const s of Object.values(sockets)) s.close();
    process.exit(0);
  },
);
const post = (h: WorkerToMain, frames?: readonly Uint8Array[]): void => pipe.send(h, frames);
// A process-group SIGINT (Ctrl-C in a terminal, or a signal-mode interrupt) is meant for the kernel, which gets it too.
process.on("SIGINT", () => undefined);

const init = await initialized;
const signer = new Signer(init.connection.key, init.connection.signature_scheme);
const replay = new ReplayGuard();

type Sendable = zmq.Router | zmq.XPublisher | zmq.Reply;

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

const queues: Record<SocketName, SendQueue> = {
  shell: new SendQueue(sockets.shell, "shell"),
  control: new SendQueue(sockets.control, "control"),
  stdin: new SendQueue(sockets.stdin, "stdin"),
  iopub: new SendQueue(sockets.iopub, "iopub"),
};

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

/** A message the kernel encoded already: only the signature is added here. */
function sendEncoded(socket: SocketName, ids: Uint8Array[], parts: Parts, buffers: Uint8Array[]): void {
  coalescer.flush();
  if (closing && socket === "stdin") return;
  void queues[socket].push(signedFrames(ids, parts, buffers, signer));
}

function reply(socket: SocketName, parent: JupyterMessage, type: string, content: Record<string, unknown>): Promise<void> {
  return send(makeMessage(socket, type, content, parent, init.session));
}

function status(parent: JupyterMessage | undefined, state: "starting" | "busy" | "idle"): Promise<void> {
  return send(makeMessage("iopub", "status", { execution_state: state }, parent, init.session));
}

/** JEP 65: every new subscriber learns that its subscription is in place, so it knows nothing before is lost. */
function welcome(subscription: string): void {
  // A topic-prefixed subscriber only receives messages whose first frame starts with its topic.
  const ids = subscription ? [Buffer.from(subscription)] : [];
  void send(makeMessage("iopub", "iopub_welcome", { subscription }, undefined, init.session, { ids }));
}

async function subscriptions(): Promise<void> {
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for await (const frames of sockets.iopub) {
    const f = frames[0];
    // 1 = subscribe, 0 = unsubscribe; anything else is not a subscription message.
    if (closing || !f || f[0] !== 1) continue;
    let topic: string;
    try {
      topic = utf8.decode(f.subarray(1));
    } catch {
      continue;
    }
    welcome(topic);
  }
}

/**
 * Shell requests handed to the main thread and not finished yet, oldest first. The main thread runs them
 * one at a time in this order, so the oldest is the one running and each "done" finishes it.
 */
const inflight: JupyterMessage[] = [];

function handOver(msg: JupyterMessage, frames: readonly Uint8Array[], delimiter: number): void {
  post({ type: "shell", ids: delimiter }, unsignedFrames(frames, delimiter));
  inflight.push(msg);
  if (inflight.length === 1) void status(msg, "busy");
}

function finishOldest(): void {
  const finished = inflight.shift();
  if (!finished) {
    log("the kernel finished a shell request the wire process never handed over; ignored");
    return;
  }
  void status(finished, "idle");
  const next = inflight[0];
  if (next) void status(next, "busy");
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

async function finishShutdown(restart: boolean, forced: boolean): Promise<void> {
  if (!shutdownPending) return;
  const { request, socket, timer } = shutdownPending;
  clearTimeout(timer);
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
    // A kernel inside a CUDA JIT compile does not act on SIGTERM (NVRTC's signal handler takes it), so
    // one still there shortly after is killed outright.
    setTimeout(() => {
      try {
        process.kill(kernelPid, "SIGKILL");
      } catch {
        // already gone
      }
      process.exit(0);
    }, 300);
    return;
  }
  post({ type: "closed" });
}

function beginShutdown(msg: JupyterMessage, socket: SocketName): void {
  if (shutdownPending) return;
  void status(msg, "busy");
  const restart = msg.content.restart === true;
  const timer = setTimeout(() => void finishShutdown(restart, true), init.shutdownGraceMs);
  shutdownPending = { request: msg, socket, timer };
  post({ type: "shutdown", restart });
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
    else if (ch === "stdin") post({ type: "stdin", ids: r.delimiter }, unsignedFrames(frames, r.delimiter));
    else if (msg.header.msg_type === "shutdown_request") beginShutdown(msg, "shell");
    else handOver(msg, frames, r.delimiter);
  }
}

async function heartbeat(): Promise<void> {
  const hb = sockets.hb;
  for await (const frames of hb) await hb.send(frames);
}

function fromMain(h: MainToWorker, frames: Buffer[]): void {
  switch (h.type) {
    case "send": {
      if (h.merge) {
        coalescer.push({ socket: h.socket, ...decodeVerified(frames, h.ids) });
        return;
      }
      const [a, b, c, d] = frames.slice(h.ids, h.ids + 4);
      if (!a || !b || !c || !d) {
        log(`dropped a ${h.socket} message from the kernel with ${frames.length - h.ids} of its 4 parts`);
        return;
      }
      sendEncoded(h.socket, frames.slice(0, h.ids), [a, b, c, d], frames.slice(h.ids + 4));
      return;
    }
    case "done":
      finishOldest();
      return;
    case "kernel-info":
      kernelInfo = h.content;
      for (const w of infoWaiting.splice(0)) void answerKernelInfo(w, h.content);
      return;
    case "barrier":
      post({ type: "barrier" });
      return;
    case "shutdown-done":
      void finishShutdown(h.restart, false);
      return;
    case "init":
      return;
  }
}
onPacket = fromMain;
for (const [h, frames] of beforeInit.splice(0)) fromMain(h, frames);

const swallowClosed = (ch: string) => (e: unknown) => {
  if (!closing) log(`${ch} receive loop ended: ${(e as Error).message}`);
};

bindAll().then(
  (endpoints) => {
    for (const ch of ["shell", "control", "stdin"] as const) receive(ch).catch(swallowClosed(ch));
    subscriptions().catch(swallowClosed("iopub"));
    heartbeat().catch(swallowClosed("hb"));
    void status(undefined, "starting");
    post({ type: "ready", endpoints });
  },
  (e: unknown) => post({ type: "fatal", message: (e as Error).message }),
);
