// The session's handle on the language service. It runs in a worker thread when one can be started
// (compiled: dist/kernel/session/ls-worker.js; from TypeScript sources: the worker transpiles its modules
// with the typescript package), else in-process.
import { Worker } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { CellLanguageService, type Completion, type QuickInfo, type TypeDiagnostic } from "./language-service.js";
import type { LsRequest, LsResponse } from "./ls-protocol.js";

type Pending = { resolve: (r: LsResponse) => void };
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

  constructor(private readonly cwd: string, private readonly root: string) {
    try {
      this.worker = this.startWorker();
    } catch {
      this.worker = undefined;
    }
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
    w.on("error", () => this.fallBack());
    w.on("exit", () => this.fallBack());
    return w;
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
      this.pending.set(id, { resolve });
      w.ref(); // an answer is awaited: keep the process alive until it comes
      w.postMessage({ ...body, id } as LsRequest);
    });
  }

  addCell(code: string): void {
    this.cells.push(code);
    if (this.local) this.local.addCell(code);
    else void this.request({ op: "addCell", code });
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
    if (!r.ok) throw new Error(`the type checker failed: ${r.error}`);
    return r.diagnostics ?? [];
  }

  warm(): void {
    void this.request({ op: "warm" });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}
