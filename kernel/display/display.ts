// The `display` global of cells and the handles it returns. Every display gets a display_id, so any
// handle can be updated in place later (update_display_data), even from a callback after the cell ended.
import { randomUUID } from "node:crypto";
import type { DisplayOptions, MimeBundle, OutputSink } from "../protocol.js";
import { bundles, toMimeBundle } from "./mime.js";

export interface DisplayCallOptions {
  /** display_id to use (an existing one: this call replaces nothing, use handle.update for that) */
  id?: string;
  metadata?: Record<string, unknown>;
  /** the object is already a mime bundle */
  raw?: boolean;
  /** update the display with this id instead of adding a new one */
  update?: boolean;
}

const HANDLE = Symbol("mlx-ts.displayHandle");

/** A cell ending in `display(x)` shows the display, not the handle as its result. */
export function isDisplayHandle(v: unknown): boolean {
  return typeof v === "object" && v !== null && HANDLE in v;
}

/** Updates return nothing to await: the cell waits for its pending outputs before it replies. */
export interface DisplayHandle {
  readonly id: string;
  update(obj: unknown, opts?: { raw?: boolean }): void;
  clear(): void;
}

type BundleMakers = typeof bundles;
export type DisplayFunction = ((obj: unknown, opts?: DisplayCallOptions) => DisplayHandle) & {
  [K in keyof BundleMakers]: (data: Parameters<BundleMakers[K]>[0], opts?: DisplayCallOptions) => DisplayHandle;
} & {
  /** update_display_data for an earlier display id */
  update(id: string, obj: unknown, opts?: { raw?: boolean }): void;
};

/**
 * `getSink` is called at each output, so outputs from callbacks land in the cell that scheduled them.
 * `track` lets the caller wait for pending (async) displays before the cell's reply is sent.
 */
export function createDisplay(getSink: () => OutputSink, track: (p: Promise<unknown>) => void): DisplayFunction {
  const emit = (bundle: Promise<MimeBundle>, id: string, opts: DisplayCallOptions | undefined, update: boolean): Promise<void> => {
    const sink = getSink();
    const p = bundle.then((data) => {
      const o: DisplayOptions & { displayId: string } = { displayId: id, ...(opts?.metadata ? { metadata: opts.metadata } : {}) };
      if (update) sink.updateDisplay(data, o);
      else sink.display(data, o);
    });
    track(p);
    return p;
  };
  const toBundle = (obj: unknown, raw: boolean | undefined): Promise<MimeBundle> =>
    raw ? Promise.resolve(obj as MimeBundle) : toMimeBundle(obj);

  const handle = (id: string): DisplayHandle => {
    const h: DisplayHandle & { [HANDLE]?: true } = {
      id,
      update: (obj, o) => void emit(toBundle(obj, o?.raw), id, undefined, true).catch(() => undefined),
      clear: () => void emit(Promise.resolve({ "text/plain": "" }), id, undefined, true).catch(() => undefined),
    };
    Object.defineProperty(h, HANDLE, { value: true, enumerable: false });
    return h;
  };

  const show = (bundle: Promise<MimeBundle>, opts: DisplayCallOptions | undefined): DisplayHandle => {
    const id = opts?.id ?? randomUUID();
    void emit(bundle, id, opts, opts?.update === true).catch(() => undefined);
    return handle(id);
  };

  const display = ((obj: unknown, opts?: DisplayCallOptions) => show(toBundle(obj, opts?.raw), opts)) as DisplayFunction;
  for (const k of Object.keys(bundles) as (keyof BundleMakers)[]) {
    const make = bundles[k] as (d: unknown) => MimeBundle;
    (display as unknown as Record<string, unknown>)[k] = (data: unknown, opts?: DisplayCallOptions) =>
      show(Promise.resolve(make(data)), opts);
  }
  display.update = (id, obj, o) => void emit(toBundle(obj, o?.raw), id, undefined, true).catch(() => undefined);
  return display;
}
