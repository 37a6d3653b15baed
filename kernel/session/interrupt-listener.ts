// A SIGINT listener thread of the interrupter (interrupt.ts). It spends its life in a breakOnSigint-guarded
// Atomics.wait: Node's SIGINT watchdog stops that wait on a signal, the listener counts the signal and goes
// straight back (the terminator tells the main thread). The interrupter runs several: Node gives each
// signal to the newest breakOnSigint only, and while none is armed its disposition for SIGINT is "exit the
// process", so the others keep the process covered while one re-arms.
import { workerData, isMainThread } from "node:worker_threads";
import vm from "node:vm";
import type { ListenerData } from "./interrupt-words.js";

function isInterrupted(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
}

function listen(data: ListenerData): void {
  const { words: W } = data;
  const shared = new Int32Array(data.buffer);
  // breakOnSigint exists only for vm scripts, so the wait is called from a one-call script
  let armed = false;
  const park = (): void => {
    armed = true;
    Atomics.add(shared, W.ARMED, 1);
    Atomics.wait(shared, W.STOP, 0);
  };
  const context = vm.createContext({ park });
  const script = new vm.Script("park()", { filename: "mlx-ts-interrupt-listener" });
  // All arm together: one armed alone would leave the process to "exit" in its re-arm gap. Until then
  // the interrupter's process listener takes the signals.
  Atomics.add(shared, W.READY, 1);
  Atomics.notify(shared, W.READY);
  for (let r = Atomics.load(shared, W.READY); r < data.listeners && Atomics.load(shared, W.STOP) === 0; r = Atomics.load(shared, W.READY)) {
    Atomics.wait(shared, W.READY, r, 1000);
  }
  const disarmed = (): void => {
    if (armed) Atomics.sub(shared, W.ARMED, 1);
    armed = false;
  };
  while (Atomics.load(shared, W.STOP) === 0) {
    try {
      script.runInContext(context, { breakOnSigint: true });
      disarmed();
    } catch (e) {
      disarmed();
      if (!isInterrupted(e)) throw e;
      Atomics.add(shared, W.TAKEN, 1);
      Atomics.notify(shared, W.TAKEN);
    }
  }
}

if (!isMainThread) listen(workerData as ListenerData);
