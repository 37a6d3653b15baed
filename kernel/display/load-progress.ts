// The live progress display of a model load: a bar (or, while MLX reads weights and reports no byte
// counts, a moving marker with the elapsed time), updated in place under one display_id and replaced
// by whatever the caller shows at the end (the model card, a failure line).
import { randomUUID } from "node:crypto";
import type { LoadOptions } from "../engine/types.js";
import type { MimeBundle, OutputSink } from "../protocol.js";
import { escapeHtml } from "../util/html.js";

export function progressBundle(label: string, fraction: number | undefined, elapsed: number): MimeBundle {
  const width = 30;
  const secs = `${elapsed.toFixed(1)} s`;
  if (fraction === undefined) {
    const pos = Math.floor(elapsed * 4) % width;
    const bar = Array.from({ length: width }, (_, i) => (Math.abs(i - pos) <= 1 ? "#" : ".")).join("");
    return { "text/plain": `[${bar}] ${label} ${secs}`, "text/html": `<div><progress style="width:20em"></progress> ${escapeHtml(label)} ${secs}</div>` };
  }
  const filled = Math.round(fraction * width);
  return {
    "text/plain": `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${label} ${secs}`,
    "text/html": `<div><progress style="width:20em" value="${fraction.toFixed(3)}" max="1"></progress> ${(fraction * 100).toFixed(0)}% ${escapeHtml(label)} ${secs}</div>`,
  };
}

export interface LoadProgress {
  onProgress: NonNullable<LoadOptions["onProgress"]>;
  /** seconds since the display started */
  elapsed(): number;
  /** replaces the bar with the final bundle and stops the timer */
  end(bundle: MimeBundle): void;
}

/** Starts a progress display for loading `what` into `sink`. */
export function startLoadProgress(sink: OutputSink, what: string, displayId = `mlx-ts-load-${randomUUID()}`): LoadProgress {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  let label = `loading ${what}`;
  let fraction: number | undefined;
  sink.display(progressBundle(label, undefined, 0), { displayId });
  const timer = setInterval(() => sink.updateDisplay(progressBundle(label, fraction, elapsed()), { displayId }), 500);
  timer.unref?.();
  return {
    onProgress: (p) => {
      label =
        p.phase === "download" ? `downloading ${p.file ?? what}`
        : p.phase === "warmup" ? `compiling GPU kernels for ${what} (${p.done}/${p.total} prompt-length buckets; the first load on this machine compiles for up to a minute each, later loads reuse ${process.env.MLX_PTX_CACHE_DIR ?? "MLX's cache"})`
        : `loading ${what}`;
      fraction = (p.phase === "download" || p.phase === "warmup") && p.total > 0 ? p.done / p.total : undefined;
    },
    elapsed,
    end: (bundle) => {
      clearInterval(timer);
      sink.updateDisplay(bundle, { displayId });
    },
  };
}
