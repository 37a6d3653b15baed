// Interrupts. Three cases, three mechanisms:
// 1. the cell's synchronous start runs inside runInContext({ breakOnSigint: true }): SIGINT stops it there;
// 2. the cell waits (await): interrupt() rejects the pending race and aborts the cell's signal;
// 3. the cell spins in synchronous code AFTER an await: that code runs from the microtask queue, outside
//    runInContext, and a JS SIGINT handler on the main thread never gets to run. For this a watchdog worker
//    sits in a breakOnSigint-guarded Atomics.wait (so Node's SIGINT watchdog wakes it), tells the main
//    thread, and if the main thread does not answer while a cell runs, it stops the main thread's
//    JavaScript with the inspector's Runtime.terminateExecution (connectToMainThread). V8 cancels the
//    termination when the outermost call returns, so the event loop, the context and its variables survive;
//    the terminated cell's promise never settles, which the session's race with interrupt() handles.
//    Before terminating, the worker pauses the main thread (Debugger.pause) and checks that no Node
//    internals are on its stack. Limits: a loop inside a timer/immediate callback (Node frames on the
//    stack), or anywhere while promise hooks are on (see terminationIsSafe), is not terminated; the loop
//    keeps the thread until it ends by itself.
import { Worker } from "node:worker_threads";

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

// Shared slots: [0] 1 while cell code may run on the main thread; [1] acknowledgements from the main
// thread; [2] 1 to make the worker exit; [3] 1 while the main thread wants the worker out of its
// breakOnSigint wait (the word the worker sleeps on); [4] 1 while the worker is not parked (so it may be in
// that wait); [5] SIGINTs the worker took. Node's SIGINT watchdog breaks when two threads use breakOnSigint
// at once (the process dies of the signal), so the main thread parks the worker around its own
// breakOnSigint call. The hand-over is a Dekker pair: the worker stores LISTENING before it reads PAUSE,
// the main thread stores PAUSE before it reads LISTENING, so one of them always sees the other. The worker
// sleeps on PAUSE itself (not on a separate word), so a pause that lands just before its Atomics.wait makes
// that wait return at once instead of being missed (a missed wake-up left the worker in breakOnSigint with
// the main thread in a cell that could not be stopped any more). [6] is 1 while the worker's breakOnSigint
// is armed: resume() waits for it, because a SIGINT in between goes to the main thread's event loop, which
// a cell spinning right after its first await never lets run.
const RUNNING = 0, ACK = 1, SLEEP = 2, PAUSE = 3, LISTENING = 4, TAKEN = 5, ARMED = 6;
const ACK_TIMEOUT_MS = 150;
// Only CPU time for the worker stands between a pause and its answer; on a loaded machine that can take
// a while, and giving up means the cell's synchronous start runs without breakOnSigint.
const PAUSE_TIMEOUT_MS = 2000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const vm = require("node:vm");
const inspector = require("node:inspector");
const debug = process.env.MLX_TS_DEBUG_WATCHDOG ? (m) => require("node:fs").writeSync(2, "watchdog: " + m + "\\n") : () => undefined;
const shared = new Int32Array(workerData.buffer);
const ctx = vm.createContext({ Atomics, shared });
const sleep = new vm.Script("Atomics.store(shared, ${ARMED}, 1); Atomics.notify(shared, ${ARMED}); Atomics.wait(shared, ${PAUSE}, 0)");
// Pauses the main thread first and looks at its stack: Node's own JavaScript (timers, the tick queue,
// immediates: node: URLs) must not be unwound by a termination, or its bookkeeping breaks for good. Only
// when the stack is the cells' code (and libraries it called) is the termination sent.
function terminateMain() {
  return new Promise((resolve) => {
    const s = new inspector.Session();
    let finished = false;
    const done = (msg) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try { s.disconnect(); } catch {}
      parentPort.postMessage(msg);
      resolve();
    };
    const timer = setTimeout(() => done("terminate-failed:no answer from the main thread"), 5000);
    try {
      s.connectToMainThread();
      s.once("Debugger.paused", (m) => {
        const frames = (m.params && m.params.callFrames) || [];
        debug("main thread stack: " + frames.map((f) => (f.functionName || "<anonymous>") + "@" + f.url).join(" < "));
        const internal = frames.find((f) => typeof f.url === "string" && f.url.startsWith("node:"));
        if (internal) {
          s.post("Debugger.resume", () => s.post("Debugger.disable", () => done("terminate-skipped:" + internal.url)));
          return;
        }
        s.post("Runtime.terminateExecution", () => undefined);
        s.post("Debugger.resume", () => s.post("Debugger.disable", () => done("terminated")));
      });
      s.post("Debugger.enable", () => s.post("Debugger.pause"));
    } catch (e) { done("terminate-failed:" + e.message); }
  });
}
// The loop is async so that the inspector's answers (delivered on this thread's event loop) arrive while
// a termination is in progress; between signals the thread sleeps in Atomics.wait.
(async () => {
  for (;;) {
    Atomics.store(shared, ${LISTENING}, 1);
    if (Atomics.load(shared, ${SLEEP}) !== 0) break;
    if (Atomics.load(shared, ${PAUSE}) === 1) {
      Atomics.store(shared, ${LISTENING}, 0);
      Atomics.notify(shared, ${LISTENING});
      debug("parked");
      Atomics.wait(shared, ${PAUSE}, 1);
      continue;
    }
    try { sleep.runInContext(ctx, { breakOnSigint: true }); }
    catch (e) {
      Atomics.store(shared, ${ARMED}, 0);
      if (!e || e.code !== "ERR_SCRIPT_EXECUTION_INTERRUPTED") throw e;
      Atomics.add(shared, ${TAKEN}, 1);
      // out of breakOnSigint now: a main thread waiting in pause() may go on (it sees TAKEN)
      Atomics.store(shared, ${LISTENING}, 0);
      Atomics.notify(shared, ${LISTENING});
      debug("took a SIGINT");
      const ack = Atomics.load(shared, ${ACK});
      parentPort.postMessage("sigint");
      Atomics.wait(shared, ${ACK}, ack, ${ACK_TIMEOUT_MS});
      if (Atomics.load(shared, ${ACK}) === ack && Atomics.load(shared, ${RUNNING}) === 1) await terminateMain();
    }
    Atomics.store(shared, ${ARMED}, 0);
  }
})();
`;

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
  private readonly shared = new Int32Array(new SharedArrayBuffer(28));
  private readonly worker: Worker;
  /** "sigint" messages received from the worker, and SIGINTs acted on (by message or by takePendingSigint) */
  private messages = 0;
  private accounted = 0;

  constructor(onSigint: () => void) {
    // execArgv: [] so the process's --import/--require hooks are not loaded again in the watchdog
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { buffer: this.shared.buffer } });
    this.worker.unref();
    this.worker.on("message", (m: string) => {
      if (m === "sigint") {
        Atomics.add(this.shared, ACK, 1);
        Atomics.notify(this.shared, ACK);
        // a SIGINT already taken by takePendingSigint() must not interrupt a later cell
        if (++this.messages <= this.accounted) return;
        this.accounted = this.messages;
        // The worker took the signal, so Node never ran the process's SIGINT listeners: run them all
        // (the session's among them, and e.g. a front end's that cancels a pending input request).
        if (process.listenerCount("SIGINT") > 0) process.emit("SIGINT", "SIGINT");
        else onSigint();
      }
      // "terminated" needs nothing more: its "sigint" came first and is handled once this thread runs again
      // (interrupting again would hit the next cell). "terminate-skipped:URL": the loop runs inside Node's
      // own machinery (e.g. a timer callback), where stopping it would break Node; it keeps running.
    });
    this.worker.on("error", () => undefined);
  }

  /** Returns the previous state, so nested callers can restore it. */
  setRunning(running: boolean): boolean {
    return Atomics.exchange(this.shared, RUNNING, running ? 1 : 0) === 1;
  }

  /**
   * Takes the worker out of its breakOnSigint wait so the main thread may use breakOnSigint itself.
   * Returns false when the worker did not step aside in time: the caller must not use breakOnSigint then.
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
   * True (once) when the worker took a SIGINT whose message has not reached the main thread yet: a cell about to
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
    Atomics.store(this.shared, PAUSE, 2); // neither 0 nor 1: ends whichever wait the worker is in
    Atomics.notify(this.shared, PAUSE);
    await this.worker.terminate();
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
