// The session's handle on the language service. It runs in a worker thread when one can be started
// (compiled: dist/kernel/session/ls-worker.js; from TypeScript sources: the worker transpiles its modules
// with the typescript package), else in-process.
import { Worker } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { CellLanguageService, type Completion, type QuickInfo, type TypeDiagnostic } from "./language-service.js";
import type { LsRequest, LsResponse } from "./ls-protocol.js";

type Pending = { resolve: (r: LsResponse) => void; worker?: Worker; body?: Body };

/**
 * The worker's old-generation limit, in MB, to start with. Every new cell text gives the worker a new
 * program and checker, and without a limit V8 let the worker's heap capacity grow from 157 to 208 MB
 * over 2,000 soak-like checks with a flat 102 MB live (process RSS +60 MB); with a limit of about twice
 * the live size it stayed flat, and the checks took no longer.
 */
export const HEAP_LIMIT_MB = 192;
/** a worker whose live heap passes this share of its limit is replaced by one with twice the live size */
const GROW_AT = 0.7;
/** out-of-memory restarts (each doubling the limit) before the service falls back to the main thread */
const MAX_RESTARTS = 4;
/**
 * How long no cell may have started or ended before the worker parses the standard library and
 * @types/node unasked (seconds of CPU): on a 2-core machine that work slowed every cell run right after
 * the start; a first check or completion does it anyway.
 */
const WARM_WHEN_IDLE_MS = 1000;
/** cell texts whose diagnostics are kept (see diagnostics) */
const CHECKED_KEPT = 64;
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
  /** the replacement worker while it warms up (see recycle) */
  private next: Worker | undefined;
  private recycled = 0;
  private restarted = 0;
  private limit: number;
  /**
   * Bumped by every cell that declares or imports something: a cell's diagnostics depend only on its text
   * and the declarations kept so far, so an answer stays good for the same text until this changes.
   */
  private scope = 0;
  private warmed = false;
  private started = false;
  private warmTimer: NodeJS.Timeout | undefined;
  private lastActive = 0;
  private readonly checked = new Map<string, { scope: number; diagnostics: TypeDiagnostic[] }>();

  constructor(private readonly cwd: string, private readonly root: string, opts: { heapLimitMb?: number } = {}) {
    this.limit = opts.heapLimitMb ?? HEAP_LIMIT_MB;
  }

  /**
   * The worker starts when first asked for something (or warmed): loading TypeScript in it is a few hundred
   * ms of CPU, which right after the kernel's start slowed the cells that needed no check. Cells added
   * before then are given to it as it starts.
   */
  private ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    let w: Worker;
    try {
      w = this.startWorker();
    } catch {
      return; // no worker threads: the service runs in-process (request)
    }
    this.worker = w;
    for (const code of this.cells) w.postMessage({ op: "addCell", code, id: this.nextId++ } as LsRequest);
  }

  /** how many times a fresh worker has taken over from one outgrowing its heap limit (see recycle) */
  get recycles(): number {
    return this.recycled;
  }

  /** how many times a worker that ran out of memory was started again with a larger limit */
  get restarts(): number {
    return this.restarted;
  }

  /** the heap limit (MB) the newest worker was given */
  get heapLimitMb(): number {
    return this.limit;
  }

  private startWorker(): Worker {
    const here = import.meta.url;
    const workerData = { cwd: this.cwd, root: this.root };
    // the process's --import/--require hooks are not needed (nor always safe) in the worker
    const options = { workerData, execArgv: [] as string[], resourceLimits: { maxOldGenerationSizeMb: this.limit } };
    let w: Worker;
    if (here.endsWith(".ts")) {
      const target = new URL("./ls-worker.ts", here).href;
      const hooks = "data:text/javascript," + encodeURIComponent(tsHooksSource(this.root));
      const code = `import { register } from "node:module"; register(${JSON.stringify(hooks)}); await import(${JSON.stringify(target)});`;
      w = new Worker(new URL("data:text/javascript," + encodeURIComponent(code)), options);
    } else {
      w = new Worker(fileURLToPath(new URL("./ls-worker.js", here)), options);
    }
    const limit = this.limit;
    w.unref();
    w.on("message", (res: LsResponse) => {
      if (res.id === 0) {
        if (w === this.worker && res.ok && res.heapUsed !== undefined && res.heapUsed > GROW_AT * limit * 2 ** 20) {
          this.limit = Math.max(this.limit, Math.ceil((2 * res.heapUsed) / 2 ** 20));
          this.recycle();
        }
        return;
      }
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if (!this.pending.size) w.unref();
      p.resolve(res);
    });
    // a worker retired by recycle() (or a replacement that failed to start) is not the service's death
    w.on("error", (e: Error & { code?: string }) => {
      if (w === this.next) this.next = undefined;
      else if (w !== this.worker) return;
      else if (e.code === "ERR_WORKER_OUT_OF_MEMORY" && this.restarted < MAX_RESTARTS) this.restart();
      else this.fallBack();
    });
    w.on("exit", () => { if (w === this.worker) this.fallBack(); else if (w === this.next) this.next = undefined; });
    return w;
  }

  /** The worker ran out of heap: a new one with twice the limit gets the cells and what was pending. */
  private restart(): void {
    const dead = this.worker;
    this.limit *= 2;
    this.restarted++;
    let w: Worker;
    try {
      w = this.startWorker();
    } catch {
      this.fallBack();
      return;
    }
    this.worker = w;
    if (this.next) void this.next.terminate();
    this.next = undefined;
    for (const code of this.cells) w.postMessage({ op: "addCell", code, id: this.nextId++ } as LsRequest);
    for (const [id, p] of this.pending) {
      if (p.worker !== dead) continue;
      // cells were replayed above; anything else is asked again
      if (p.body && p.body.op !== "addCell") {
        p.worker = w;
        w.ref();
        w.postMessage({ ...p.body, id } as LsRequest);
      } else {
        this.pending.delete(id);
        p.resolve({ id, ok: true });
      }
    }
    if (!this.pending.size) w.unref();
  }

  /**
   * The worker's live heap neared its limit (cells that import large typed packages): a fresh worker with
   * a larger limit is started, given the cells so far and warmed; it takes over once it has answered, and
   * the old one ends. Requests in flight finish on the old one.
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
    if (body.op !== "addCell") {
      // whatever the worker is asked now parses what warming would
      this.warmed = true;
      clearTimeout(this.warmTimer);
      this.warmTimer = undefined;
    }
    this.ensureStarted();
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
      this.pending.set(id, { resolve, worker: w, body });
      w.ref(); // an answer is awaited: keep the process alive until it comes
      w.postMessage({ ...body, id } as LsRequest);
    });
  }

  /**
   * `declares`: the cell has top-level declarations or imports (false only when known not to). Only those
   * are kept for later cells, so a cell without any is not sent to the worker at all.
   */
  addCell(code: string, declares = true): void {
    if (!declares) return;
    this.scope++;
    this.cells.push(code);
    if (this.local) this.local.addCell(code);
    else if (this.started) {
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
    // a re-run cell gets the earlier answer without a trip to the worker
    const hit = this.checked.get(code);
    if (hit && hit.scope === this.scope) return [...hit.diagnostics];
    const scope = this.scope;
    const r = await this.request({ op: "diagnostics", code });
    if (!r.ok) throw new Error(`the type checker failed: ${r.error}`);
    const diagnostics = r.diagnostics ?? [];
    // a text that loads modules or files may check differently once a package is installed
    if (code.includes("import") || code.includes("///")) return diagnostics;
    this.checked.delete(code);
    this.checked.set(code, { scope, diagnostics });
    if (this.checked.size > CHECKED_KEPT) this.checked.delete(this.checked.keys().next().value!);
    return [...diagnostics];
  }

  /**
   * Warms the worker once WARM_WHEN_IDLE_MS pass without another call (the session calls it around
   * cells). One timer, re-armed when it fires early, rather than a new timer per call: this runs twice a cell.
   */
  warmWhenIdle(): void {
    if (this.warmed) return;
    this.lastActive = performance.now();
    if (this.warmTimer) return;
    const fire = (): void => {
      const wait = this.lastActive + WARM_WHEN_IDLE_MS - performance.now();
      if (wait > 0) {
        this.warmTimer = setTimeout(fire, wait);
        this.warmTimer.unref();
        return;
      }
      this.warmTimer = undefined;
      if (!this.warmed) void this.request({ op: "warm" });
    };
    this.warmTimer = setTimeout(fire, WARM_WHEN_IDLE_MS);
    this.warmTimer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.warmTimer);
    const w = this.worker;
    const next = this.next;
    this.worker = undefined;
    this.next = undefined;
    await Promise.all([w?.terminate(), next?.terminate()]);
  }
}
