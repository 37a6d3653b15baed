// The session's handle on the language service. It runs in a worker thread when one can be started
// (compiled: dist/kernel/session/ls-worker.js; from TypeScript sources: the worker transpiles its modules
// with the typescript package), else in-process.
import { Worker } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { CellLanguageService, type Completion, type QuickInfo, type TypeDiagnostic } from "./language-service.js";
import type { LsRequest, LsResponse } from "./ls-protocol.js";

type Pending = { resolve: (r: LsResponse) => void; worker?: Worker };

/** type checks one language-service worker answers before a fresh one takes over (see recycle) */
export const RECYCLE_AFTER = 400;
type Body = LsRequest extends infer R ? R extends LsRequest ? Omit<R, "id"> : never : never;

/** A module hook that lets a worker or child process import .ts sources (the session running from them, and tests). */
export function tsHooksSource(root: string): string {
  const tsUrl = pathToFileURL(join(root, "node_modules", "typescript", "lib", "typescript.js")).href;
  return `
import ts from ${JSON.stringify(tsUrl)};
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
export async function resolve(spec, ctx, next) {
  if (spec.startsWith(".") && spec.endsWith(".js") && ctx.parentURL && ctx.parentURL.endsWith(".ts")) {
    const u = new URL(spec.slice(0, -3) + ".ts", ctx.parentURL);
    if (existsSync(fileURLToPath(u))) return { url: u.href, shortCircuit: true };
  }
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (!url.endsWith(".ts")) return next(url, ctx);
  const out = ts.transpileModule(readFileSync(fileURLToPath(url), "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: fileURLToPath(url) });
  return { format: "module", source: out.outputText, shortCircuit: true };
}`;
}

export class LanguageServiceClient {
  private worker: Worker | undefined;
  private local: CellLanguageService | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** every cell given so far, replayed into the in-process service if the worker ever dies */
  private readonly cells: string[] = [];
  /** type checks answered by the current worker, and its replacement while that one warms up */
  private checks = 0;
  private next: Worker | undefined;
  private recycled = 0;

  constructor(private readonly cwd: string, private readonly root: string) {
    try {
      this.worker = this.startWorker();
    } catch {
      this.worker = undefined;
    }
  }

  /** how many times a fresh worker has taken over (see recycle) */
  get recycles(): number {
    return this.recycled;
  }

  private startWorker(): Worker {
    const here = import.meta.url;
    const workerData = { cwd: this.cwd, root: this.root };
    // the process's --import/--require hooks are not needed (nor always safe) in the worker
    const execArgv: string[] = [];
    let w: Worker;
    if (here.endsWith(".ts")) {
      const target = new URL("./ls-worker.ts", here).href;
      const hooks = "data:text/javascript," + encodeURIComponent(tsHooksSource(this.root));
      const code = `import { register } from "node:module"; register(${JSON.stringify(hooks)}); await import(${JSON.stringify(target)});`;
      w = new Worker(new URL("data:text/javascript," + encodeURIComponent(code)), { workerData, execArgv });
    } else {
      w = new Worker(fileURLToPath(new URL("./ls-worker.js", here)), { workerData, execArgv });
    }
    w.unref();
    w.on("message", (res: LsResponse) => {
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if (!this.pending.size) w.unref();
      p.resolve(res);
    });
    // a worker retired by recycle() (or a replacement that failed to start) is not the service's death
    w.on("error", () => { if (w === this.worker) this.fallBack(); else if (w === this.next) this.next = undefined; });
    w.on("exit", () => { if (w === this.worker) this.fallBack(); else if (w === this.next) this.next = undefined; });
    return w;
  }

  /**
   * Every new cell text gives the worker a new program and checker; V8 keeps the heap pages that churn
   * takes (the worker's heap grew by about 100 MB over the soak's 2,000 checked cells with collections
   * forced). So after RECYCLE_AFTER checks a fresh worker is started, given the cells so far and warmed;
   * it takes over once it has answered, and the old one ends. Requests in flight finish on the old one.
   */
  private recycle(): void {
    if (this.next || !this.worker) return;
    let next: Worker;
    try {
      next = this.startWorker();
    } catch {
      return;
    }
    this.next = next;
    for (const code of this.cells) next.postMessage({ op: "addCell", code, id: this.nextId++ } as LsRequest);
    const id = this.nextId++;
    this.pending.set(id, {
      resolve: (res) => {
        if (this.next !== next) return;
        this.next = undefined;
        if (!res.ok || !this.worker) {
          void next.terminate();
          return;
        }
        const old = this.worker;
        this.worker = next;
        this.checks = 0;
        this.recycled++;
        // what was asked of the old worker is answered by it before it ends
        const retire = (): void => {
          if ([...this.pending.values()].some((p) => p.worker === old)) setTimeout(retire, 100).unref();
          else void old.terminate();
        };
        retire();
      },
    });
    next.postMessage({ op: "warm", id } as LsRequest);
  }

  /** The worker died: answer what was pending in-process, and keep going in-process. */
  private fallBack(): void {
    if (!this.worker) return;
    this.worker = undefined;
    const failed = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, p] of failed) p.resolve({ id, ok: false, error: "language service worker exited" });
  }

  private localService(): CellLanguageService {
    if (!this.local) {
      this.local = new CellLanguageService(this.cwd, this.root);
      for (const c of this.cells) this.local.addCell(c);
    }
    return this.local;
  }

  private request(body: Body): Promise<LsResponse> {
    const w = this.worker;
    const id = this.nextId++;
    if (!w) {
      const ls = this.localService();
      try {
        switch (body.op) {
          case "addCell": return Promise.resolve({ id, ok: true }); // already replayed from this.cells
          case "complete": return Promise.resolve({ id, ok: true, completions: ls.complete(body.code, body.offset) });
          case "quickInfo": return Promise.resolve({ id, ok: true, quickInfo: ls.quickInfo(body.code, body.offset) });
          case "diagnostics": return Promise.resolve({ id, ok: true, diagnostics: ls.diagnostics(body.code) });
          case "warm": ls.warm(); return Promise.resolve({ id, ok: true });
        }
      } catch (e) {
        return Promise.resolve({ id, ok: false, error: (e as Error).message });
      }
    }
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, worker: w });
      w.ref(); // an answer is awaited: keep the process alive until it comes
      w.postMessage({ ...body, id } as LsRequest);
    });
  }

  addCell(code: string): void {
    this.cells.push(code);
    if (this.local) this.local.addCell(code);
    else {
      void this.request({ op: "addCell", code });
      this.next?.postMessage({ op: "addCell", code, id: this.nextId++ } as LsRequest);
    }
  }

  async complete(code: string, offset: number): Promise<Completion[]> {
    const r = await this.request({ op: "complete", code, offset });
    return r.ok ? r.completions ?? [] : [];
  }

  async quickInfo(code: string, offset: number): Promise<QuickInfo | undefined> {
    const r = await this.request({ op: "quickInfo", code, offset });
    return r.ok ? r.quickInfo : undefined;
  }

  /** The cell's type errors; rejects when the service failed (the caller decides whether to run anyway). */
  async diagnostics(code: string): Promise<TypeDiagnostic[]> {
    const r = await this.request({ op: "diagnostics", code });
    if (this.worker && ++this.checks >= RECYCLE_AFTER) this.recycle();
    if (!r.ok) throw new Error(`the type checker failed: ${r.error}`);
    return r.diagnostics ?? [];
  }

  warm(): void {
    void this.request({ op: "warm" });
  }

  async close(): Promise<void> {
    const w = this.worker;
    const next = this.next;
    this.worker = undefined;
    this.next = undefined;
    await Promise.all([w?.terminate(), next?.terminate()]);
  }
}
