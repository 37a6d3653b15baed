// The worker side of the language service: parsing the standard library and @types/node takes seconds,
// and every completion re-checks the cells, so all of it runs off the main thread (cells keep running).
import { parentPort, workerData } from "node:worker_threads";
import { CellLanguageService } from "./language-service.js";
import type { LsRequest, LsResponse } from "./ls-protocol.js";

const { cwd, root } = workerData as { cwd: string; root: string };
const ls = new CellLanguageService(cwd, root);

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
});
