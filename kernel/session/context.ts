// The one vm context every cell runs in, with Node's globals forwarded and the cell-aware pieces
// (console, process.stdout/stderr, timers) routed through the current cell's state.
import { Console } from "node:console";
import { Writable } from "node:stream";
import vm from "node:vm";
import type { CellState } from "./cell-state.js";
import { cellStorage } from "./cell-state.js";
import type { DeclKind } from "./transform.js";

/** Globals of the main realm that cells see as they are. Typed arrays and ArrayBuffer come from the main
 * realm too, so buffers from the engine and from cells share one set of constructors (instanceof works). */
const FORWARDED = [
  "Buffer", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "fetch", "Request", "Response", "Headers",
  "FormData", "Blob", "File", "structuredClone", "AbortController", "AbortSignal", "Event", "EventTarget",
  "CustomEvent", "atob", "btoa", "performance", "crypto", "MessageChannel", "MessagePort", "BroadcastChannel",
  "ReadableStream", "WritableStream", "TransformStream", "TextEncoderStream", "TextDecoderStream",
  "CompressionStream", "DecompressionStream", "WebAssembly",
  "ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  "Atomics", "DOMException",
] as const;

export interface ContextHooks {
  /** fallback output when no cell has run yet */
  report(err: unknown, state: CellState | undefined): void;
  import(spec: unknown): Promise<Record<string, unknown>>;
  require(spec: string): unknown;
  importMetaUrl: string;
}

export interface CellContext {
  context: vm.Context;
  /** the context's global object as seen from outside */
  global: Record<string, unknown>;
  /** whether a cell already declared `name` as a script-scope binding of the context */
  hasBinding(name: string): boolean;
  /** how the binding was last declared (const and imports are read-only from outside the cells) */
  bindingKind(name: string): DeclKind | undefined;
}

export function createCellContext(hooks: ContextHooks): CellContext {
  const sandbox: Record<string, unknown> = {};
  const g = globalThis as unknown as Record<string, unknown>;
  for (const k of FORWARDED) if (g[k] !== undefined) sandbox[k] = g[k];

  const route = (name: "stdout" | "stderr", text: string): void => {
    const st = cellStorage.getStore();
    if (st) st.sink.stream(name, text);
    else (name === "stdout" ? process.stdout : process.stderr).write(text);
  };
  // write() bypasses Writable's bookkeeping: an interrupt that stops a cell in the middle of it would
  // leave the stream "writing" for good, and every later console.log of the session would be lost.
  const stream = (name: "stdout" | "stderr"): Writable & { isTTY: boolean; columns: number } => {
    const w = new Writable({ decodeStrings: false });
    w.write = ((chunk: string | Uint8Array, enc?: BufferEncoding | ((e?: Error | null) => void), cb?: (e?: Error | null) => void): boolean => {
      route(name, typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      (typeof enc === "function" ? enc : cb)?.(null);
      return true;
    }) as Writable["write"];
    return Object.assign(w, { isTTY: false, columns: 100 });
  };
  const out = stream("stdout");
  const err = stream("stderr");
  // The streams' write callbacks complete synchronously, so nothing is buffered and each write runs in
  // the caller's async context (the cell that logged).
  sandbox.console = new Console({ stdout: out, stderr: err, colorMode: false });
  sandbox.process = new Proxy(process, {
    get(target, p) {
      if (p === "stdout") return out;
      if (p === "stderr") return err;
      if (p === "nextTick") return (cb: unknown, ...a: unknown[]) => process.nextTick(guard(cb), ...a);
      if (p === "exit" || p === "abort" || p === "reallyExit") {
        return () => {
          throw Object.assign(new Error(`process.${String(p)}() would end the kernel and lose every variable and loaded model. ` +
            "To start over, restart the kernel from the front end (or Ctrl-D in the REPL)."), { name: "UsageError" });
        };
      }
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });

  // Timer callbacks run as code of the cell that scheduled them; their errors are reported to that cell
  // instead of crashing the kernel. Those of a cell that was interrupted do not run: Stop ends the cell's
  // code, and `await sleep(20); for (;;) {}` interrupted during the sleep must not start its loop later.
  const guard = <A extends unknown[]>(cb: unknown): ((...a: A) => void) => {
    if (typeof cb !== "function") throw new TypeError(`The "callback" argument must be a function, got ${typeof cb}`);
    const owner = cellStorage.getStore();
    return (...a: A) => owner?.controller.signal.aborted ? undefined : cellStorage.run(owner, () => {
      try {
        const r = (cb as (...x: A) => unknown)(...a);
        if (r && typeof (r as Promise<unknown>).then === "function") {
          (r as Promise<unknown>).then(undefined, (e: unknown) => hooks.report(e, owner));
        }
      } catch (e) {
        hooks.report(e, owner);
      }
    });
  };
  sandbox.setTimeout = (cb: unknown, ms?: number, ...a: unknown[]) => setTimeout(guard(cb), ms, ...a);
  sandbox.setInterval = (cb: unknown, ms?: number, ...a: unknown[]) => setInterval(guard(cb), ms, ...a);
  sandbox.setImmediate = (cb: unknown, ...a: unknown[]) => setImmediate(guard(cb), ...a);
  sandbox.queueMicrotask = (cb: unknown) => queueMicrotask(guard(cb));
  sandbox.clearTimeout = clearTimeout;
  sandbox.clearInterval = clearInterval;
  sandbox.clearImmediate = clearImmediate;
  sandbox.require = hooks.require;

  const context = vm.createContext(sandbox, { name: "mlx-ts cells" });
  const global = vm.runInContext("globalThis", context) as Record<string, unknown>;
  global.global = global;

  // Declarations must be defined from inside the context so read-only (const) globals behave as in strict code.
  const define = vm.runInContext(
    `(function (name, value, readonly) {
       Object.defineProperty(globalThis, name, { value, writable: !readonly, configurable: true, enumerable: true });
     })`,
    context,
  ) as (name: string, value: unknown, readonly: boolean) => void;

  // Top-level names of cells are script-scope bindings (see bindingScript in transform.ts); each registers
  // its setter here once, and the global object gets a live accessor for code outside the cells.
  const setters = new Map<string, (v: unknown) => void>();
  const kinds = new Map<string, DeclKind>();
  const publish = (name: string, value: unknown, kind: DeclKind): void => {
    const set = setters.get(name);
    if (!set) { define(name, value, kind === "const" || kind === "import"); return; } // a script without its head (evaluate.ts fallback)
    kinds.set(name, kind);
    set(value);
  };
  const helpers = {
    expose(name: string, get: () => unknown, set: (v: unknown) => void): void {
      setters.set(name, set);
      Object.defineProperty(global, name, {
        get,
        set(v: unknown) {
          const k = kinds.get(name);
          if (k === "const" || k === "import") helpers.constAssign(name);
          set(v);
        },
        configurable: true, enumerable: true,
      });
    },
    decl(name: string, value: unknown, kind: DeclKind): void {
      publish(name, value, kind);
    },
    constAssign(name: string): never {
      throw new TypeError(`Assignment to constant variable '${name}' (declared with const or imported in a cell). Declare it again with let to change it.`);
    },
    import: (spec: unknown) => hooks.import(spec),
    bindImport(ns: Record<string, unknown>, b: { default?: string; namespace?: string; named?: [string, string][] }): void {
      const dflt = "default" in ns ? ns.default : ns;
      if (b.default) publish(b.default, dflt, "import");
      if (b.namespace) publish(b.namespace, ns, "import");
      for (const [from, to] of b.named ?? []) {
        // CommonJS modules may only expose names through their default export
        if (from in ns) publish(to, ns[from], "import");
        else if (dflt !== null && (typeof dflt === "object" || typeof dflt === "function") && from in dflt) {
          publish(to, (dflt as Record<string, unknown>)[from], "import");
        }
        // absent: a type-only name imported without `type`; it has no value to bind
      }
    },
    importMeta: { url: hooks.importMetaUrl },
  };
  Object.defineProperty(global, "__mlxts", { value: helpers, enumerable: false, writable: false, configurable: false });
  return { context, global, hasBinding: (name) => setters.has(name), bindingKind: (name) => kinds.get(name) };
}

/** Defines a global visible to cells (writable, so a cell can replace it). */
export function defineGlobal(c: CellContext, name: string, value: unknown): void {
  Object.defineProperty(c.global, name, { value, writable: true, configurable: true, enumerable: false });
}
