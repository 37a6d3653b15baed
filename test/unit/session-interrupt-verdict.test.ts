// What the interrupter's terminator may unwind on the main thread (stackVerdict), on stacks of the shapes
// the inspector reports (innermost first; urls as Debugger.scriptParsed gives them).
import { describe, expect, it } from "vitest";
import { CELL_URL } from "../../kernel/session/interrupt.js";
import { stackVerdict, type PausedFrame } from "../../kernel/session/interrupt-terminator.js";

const cellUrl = new RegExp(CELL_URL);
const SESSION = "file:///repo/dist/kernel/session/session.js";
const f = (functionName: string, url: string, line?: string): PausedFrame => ({ functionName, url, ...(line === undefined ? {} : { line }) });
const cell = (n = 3) => f("", `mlx-ts-cell-${n}.js`);
const start = [f("runInContext", "node:vm"), f("", SESSION)];
// V8 shows no frame for the native runMicrotasks: the drain shows as the JS frames that called it
const tickDrain = [f("processTicksAndRejections", "node:internal/process/task_queues", "    runMicrotasks();")];
const betweenImmediates = [f("runNextTicks", "node:internal/process/task_queues", "    runMicrotasks();"), f("processImmediate", "node:internal/timers", "        runNextTicks();")];

describe("stackVerdict", () => {
  it("stops a cell's synchronous start, from the native checkpoint or between immediates", () => {
    expect(stackVerdict([cell(), cell(), ...start], cellUrl, true)).toEqual({ terminate: true });
    expect(stackVerdict([cell(), ...start, ...betweenImmediates], cellUrl, true)).toEqual({ terminate: true });
  });

  it("stops cell code resumed after an await, even once the cell has ended (an interrupted cell's continuation)", () => {
    const resumed = [f("loop", "mlx-ts-cell-7.js"), cell(7)];
    expect(stackVerdict(resumed, cellUrl, false)).toEqual({ terminate: true });
    expect(stackVerdict([...resumed, ...tickDrain], cellUrl, false)).toEqual({ terminate: true });
  });

  it("leaves a cell start alone once the session no longer runs a cell", () => {
    expect(stackVerdict([cell(), ...start], cellUrl, false)).toMatchObject({ terminate: false });
  });

  it("stops a loop that is inside console or URL code, or in a library the cell called", () => {
    expect(stackVerdict([f("value", "node:internal/console/constructor"), f("log", "node:internal/console/constructor"), cell(), ...start], cellUrl, true).terminate).toBe(true);
    expect(stackVerdict([f("URL", "node:internal/url"), cell()], cellUrl, true).terminate).toBe(true);
    expect(stackVerdict([f("work", "file:///proj/node_modules/lib/index.js"), cell()], cellUrl, false).terminate).toBe(true);
  });

  it("leaves Node's stateful code alone: a stream write in progress, a timer callback", () => {
    const inStream = stackVerdict([f("writeOrBuffer", "node:internal/streams/writable"), cell(), ...start], cellUrl, true);
    expect(inStream).toMatchObject({ terminate: false });
    const timer = stackVerdict([cell(), f("listOnTimeout", "node:internal/timers", "          timer._onTimeout();"), f("processTimers", "node:internal/timers", "      listOnTimeout(list, now);")], cellUrl, true);
    expect(timer).toEqual({ terminate: false, why: "inside a callback that listOnTimeout called" });
    // a nextTick callback is called by the same function that drains microtasks, from another line
    const tick = stackVerdict([cell(), f("processTicksAndRejections", "node:internal/process/task_queues", "          callback();")], cellUrl, false);
    expect(tick).toMatchObject({ terminate: false });
    const guarded = stackVerdict([cell(), f("", "file:///repo/dist/kernel/session/context.js"), ...tickDrain], cellUrl, true);
    expect(guarded).toMatchObject({ terminate: false });
  });

  it("never unwinds the session's own code once the cell has ended, nor a stack with no cell code", () => {
    const mime = stackVerdict([f("toString", "mlx-ts-cell-4.js"), f("toMimeBundle", "file:///repo/dist/kernel/display/mime.js"), f("executeNow", SESSION)], cellUrl, false);
    expect(mime).toMatchObject({ terminate: false });
    expect(stackVerdict([f("send", "file:///repo/dist/kernel/jupyter/shell.js")], cellUrl, true)).toEqual({ terminate: false, why: "no cell code on the stack" });
  });
});
