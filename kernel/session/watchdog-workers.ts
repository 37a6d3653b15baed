// The two threads of the SIGINT watchdog (interrupt.ts says when each mechanism applies), and the shared
// words they and the main thread talk through.
//
// Why two threads: the one in breakOnSigint must go back into it at once after taking a signal. While no
// thread is in breakOnSigint, Node's SIGINT disposition is "exit the process" (its watchdog helper
// restores that when the last breakOnSigint ends), so a second Stop pressed while the listener waited for
// the main thread's answer or terminated the main thread's JavaScript killed the kernel. The listener now
// only takes signals; the terminator, on its own event loop, waits for the main thread's acknowledgement
// and, failing that, terminates the loop, retrying while the loop sits in Node's own code.

/** 1 while cell code resumed after an await may run on the main thread (termination is safe then) */
export const RUNNING = 0;
/** "sigint" messages the main thread has handled */
export const ACK = 1;
/** 1 makes both workers exit */
export const SLEEP = 2;
/** 1 while the main thread wants the listener out of breakOnSigint (the word the listener sleeps on) */
export const PAUSE = 3;
/** 1 while the listener is not parked (it may be in breakOnSigint) */
export const LISTENING = 4;
/** SIGINTs the listener took */
export const TAKEN = 5;
/** 1 while the listener's breakOnSigint is armed */
export const ARMED = 6;
export const SLOTS = 7;

/** how long the terminator leaves the main thread to handle a SIGINT itself before stopping its loop */
const ACK_TIMEOUT_MS = 150;
/** between attempts while the loop is inside Node's own code, and how long to keep trying */
const RETRY_MS = 50;
const GIVE_UP_MS = 10_000;

const DEBUG = `const debug = process.env.MLX_TS_DEBUG_WATCHDOG ? (m) => require("node:fs").writeSync(2, "watchdog: " + m + "\\n") : () => undefined;`;

// The hand-over with the main thread is a Dekker pair: the listener stores LISTENING before it reads PAUSE,
// the main thread stores PAUSE before it reads LISTENING, so one of them always sees the other. It sleeps
// on PAUSE itself, so a pause landing just before its Atomics.wait makes that wait return at once (a
// missed wake-up left it in breakOnSigint while the main thread ran a cell nobody could stop).
export const LISTENER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const vm = require("node:vm");
${DEBUG}
const shared = new Int32Array(workerData.buffer);
const ctx = vm.createContext({ Atomics, shared });
const sleep = new vm.Script("Atomics.store(shared, ${ARMED}, 1); Atomics.notify(shared, ${ARMED}); Atomics.wait(shared, ${PAUSE}, 0)");
for (;;) {
  Atomics.store(shared, ${LISTENING}, 1);
  if (Atomics.load(shared, ${SLEEP}) !== 0) break;
  if (Atomics.load(shared, ${PAUSE}) === 1) {
    Atomics.store(shared, ${LISTENING}, 0);
    Atomics.notify(shared, ${LISTENING});
    Atomics.wait(shared, ${PAUSE}, 1);
    continue;
  }
  try { sleep.runInContext(ctx, { breakOnSigint: true }); }
  catch (e) {
    if (!e || e.code !== "ERR_SCRIPT_EXECUTION_INTERRUPTED") throw e;
    Atomics.store(shared, ${ARMED}, 0);
    Atomics.add(shared, ${TAKEN}, 1);
    parentPort.postMessage("sigint");
    Atomics.notify(shared, ${TAKEN});
    debug("took a SIGINT");
  }
  Atomics.store(shared, ${ARMED}, 0);
}
`;

export const TERMINATOR_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const inspector = require("node:inspector");
${DEBUG}
const shared = new Int32Array(workerData.buffer);
const wait = async (slot, value, ms) => { const r = Atomics.waitAsync(shared, slot, value, ms); if (r.async) await r.value; };
// Pauses the main thread first and looks at its stack: Node's own JavaScript (timers, the tick queue,
// immediates, streams: node: URLs) must not be unwound by a termination, or its bookkeeping breaks for
// good. Only when the stack is the cells' code (and libraries it called) is the termination sent.
function terminateMain() {
  return new Promise((resolve) => {
    const s = new inspector.Session();
    let finished = false;
    const done = (msg) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try { s.disconnect(); } catch {}
      debug(msg);
      resolve(msg);
    };
    const timer = setTimeout(() => done("terminate-failed:no answer from the main thread"), 5000);
    try {
      s.connectToMainThread();
      s.once("Debugger.paused", (m) => {
        const frames = (m.params && m.params.callFrames) || [];
        debug("main thread stack: " + frames.map((f) => (f.functionName || "<anonymous>") + "@" + f.url).join(" < "));
        const internal = frames.find((f) => typeof f.url === "string" && f.url.startsWith("node:"));
        // RUNNING is read while the main thread stands still: 0 means the cell's code has ended, or the
        // main thread already took the signal, and what runs is the session's own code
        const skip = internal ? internal.url : Atomics.load(shared, ${RUNNING}) !== 1 ? "no cell code running" : undefined;
        if (skip) {
          s.post("Debugger.resume", () => s.post("Debugger.disable", () => done("terminate-skipped:" + skip)));
          return;
        }
        s.post("Runtime.terminateExecution", () => undefined);
        s.post("Debugger.resume", () => s.post("Debugger.disable", () => done("terminated")));
      });
      s.post("Debugger.enable", () => s.post("Debugger.pause"));
    } catch (e) { done("terminate-failed:" + e.message); }
  });
}
// a pending Atomics.waitAsync does not keep a worker's event loop alive; this does (stop() terminates it)
const keepAlive = setInterval(() => undefined, 1 << 30);
(async () => {
  let handled = 0;
  for (;;) {
    await wait(${TAKEN}, handled);
    if (Atomics.load(shared, ${SLEEP}) !== 0) break;
    const target = Atomics.load(shared, ${TAKEN});
    if (target === handled) continue;
    handled = target;
    // The main thread acknowledges by handling the listener's message. Until it does, and while a cell's
    // code resumed after an await may be what keeps it busy, stop that code; a loop caught inside Node's
    // own code is tried again a moment later, when it is most likely back in the cell's code.
    // A main thread that acknowledges anything in the meantime is not stuck: it gets the full wait again.
    const deadline = Date.now() + ${GIVE_UP_MS};
    let ms = ${ACK_TIMEOUT_MS};
    for (;;) {
      const ack = Atomics.load(shared, ${ACK});
      if (ack - target >= 0 || Atomics.load(shared, ${SLEEP}) !== 0) break;
      await wait(${ACK}, ack, ms);
      if (Atomics.load(shared, ${ACK}) - target >= 0 || Atomics.load(shared, ${SLEEP}) !== 0) break;
      if (Atomics.load(shared, ${ACK}) !== ack) { ms = ${ACK_TIMEOUT_MS}; continue; }
      ms = ${RETRY_MS};
      if (Date.now() > deadline) { debug("gave up: the main thread never answered"); break; }
      if (Atomics.load(shared, ${RUNNING}) === 1 && (await terminateMain()) === "terminated") break;
    }
  }
  clearInterval(keepAlive);
})();
`;
