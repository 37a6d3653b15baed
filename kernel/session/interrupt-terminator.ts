/// <reference lib="es2024.sharedmemory" />
// The terminator thread of the interrupter (interrupt.ts). It tells the main thread of each SIGINT the
// listeners took (so they need do nothing but re-arm), then gives the main thread a moment to answer; a main thread that does not is stuck in JavaScript (a cell's loop), and
// the terminator stops that JavaScript with the inspector's Runtime.terminateExecution. V8 drops the
// termination once the outermost call returns, so the event loop, the context and its variables live on;
// the main thread then handles the signal and the session ends the cell.
//
// Before terminating it pauses the main thread and reads its stack (stackVerdict says what may be unwound),
// and tries again a moment later when the stack is not safe: a loop that calls into Node's own code is
// caught in the cell's code sooner or later. The inspector gives paused frames an empty url on Node 20,
// so urls come from the Debugger.scriptParsed events sent on Debugger.enable.
import { Session } from "node:inspector";
import { writeSync } from "node:fs";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { SigintMessage, TerminatorData, Words } from "./interrupt-words.js";

export interface PausedFrame {
  functionName: string;
  url: string;
  /** the source line the frame stands at (its call in progress), where the terminator looked it up */
  line?: string;
}

export type Verdict = { terminate: true } | { terminate: false; why: string };

/**
 * Node's functions that drain the microtask queue between callbacks, and the calls they make to do so. A
 * cell's code resumed from that drain may be unwound: no callback of Node's is half done there, so its
 * async-context stack is balanced and its queues carry on with the next callback (what is lost is the rest
 * of this microtask queue). The same functions also call callbacks (a nextTick's, a timer's): unwinding
 * one of those corrupts Node's async-id stack, so each frame's line must be the drain call. (V8 shows no
 * frame for the native runMicrotasks itself.)
 */
const DRAIN = new Set(["processTicksAndRejections", "runNextTicks", "processImmediate", "processTimers", "listOnTimeout"]);
const DRAIN_CALL = /^\s*(runMicrotasks|runNextTicks|processTicksAndRejections)\(\);\s*$/;

/**
 * Node's modules whose frames may be unwound in the middle: they format and write or parse, and keep no
 * state a half-done call leaves wrong (console leaves at most a no-op 'error' listener on its stream). A
 * loop that logs or builds URLs spends nearly all its time in them; refusing those would never stop it.
 */
const UNWINDABLE = ["node:internal/console/", "node:internal/util/inspect", "node:internal/url", "node:url"];

const isNode = (f: PausedFrame): boolean => f.url.startsWith("node:");
const isNodeState = (f: PausedFrame): boolean => isNode(f) && !UNWINDABLE.some((p) => f.url.startsWith(p));
const name = (f: PausedFrame): string => f.functionName || "<anonymous>";

/** Frames whose source line the verdict needs (fetched by the terminator before it asks). */
export function needsLine(f: PausedFrame): boolean {
  return isNode(f) && DRAIN.has(f.functionName);
}

/**
 * Whether the main thread, paused with `frames` on its stack (innermost first), may be terminated.
 * Allowed: a cell's code (and what it called, Node's stateful code excepted) that was either started by
 * the session (`cellRunning`: vm's runInContext called from the session's start of the cell) or resumed
 * straight from the microtask queue (after an await, also an interrupted cell's continuation), with
 * nothing below but Node's microtask drain. Never the session's or a front end's own code, nor a callback
 * that Node or the cell's timers called.
 */
export function stackVerdict(frames: readonly PausedFrame[], cellUrl: RegExp, cellRunning: boolean): Verdict {
  let lowest = -1;
  frames.forEach((f, i) => { if (cellUrl.test(f.url)) lowest = i; });
  if (lowest < 0) return { terminate: false, why: "no cell code on the stack" };
  // Above the cell's lowest frame: the cell's code and what it called. Unwinding Node's code there (a
  // stream, an event emitter) could leave its state half changed.
  const inside = frames.slice(0, lowest).find(isNodeState);
  if (inside) return { terminate: false, why: `inside Node's ${name(inside)} (${inside.url})` };
  let below = frames.slice(lowest + 1);
  if (below[0]?.url === "node:vm" && below[0].functionName === "runInContext" && below[1] && !isNode(below[1])) {
    if (!cellRunning) return { terminate: false, why: "a cell start, but no cell is running" };
    below = below.slice(2);
  }
  if (below.length === 0) return { terminate: true }; // resumed or started by the native microtask checkpoint
  for (const f of below) {
    if (!needsLine(f)) return { terminate: false, why: `called from ${name(f)} (${f.url || "no url"})` };
    if (!DRAIN_CALL.test(f.line ?? "")) return { terminate: false, why: `inside a callback that ${name(f)} called` };
  }
  return { terminate: true };
}

function terminator(data: TerminatorData): void {
  const W: Words = data.words;
  const shared = new Int32Array(data.buffer);
  const cellUrl = new RegExp(data.cellUrl);
  const debug = process.env.MLX_TS_DEBUG_WATCHDOG
    ? (m: string) => writeSync(2, `interrupt terminator: ${m}\n`)
    : () => undefined;
  const wait = async (word: number, value: number, ms?: number): Promise<void> => {
    const r = Atomics.waitAsync(shared, word, value, ms);
    if (r.async) await r.value;
  };
  const stopping = (): boolean => Atomics.load(shared, W.STOP) !== 0;

  // Node's own scripts do not change while the process lives; their sources are read once
  const sources = new Map<string, string>();
  const source = (s: Session, scriptId: string): Promise<string> => {
    const known = sources.get(scriptId);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => s.post("Debugger.getScriptSource", { scriptId }, (err, r) => {
      const text = err || !r ? "" : r.scriptSource;
      if (!err) sources.set(scriptId, text);
      resolve(text);
    }));
  };

  /** Pauses the main thread, reads its stack, terminates or skips; resolves with what it did. */
  const terminateMain = (target: number): Promise<"terminated" | "skipped" | "failed"> => new Promise((resolve) => {
    const s = new Session();
    const scripts = new Map<string, string>();
    let finished = false;
    const done = (what: "terminated" | "skipped" | "failed", why: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        s.disconnect();
      } catch { /* already gone */ }
      debug(`${what}${why ? `: ${why}` : ""}`);
      resolve(what);
    };
    const timer = setTimeout(() => done("failed", "no answer from the main thread"), 5000);
    try {
      s.connectToMainThread();
      s.on("Debugger.scriptParsed", (m) => scripts.set(m.params.scriptId, m.params.url));
      s.once("Debugger.paused", (m) => void (async () => {
        const frames: PausedFrame[] = [];
        for (const f of m.params.callFrames) {
          const frame: PausedFrame = { functionName: f.functionName, url: f.url || scripts.get(f.location.scriptId) || "" };
          if (needsLine(frame)) frame.line = (await source(s, f.location.scriptId)).split("\n")[f.location.lineNumber] ?? "";
          frames.push(frame);
        }
        // Read while the main thread stands still. A main thread that handled the signal while the pause
        // was on its way is running something else now (perhaps the next cell, which nothing would end).
        const allow = Atomics.load(shared, W.ALLOW);
        const v: Verdict = Atomics.load(shared, W.ACK) - target >= 0 ? { terminate: false, why: "the main thread answered meanwhile" }
          : allow < 0 ? { terminate: false, why: "promise hooks are on" } : stackVerdict(frames, cellUrl, allow === 1);
        debug(`main thread stack: ${frames.map((f) => `${f.functionName || "<anonymous>"}@${f.url}`).join(" < ")}`);
        if (!v.terminate) {
          Atomics.add(shared, W.SKIPPED, 1);
          s.post("Debugger.resume", () => s.post("Debugger.disable", () => done("skipped", v.why)));
          return;
        }
        Atomics.add(shared, W.TERMINATED, 1);
        s.post("Runtime.terminateExecution", () => undefined);
        s.post("Debugger.resume", () => s.post("Debugger.disable", () => done("terminated", "")));
      })());
      s.post("Debugger.enable", () => s.post("Debugger.pause"));
    } catch (e) {
      done("failed", (e as Error).message);
    }
  });

  // a pending Atomics.waitAsync does not keep a worker's event loop alive; this does (until STOP)
  const keepAlive = setInterval(() => undefined, 1 << 30);
  void (async () => {
    for (let told = 0; !stopping();) {
      await wait(W.TAKEN, told);
      const taken = Atomics.load(shared, W.TAKEN);
      if (taken === told || stopping()) continue;
      const m: SigintMessage = { type: "sigint", count: taken - told };
      told = taken;
      parentPort?.postMessage(m);
      debug(`told the main thread of ${m.count} SIGINT(s)`);
    }
  })();
  void (async () => {
    let handled = Atomics.load(shared, W.ACK);
    while (!stopping()) {
      await wait(W.TAKEN, handled);
      const target = Atomics.load(shared, W.TAKEN);
      if (stopping()) break;
      if (target === handled) continue;
      handled = target;
      // Until the main thread has handled this signal, and while it is busy, stop what keeps it busy. A
      // main thread that handles anything in the meantime is not stuck: it gets the full wait again.
      const deadline = Date.now() + data.giveUpMs;
      let ms = data.ackTimeoutMs;
      for (;;) {
        const ack = Atomics.load(shared, W.ACK);
        if (ack - target >= 0 || stopping()) break;
        await wait(W.ACK, ack, ms);
        if (Atomics.load(shared, W.ACK) - target >= 0 || stopping()) break;
        if (Atomics.load(shared, W.ACK) !== ack) {
          ms = data.ackTimeoutMs;
          continue;
        }
        ms = data.retryMs;
        if (Date.now() > deadline) {
          debug("gave up: the main thread never answered");
          break;
        }
        if ((await terminateMain(target)) === "terminated") {
          // give the main thread the full wait to handle the signal before looking again
          ms = data.ackTimeoutMs;
        }
      }
    }
    clearInterval(keepAlive);
  })();
}

if (!isMainThread) terminator(workerData as TerminatorData);
