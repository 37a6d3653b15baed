// The interrupter: the one owner of SIGINT in the process. Ctrl-C in the REPL, Jupyter's signal interrupt
// and its interrupt_request (the wire process turns it into a SIGINT for the kernel) all arrive here, and
// every subscriber (the session, which stops its cell; the kernel's shell, which ends a pending input())
// is told once per signal.
//
// How a signal gets through while the main thread spins in `while (true) {}`:
// - listener threads (interrupt-listener.ts) wait in breakOnSigint; Node's SIGINT watchdog wakes the
//   newest, which counts the signal and re-arms at once;
// - the terminator thread (interrupt-terminator.ts) posts the count to the main thread, gives it a moment
//   to handle that message;
//   if it does not, it stops the main thread's JavaScript with the inspector, when the stack shows that
//   what runs is a cell's code (see stackVerdict). The main thread then handles the message.
// The main thread itself never uses breakOnSigint: vm takes the process's SIGINT listeners off around such
// a call, and libuv then resets SIGINT to "exit". A cell's synchronous start is therefore just a promise
// reaction the terminator can stop like any other cell code (see Session.runCode).
// Before the listeners are armed, and if they cannot be started, a plain process listener takes the signal
// (it can stop awaits, not loops). Limits: a loop inside a timer/immediate callback, or anywhere while
// promise hooks are on (terminationIsSafe), is not stopped; it keeps the thread until it ends by itself.
import type { Worker } from "node:worker_threads";
import type { StartInterruptWorker } from "./interrupt-workers.js";
import { WORD_COUNT, WORDS as W, type ListenerData, type SigintMessage, type TerminatorData } from "./interrupt-words.js";

export class InterruptError extends Error {
  constructor() {
    super("the cell was interrupted (Stop / Ctrl-C). Variables and loaded models are kept; run the next cell as usual.");
    this.name = "InterruptError";
  }
}

/** true for the error vm throws when breakOnSigint stopped a script */
export function isVmInterrupt(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
}

/**
 * Whether the main thread's JavaScript may be terminated at all. Termination skips Node's bookkeeping of
 * async contexts, which is fatal ("async hook stack has become corrupted") once promise hooks are on
 * (AsyncLocalStorage or async_hooks used anywhere in the process). Promise hooks show as async-id symbols
 * on new promises.
 */
export function terminationIsSafe(): boolean {
  return !Object.getOwnPropertySymbols(Promise.resolve()).some((s) => s.description === "async_id_symbol");
}

/** The url every cell script has (Session names them `mlx-ts-cell-<n>.js`). */
export const CELL_URL = "(^|/)mlx-ts-cell-\\d+\\.js$";

/**
 * Listener threads. Two keep one armed while the other re-arms; a third covers both being in that gap
 * at once, which a loaded machine made happen (a thread preempted between taking a signal and re-arming).
 */
const LISTENERS = 3;
/** how long the main thread may take to handle a SIGINT before the terminator stops its JavaScript */
const ACK_TIMEOUT_MS = 150;
/** between attempts while the main thread's stack is not safe to unwind, and how long to keep trying */
const RETRY_MS = 50;
const GIVE_UP_MS = 10_000;
/** how long the worker threads get to end by themselves when the interrupter stops */
const STOP_GRACE_MS = 6_000;

interface Armed {
  shared: Int32Array;
  workers: Worker[];
}

export interface InterruptStats {
  /** SIGINTs the listeners took */
  taken: number;
  /** interrupts delivered to subscribers (SIGINTs, from a listener or the fallback listener) */
  delivered: number;
  terminated: number;
  skipped: number;
}

class Interrupter {
  private readonly subscribers = new Set<() => void>();
  private armed: Armed | undefined;
  private arms = 0;
  private stopping: Promise<void> = Promise.resolve();
  private delivered = 0;
  private listening = false;
  private readonly onProcessSigint = (): void => this.deliver();

  /** `fn` runs on the main thread for every SIGINT. Returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn);
    this.listen();
    return () => {
      this.subscribers.delete(fn);
      this.unlistenIfIdle();
    };
  }

  /** Starts the listener and terminator threads (shared by every caller until the last disarm). */
  arm(start: StartInterruptWorker): void {
    this.arms++;
    if (this.armed) return;
    this.listen();
    const shared = new Int32Array(new SharedArrayBuffer(WORD_COUNT * 4));
    const armed: Armed = { shared, workers: [] };
    try {
      const buffer = shared.buffer as SharedArrayBuffer;
      const data: TerminatorData = { buffer, words: W, ackTimeoutMs: ACK_TIMEOUT_MS, retryMs: RETRY_MS, giveUpMs: GIVE_UP_MS, cellUrl: CELL_URL };
      const terminator = start("interrupt-terminator", data);
      terminator.on("message", (m: SigintMessage) => {
        if (m.type !== "sigint") return;
        Atomics.add(shared, W.ACK, m.count);
        Atomics.notify(shared, W.ACK);
        for (let i = 0; i < m.count; i++) this.deliver();
      });
      armed.workers.push(terminator);
      const listener: ListenerData = { buffer, words: W, listeners: LISTENERS };
      for (let i = 0; i < LISTENERS; i++) armed.workers.push(start("interrupt-listener", listener));
    } catch (e) {
      this.arms--;
      void this.stopWorkers(armed);
      throw e;
    }
    for (const w of armed.workers) {
      w.unref();
      w.on("error", () => undefined);
    }
    this.armed = armed;
  }

  async disarm(): Promise<void> {
    if (this.arms === 0 || --this.arms > 0 || !this.armed) return this.stopping;
    const armed = this.armed;
    this.armed = undefined;
    this.stopping = this.stopping.then(() => this.stopWorkers(armed));
    return this.stopping;
  }

  /** Tells the terminator whether a cell runs now (so the session's frames below its code may be unwound). */
  setCellRunning(running: boolean): void {
    if (!this.armed) return;
    Atomics.store(this.armed.shared, W.ALLOW, terminationIsSafe() ? (running ? 1 : 0) : -1);
  }

  stats(): InterruptStats {
    const s = this.armed?.shared;
    return { taken: s ? Atomics.load(s, W.TAKEN) : 0, delivered: this.delivered, terminated: s ? Atomics.load(s, W.TERMINATED) : 0, skipped: s ? Atomics.load(s, W.SKIPPED) : 0 };
  }

  private deliver(): void {
    this.delivered++;
    for (const fn of [...this.subscribers]) {
      try {
        fn();
      } catch (e) {
        process.stderr.write(`mlx-ts: an interrupt handler failed: ${(e as Error).stack ?? String(e)}\n`);
      }
    }
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    process.on("SIGINT", this.onProcessSigint);
  }

  private unlistenIfIdle(): void {
    if (!this.listening || this.subscribers.size || this.arms) return;
    this.listening = false;
    process.off("SIGINT", this.onProcessSigint);
  }

  private async stopWorkers(armed: Armed): Promise<void> {
    Atomics.store(armed.shared, W.STOP, 1);
    for (const word of [W.STOP, W.TAKEN, W.ACK]) Atomics.notify(armed.shared, word);
    // They end by themselves on STOP; terminate() only those that do not: terminating the terminator
    // while its inspector session holds the main thread paused is not safe.
    await Promise.all(armed.workers.map((w) => new Promise<void>((resolve) => {
      const late = setTimeout(() => void w.terminate().then(() => resolve(), () => resolve()), STOP_GRACE_MS);
      w.once("exit", () => {
        clearTimeout(late);
        resolve();
      });
    })));
    if (this.armed) return;
    // The last breakOnSigint ending made Node set SIGINT to "exit the process", over libuv's handler.
    // Listeners added again make libuv install its handler again, so process listeners work as before.
    const listeners = process.rawListeners("SIGINT") as ((...a: unknown[]) => void)[];
    process.removeAllListeners("SIGINT");
    for (const l of listeners) process.on("SIGINT", l);
    this.unlistenIfIdle();
  }
}

let the: Interrupter | undefined;

/** The process's interrupter (one per process: Node has one SIGINT, and sessions in one process share it). */
export function processInterrupter(): Interrupter {
  the ??= new Interrupter();
  return the;
}

export type { Interrupter };
