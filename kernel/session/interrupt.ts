// Interrupts. Three cases, three mechanisms:
// 1. the cell's synchronous start runs inside runInContext({ breakOnSigint: true }): SIGINT stops it there;
// 2. the cell waits (await): interrupt() rejects the pending race and aborts the cell's signal;
// 3. the cell spins in synchronous code AFTER an await: that code runs from the microtask queue, outside
//    runInContext, and a JS SIGINT handler on the main thread never gets to run. For this a listener worker
//    sits in a breakOnSigint-guarded Atomics.wait (so Node's SIGINT watchdog wakes it) and tells the main
//    thread; if the main thread does not answer while a cell runs, a terminator worker stops the main
//    thread's JavaScript with the inspector's Runtime.terminateExecution (connectToMainThread). V8 cancels
//    the termination when the outermost call returns, so the event loop, the context and its variables
//    survive; the terminated cell's promise never settles, which the session's race with interrupt()
//    handles. Before terminating, the terminator pauses the main thread (Debugger.pause) and checks that no
//    Node internals are on its stack, and tries again a moment later if there are. Limits: a loop inside a
//    timer/immediate callback (Node frames below the cell's code), or anywhere while promise hooks are on
//    (see terminationIsSafe), is not terminated; the loop keeps the thread until it ends by itself.
// The listener and the main thread never sit in breakOnSigint together (the main thread parks the listener
// around its own call): two at once leave the signal with the main thread's event loop, and the process
// dies of the next one. watchdog-workers.ts holds the two workers and the hand-over.
import { Worker } from "node:worker_threads";
import { ACK, ARMED, LISTENER_SOURCE, LISTENING, PAUSE, RUNNING, SLEEP, SLOTS, TAKEN, TERMINATOR_SOURCE } from "./watchdog-workers.js";

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

// Only CPU time for the listener stands between a pause and its answer; on a loaded machine that can
// take a while, and giving up means the cell's synchronous start runs without breakOnSigint.
const PAUSE_TIMEOUT_MS = 2000;

/**
 * Whether the watchdog may terminate the main thread's JavaScript. Termination skips Node's bookkeeping
 * of async contexts: safe for a cell's code resumed from the microtask queue while no promise hooks run,
 * fatal ("async hook stack has become corrupted") inside a timer/immediate callback or once promise hooks
 * are on (AsyncLocalStorage or async_hooks used anywhere in the process). Promise hooks show as async-id
 * symbols on new promises.
 */
export function terminationIsSafe(): boolean {
  return !Object.getOwnPropertySymbols(Promise.resolve()).some((s) => s.description === "async_id_symbol");
}

class WatchdogCore {
  private readonly shared = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private readonly workers: Worker[];
  /** "sigint" messages received from the listener, and SIGINTs acted on (by message or by takePendingSigint) */
  private messages = 0;
  private accounted = 0;

  constructor(onSigint: () => void) {
    // execArgv: [] so the process's --import/--require hooks are not loaded again in the watchdog
    const start = (source: string): Worker => {
      const w = new Worker(source, { eval: true, execArgv: [], workerData: { buffer: this.shared.buffer } });
      w.unref();
      w.on("error", () => undefined);
      return w;
    };
    const listener = start(LISTENER_SOURCE);
    this.workers = [listener, start(TERMINATOR_SOURCE)];
    listener.on("message", (m: string) => {
      if (m !== "sigint") return;
      Atomics.add(this.shared, ACK, 1);
      Atomics.notify(this.shared, ACK);
      // a SIGINT already taken by takePendingSigint() must not interrupt a later cell
      if (++this.messages <= this.accounted) return;
      this.accounted = this.messages;
      // This thread answers, so nothing needs terminating: what runs from here on is the session ending
      // the cell (terminating that would leave the cell without a reply).
      Atomics.store(this.shared, RUNNING, 0);
      // The listener took the signal, so Node never ran the process's SIGINT listeners: run them all
      // (the session's among them, and e.g. a front end's that cancels a pending input request).
      if (process.listenerCount("SIGINT") > 0) process.emit("SIGINT", "SIGINT");
      else onSigint();
    });
  }

  /** Returns the previous state, so nested callers can restore it. */
  setRunning(running: boolean): boolean {
    return Atomics.exchange(this.shared, RUNNING, running ? 1 : 0) === 1;
  }

  /**
   * Takes the listener out of its breakOnSigint wait so the main thread may use breakOnSigint itself.
   * Returns false when the listener did not step aside in time: the caller must not use breakOnSigint then.
   */
  pause(): boolean {
    Atomics.store(this.shared, PAUSE, 1);
    Atomics.notify(this.shared, PAUSE);
    const deadline = Date.now() + PAUSE_TIMEOUT_MS;
    while (Atomics.load(this.shared, LISTENING) === 1) {
      if (Date.now() > deadline) return false;
      Atomics.wait(this.shared, LISTENING, 1, 10);
    }
    return true;
  }

  resume(): void {
    Atomics.store(this.shared, PAUSE, 0);
    Atomics.notify(this.shared, PAUSE);
    const deadline = Date.now() + PAUSE_TIMEOUT_MS;
    while (Atomics.load(this.shared, ARMED) === 0 && Atomics.load(this.shared, PAUSE) === 0) {
      if (Date.now() > deadline) return;
      Atomics.wait(this.shared, ARMED, 0, 10);
    }
  }

  /**
   * True (once) when the listener took a SIGINT whose message has not reached the main thread yet: a cell about to
   * start synchronous code must treat it as an interrupt now, because a `while (true) {}` would keep the
   * message from ever being handled.
   */
  takePendingSigint(): boolean {
    const taken = Atomics.load(this.shared, TAKEN);
    if (taken <= this.accounted) return false;
    this.accounted = taken;
    return true;
  }

  async stop(): Promise<void> {
    Atomics.store(this.shared, SLEEP, 1);
    Atomics.store(this.shared, PAUSE, 2); // neither 0 nor 1: ends whichever wait the listener is in
    for (const slot of [PAUSE, TAKEN, ACK]) Atomics.notify(this.shared, slot);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// One watchdog per process: two threads in breakOnSigint at once kill the process on SIGINT, so sessions
// (a process may hold several, e.g. in tests) share one worker.
let shared: { core: WatchdogCore; listeners: Set<() => void> } | undefined;

/** A session's handle on the process's SIGINT watchdog. */
export class SigintWatchdog {
  private stopped = false;

  /** `onSigint` runs on the main thread for every SIGINT the watchdog takes (when the process has no SIGINT listener). */
  constructor(private readonly onSigint: () => void) {
    if (!shared) {
      const listeners = new Set<() => void>();
      shared = { core: new WatchdogCore(() => { for (const l of listeners) l(); }), listeners };
    }
    shared.listeners.add(onSigint);
  }

  setRunning(running: boolean): boolean {
    return shared?.core.setRunning(running) ?? false;
  }

  pause(): boolean {
    return shared ? shared.core.pause() : true;
  }

  resume(): void {
    shared?.core.resume();
  }

  takePendingSigint(): boolean {
    return shared?.core.takePendingSigint() ?? false;
  }

  async stop(): Promise<void> {
    if (this.stopped || !shared) return;
    this.stopped = true;
    shared.listeners.delete(this.onSigint);
    if (shared.listeners.size) return;
    const { core } = shared;
    shared = undefined;
    await core.stop();
  }
}
