// The worker side of the language service: parsing the standard library and @types/node takes seconds,
// and every completion re-checks the cells, so all of it runs off the main thread (cells keep running).
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { CellLanguageService } from "./language-service.js";
import type { LsRequest, LsResponse } from "./ls-protocol.js";

const { cwd, root } = workerData as { cwd: string; root: string };
const ls = new CellLanguageService(cwd, root);

// Each new cell text builds a new program and checker (a few MB of garbage). A full collection when the
// worker falls idle, and after every COLLECT_EVERY checks, keeps the heap near its live size; the live
// size is then reported, so the client can give a worker that outgrows its heap limit a larger one.
// gc is taken with the flag on only for that moment, so no context made later sees a gc global.
const COLLECT_EVERY = 100;
const IDLE_MS = 500;
const gc = ((): (() => void) | undefined => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
})();
let checks = 0;
let idle: NodeJS.Timeout | undefined;
const collect = (): void => {
  checks = 0;
  if (!gc) return;
  gc();
  parentPort!.postMessage({ id: 0, ok: true, heapUsed: getHeapStatistics().used_heap_size } satisfies LsResponse);
};
const afterRequest = (check: boolean): void => {
  if (check && ++checks >= COLLECT_EVERY) collect();
  clearTimeout(idle);
  idle = setTimeout(collect, IDLE_MS);
  idle.unref();
};

parentPort!.on("message", (req: LsRequest) => {
  let res: LsResponse;
  try {
    switch (req.op) {
      case "addCell": ls.addCell(req.code); res = { id: req.id, ok: true }; break;
      case "complete": res = { id: req.id, ok: true, completions: ls.complete(req.code, req.offset) }; break;
      case "quickInfo": res = { id: req.id, ok: true, quickInfo: ls.quickInfo(req.code, req.offset) }; break;
      case "diagnostics": res = { id: req.id, ok: true, diagnostics: ls.diagnostics(req.code) }; break;
      case "warm": ls.warm(); res = { id: req.id, ok: true }; break;
    }
  } catch (e) {
    res = { id: req.id, ok: false, error: (e as Error).message };
  }
  parentPort!.postMessage(res);
  afterRequest(req.op === "diagnostics");
});
