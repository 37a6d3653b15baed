// Shell-channel handling on the main thread: a table from msg_type to handler, one request at a time,
// and the OutputSink that turns a cell's side effects into iopub/stdin. `status: busy/idle` around each
// request is the transport's (the wire process sends it); done() tells it a request is finished.
import type { ExecuteOutcome, HistoryEntry, HistoryQuery, MimeBundle, OutputSink, SessionApi } from "../session/types.js";
import { CommRegistry } from "./comms.js";
import { KernelError } from "./errors.js";
import { makeMessage, replyType, type JsonObject, type JupyterMessage, type OutgoingMessage, type SocketName } from "./messages.js";

export type Send = (msg: OutgoingMessage) => void;
type Handler = (msg: JupyterMessage) => Promise<void>;

const log = (text: string): void => {
  process.stderr.write(`mlx-ts kernel: ${text}\n`);
};

function str(v: unknown, dflt = ""): string {
  return typeof v === "string" ? v : dflt;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function bool(v: unknown, dflt: boolean): boolean {
  return typeof v === "boolean" ? v : dflt;
}
function obj(v: unknown): JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonObject) : {};
}

const END_ABORT = Symbol("end of the abort window");
type QueueItem = JupyterMessage | typeof END_ABORT;

interface PendingInput {
  requestId: string;
  resolve: (value: string) => void;
  reject: (e: Error) => void;
}

export interface ShellOptions {
  session: SessionApi;
  /** the kernel's session id, in every header it sends */
  sessionId: string;
  kernelInfo: JsonObject;
  /** ports for the deprecated connect_request */
  ports?: Record<string, number>;
  send: Send;
  /** the request that started last is finished (its reply, if it has one, was sent): the transport reports idle */
  done: (msg: JupyterMessage) => void;
  /** like send, but the message may wait a little for what follows it (execute_input waits for the cell's first output or reply) */
  sendSoon?: Send;
  /** what is sent from now until done() may leave together (a reply, then done); nothing else runs in between */
  hold?: () => void;
  /** asks the wire worker to echo a barrier (see onBarrier); without it the abort window ends on the next tick */
  barrier?: () => void;
}

export class Shell {
  readonly comms = new CommRegistry();
  private readonly queue: QueueItem[] = [];
  private running = false;
  /** after an error with stop_on_error, queued execute requests are aborted until the queue drains */
  private aborting = false;
  private pendingInput: PendingInput | undefined;
  private current: JupyterMessage | undefined;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly opts: ShellOptions) {
    this.handlers = {
      execute_request: (m) => this.execute(m),
      kernel_info_request: (m) => this.reply(m, opts.kernelInfo),
      complete_request: (m) => this.complete(m),
      inspect_request: (m) => this.inspect(m),
      is_complete_request: (m) => this.isComplete(m),
      history_request: (m) => this.history(m),
      comm_info_request: (m) => this.commInfo(m),
      comm_open: (m) => this.commOpen(m),
      comm_msg: (m) => this.commMsg(m),
      comm_close: (m) => this.commClose(m),
      connect_request: (m) => this.reply(m, { status: "ok", ...(opts.ports ?? {}) }),
    };
  }

  /** Queues a shell request; requests run strictly in arrival order. */
  enqueue(msg: JupyterMessage): void {
    this.enqueueItem(msg);
  }

  /** An input_reply arrived on stdin. */
  onStdin(msg: JupyterMessage): void {
    if (msg.header.msg_type !== "input_reply") {
      log(`unexpected stdin message "${msg.header.msg_type}" ignored`);
      return;
    }
    const p = this.pendingInput;
    if (!p) {
      log("input_reply without a pending input_request ignored");
      return;
    }
    this.pendingInput = undefined;
    const status = str(msg.content.status, "ok");
    if (status !== "ok") p.reject(new KernelError("E_INPUT_INTERRUPTED", "the front end cancelled the input request"));
    else p.resolve(str(msg.content.value));
  }

  /** SIGINT reached the main thread: a pending input() must not keep the cell waiting forever. */
  onInterrupt(): void {
    const p = this.pendingInput;
    this.pendingInput = undefined;
    p?.reject(new KernelError("E_INPUT_INTERRUPTED", "input was interrupted (Kernel > Interrupt or Ctrl-C)"));
  }

  /**
   * The wire worker has posted every request it received before our barrier: those were sent before the
   * client could see the error, so they are aborted; whatever comes after the marker runs normally.
   */
  onBarrier(): void {
    this.enqueueItem(END_ABORT);
  }

  private enqueueItem(item: QueueItem): void {
    this.queue.push(item);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        if (item === END_ABORT) this.aborting = false;
        else await this.dispatch(item);
      }
    } finally {
      this.running = false;
    }
  }

  /** Starts aborting queued execute requests; the barrier (before the error reply goes out) ends the window. */
  private startAborting(): void {
    this.aborting = true;
    if (this.opts.barrier) this.opts.barrier();
    else setImmediate(() => this.onBarrier());
  }

  private async dispatch(msg: JupyterMessage): Promise<void> {
    this.current = msg;
    try {
      const type = msg.header.msg_type;
      const handler = this.handlers[type];
      if (!handler) log(`unknown shell message type "${type}" ignored`);
      else if (this.aborting && type === "execute_request") this.reply(msg, { status: "aborted" }, { status: "aborted" });
      else await handler(msg);
    } catch (e) {
      log(`handler for ${msg.header.msg_type} failed: ${(e as Error).stack ?? String(e)}`);
    } finally {
      this.opts.done(msg);
    }
  }

  private send(socket: SocketName, type: string, content: JsonObject, parent: JupyterMessage | undefined, metadata?: JsonObject, buffers?: Uint8Array[]): OutgoingMessage {
    const m = makeMessage(socket, type, content, parent, this.opts.sessionId, { metadata, buffers });
    this.opts.send(m);
    return m;
  }

  private iopub(type: string, content: JsonObject, parent: JupyterMessage | undefined, metadata?: JsonObject, buffers?: Uint8Array[]): void {
    this.send("iopub", type, content, parent, metadata, buffers);
  }

  /** A reply is the last thing a handler sends: it and the done() that follows go out together. */
  private reply(req: JupyterMessage, content: JsonObject, metadata: JsonObject = {}): Promise<void> {
    this.opts.hold?.();
    this.send("shell", replyType(req.header.msg_type), content, req, metadata);
    return Promise.resolve();
  }

  private sinkFor(parent: JupyterMessage, allowStdin: boolean): OutputSink {
    const display = (type: "display_data" | "update_display_data", data: MimeBundle, o?: { displayId?: string; metadata?: Record<string, unknown> }): void => {
      const content: JsonObject = { data, metadata: o?.metadata ?? {}, transient: o?.displayId !== undefined ? { display_id: o.displayId } : {} };
      this.iopub(type, content, parent);
    };
    return {
      stream: (name, text) => {
        if (text.length > 0) this.iopub("stream", { name, text }, parent);
      },
      display: (data, o) => display("display_data", data, o),
      updateDisplay: (data, o) => display("update_display_data", data, o),
      clearOutput: (wait) => this.iopub("clear_output", { wait }, parent),
      input: (prompt, password) => {
        if (!allowStdin) {
          return Promise.reject(new KernelError("E_STDIN_NOT_ALLOWED", "this front end does not accept input (allow_stdin is false); pass the value in code instead"));
        }
        this.pendingInput?.reject(new KernelError("E_INPUT_INTERRUPTED", "a newer input request replaced this one"));
        return new Promise<string>((resolve, reject) => {
          const m = this.send("stdin", "input_request", { prompt, password }, parent, {}, undefined);
          this.pendingInput = { requestId: m.header.msg_id, resolve, reject };
        });
      },
    };
  }

  private async execute(msg: JupyterMessage): Promise<void> {
    const c = msg.content;
    const code = str(c.code);
    const silent = bool(c.silent, false);
    const storeHistory = bool(c.store_history, !silent);
    const allowStdin = bool(c.allow_stdin, true);
    const stopOnError = bool(c.stop_on_error, true);
    const help = helpRequest(code);
    if (help) {
      await this.page(msg, help.name, help.detail);
      return;
    }
    // The count this cell will get: sessions count only cells stored in history (as IPython does).
    const nextCount = this.opts.session.executionCount + (storeHistory ? 1 : 0);
    if (!silent) (this.opts.sendSoon ?? this.opts.send)(makeMessage("iopub", "execute_input", { code, execution_count: nextCount }, msg, this.opts.sessionId));
    let outcome: ExecuteOutcome;
    try {
      outcome = await this.opts.session.execute({ code, silent, storeHistory, allowStdin }, this.sinkFor(msg, allowStdin));
    } catch (e) {
      // The session reports cell errors as outcomes; a throw here is a bug in it, still shown to the user.
      const err = e instanceof Error ? e : new Error(String(e));
      outcome = { status: "error", executionCount: this.opts.session.executionCount, ename: err.name, evalue: err.message, traceback: [`${err.name}: ${err.message}`] };
    } finally {
      if (this.pendingInput) this.onInterrupt();
    }
    if (outcome.status === "ok") {
      const userExpressions = await this.userExpressions(obj(c.user_expressions));
      this.opts.hold?.();
      if (outcome.result && !silent) {
        this.iopub("execute_result", { execution_count: outcome.executionCount, data: outcome.result, metadata: {} }, msg);
      }
      await this.reply(msg, { status: "ok", execution_count: outcome.executionCount, payload: outcome.payload, user_expressions: userExpressions }, { status: "ok" });
      return;
    }
    const err = { ename: outcome.ename, evalue: outcome.evalue, traceback: outcome.traceback };
    this.opts.hold?.();
    this.iopub("error", err, msg);
    if (stopOnError) this.startAborting();
    await this.reply(msg, { status: "error", execution_count: outcome.executionCount, ...err, user_expressions: {}, payload: [] }, { status: "error" });
  }

  /**
   * user_expressions: each evaluated after a successful cell, outside history and the execution count,
   * with its outputs discarded; the value comes back as a mime bundle (or the error), as IPython does.
   */
  private async userExpressions(exprs: JsonObject): Promise<JsonObject> {
    const out: JsonObject = {};
    const discard: OutputSink = { stream: () => undefined, display: () => undefined, updateDisplay: () => undefined, clearOutput: () => undefined, input: () => Promise.reject(new KernelError("E_STDIN_NOT_ALLOWED", "user_expressions cannot read input")) };
    for (const [key, expr] of Object.entries(exprs)) {
      if (typeof expr !== "string") continue;
      try {
        const r = await this.opts.session.execute({ code: expr, silent: false, storeHistory: false, allowStdin: false }, discard);
        out[key] = r.status === "ok" ? { status: "ok", data: r.result ?? { "text/plain": "undefined" }, metadata: {} } : { status: "error", ename: r.ename, evalue: r.evalue, traceback: r.traceback };
      } catch (e) {
        out[key] = { status: "error", ename: (e as Error).name ?? "Error", evalue: (e as Error).message ?? String(e), traceback: [] };
      }
    }
    return out;
  }

  /** IPython's `name?` / `name??`: the inspection of `name`, shown in the front end's pager. */
  private async page(msg: JupyterMessage, name: string, detail: 0 | 1): Promise<void> {
    const r = await this.opts.session.inspect(name, [...name].length, detail);
    const data = r.found ? r.data : { "text/plain": `Object \`${name}\` not found.` };
    await this.reply(msg, { status: "ok", execution_count: this.opts.session.executionCount, payload: [{ source: "page", data, start: 0 }], user_expressions: {} }, { status: "ok" });
  }

  private async complete(msg: JupyterMessage): Promise<void> {
    const code = str(msg.content.code);
    const cursor = num(msg.content.cursor_pos) ?? [...code].length;
    const r = await this.opts.session.complete(code, cursor);
    const metadata: JsonObject = r.types ? { _jupyter_types_experimental: r.types } : {};
    await this.reply(msg, { status: "ok", matches: r.matches, cursor_start: r.cursorStart, cursor_end: r.cursorEnd, metadata });
  }

  private async inspect(msg: JupyterMessage): Promise<void> {
    const code = str(msg.content.code);
    const cursor = num(msg.content.cursor_pos) ?? [...code].length;
    const detail = num(msg.content.detail_level) === 1 ? 1 : 0;
    const r = await this.opts.session.inspect(code, cursor, detail);
    await this.reply(msg, { status: "ok", found: r.found, data: r.found ? r.data : {}, metadata: {} });
  }

  private async isComplete(msg: JupyterMessage): Promise<void> {
    const r = this.opts.session.isComplete(str(msg.content.code));
    await this.reply(msg, r.indent !== undefined ? { status: r.status, indent: r.indent } : { status: r.status });
  }

  private async history(msg: JupyterMessage): Promise<void> {
    const c = msg.content;
    const kind = str(c.hist_access_type, "tail");
    if (kind !== "tail" && kind !== "range" && kind !== "search") {
      await this.reply(msg, { status: "ok", history: [] });
      return;
    }
    const q: HistoryQuery = { kind, n: num(c.n), session: num(c.session), start: num(c.start), stop: num(c.stop), pattern: typeof c.pattern === "string" ? c.pattern : undefined, unique: bool(c.unique, false) };
    const entries = normalizeHistory(this.opts.session.history(q), q);
    const output = bool(c.output, false);
    // With output=true each entry's third element is an (input, output) pair; we keep no outputs.
    const history = entries.map((e) => [e.session, e.line, output ? [e.input, null] : e.input]);
    await this.reply(msg, { status: "ok", history });
  }

  private async commInfo(msg: JupyterMessage): Promise<void> {
    const target = typeof msg.content.target_name === "string" ? msg.content.target_name : undefined;
    await this.reply(msg, { status: "ok", comms: this.comms.info(target) });
  }

  private commTransport(parent: JupyterMessage) {
    return {
      send: (type: "comm_msg" | "comm_close", content: JsonObject, metadata?: JsonObject, buffers?: Uint8Array[]) =>
        this.iopub(type, content, this.current ?? parent, metadata, buffers),
    };
  }

  private async commOpen(msg: JupyterMessage): Promise<void> {
    const id = str(msg.content.comm_id);
    const target = str(msg.content.target_name);
    if (!this.comms.open(id, target, obj(msg.content.data), msg.buffers, this.commTransport(msg))) {
      log(`comm_open for unknown target "${target}": closing comm ${id}`);
      this.iopub("comm_close", { comm_id: id, data: {} }, msg);
    }
  }

  private async commMsg(msg: JupyterMessage): Promise<void> {
    const id = str(msg.content.comm_id);
    if (!this.comms.message(id, obj(msg.content.data), msg.buffers)) log(`comm_msg for unknown comm ${id} ignored`);
  }

  private async commClose(msg: JupyterMessage): Promise<void> {
    const id = str(msg.content.comm_id);
    if (!this.comms.closeFromFrontEnd(id, obj(msg.content.data))) log(`comm_close for unknown comm ${id} ignored`);
  }
}

const HELP = /^\s*(\?{1,2})?\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*(\?{1,2})?\s*$/;

/** `name?`, `?name` (detail 0) or `name??`, `??name` (detail 1); undefined for any other code. */
export function helpRequest(code: string): { name: string; detail: 0 | 1 } | undefined {
  const m = HELP.exec(code);
  if (!m || (!m[1]) === (!m[3])) return undefined;
  return { name: m[2]!, detail: (m[1] ?? m[3])!.length === 2 ? 1 : 0 };
}

/** Applies `unique` and `n` of a search/tail query, in case the session returned more than asked. */
export function normalizeHistory(entries: HistoryEntry[], q: HistoryQuery): HistoryEntry[] {
  let out = entries;
  if (q.kind === "search" && q.unique) {
    const seen = new Set<string>();
    const kept: HistoryEntry[] = [];
    for (let i = out.length - 1; i >= 0; i--) {
      const e = out[i]!;
      if (seen.has(e.input)) continue;
      seen.add(e.input);
      kept.push(e);
    }
    out = kept.reverse();
  }
  if ((q.kind === "search" || q.kind === "tail") && q.n !== undefined && q.n > 0 && out.length > q.n) out = out.slice(out.length - q.n);
  return out;
}
