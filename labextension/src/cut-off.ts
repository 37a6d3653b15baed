// Ends a live generation output in the page, as the kernel's own final render would (kernel/display/
// token-stream.ts, TokenStreamView.finish with a note): no live cursor, no stale-timer style or note,
// and the note under the text. The kernel sends that render itself when it restarts, but JupyterLab drops
// the old kernel's messages once a restart begins, so the front end has to do it.
// test/unit/labextension-cut-off.test.ts checks the result equals the kernel's render.

export const RESTART_NOTE = "cut off by restart";
export const DEAD_NOTE = "cut off: the kernel stopped";

const LIVE_MARK = 'class="mlx-ts-live-cursor"';
const LIVE_CURSOR_HTML = '<span class="mlx-ts-live-cursor">▌</span>';
const STALE_STYLE = /<style>@keyframes mlx-ts-stale-hide[\s\S]*?<\/style>/;
const STALE_NOTE = /<div class="mlx-ts-stale-note">[^<]*<\/div>/;
const LIVE_CURSOR_TEXT = "▌";

/** A mime bundle as JupyterLab's output model holds it; nbformat may split a string into lines. */
export type MimeData = Readonly<Record<string, unknown>>;

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v.join("");
  return undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Whether this output is an mlx-ts generation still drawn as streaming. */
export function isLiveGeneration(data: MimeData): boolean {
  return text(data["text/html"])?.includes(LIVE_MARK) ?? false;
}

/** The bundle of a live generation ended with `note`; other keys are kept as they are. */
export function cutOffData(data: MimeData, note: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  const html = text(data["text/html"]);
  if (html !== undefined) {
    out["text/html"] = html
      .replace(STALE_STYLE, "")
      .replace(LIVE_CURSOR_HTML, "")
      // an open thinking block is open only while the answer has not started (the kernel closes it at the end)
      .replace("<details open>", "<details>")
      .replace(STALE_NOTE, `<div style="opacity:0.7;font-size:smaller">${escapeHtml(note)}</div>`);
  }
  const plain = text(data["text/plain"]);
  if (plain !== undefined) {
    const ended = plain.endsWith(LIVE_CURSOR_TEXT) ? plain.slice(0, -LIVE_CURSOR_TEXT.length) : plain;
    out["text/plain"] = `${ended}\n${note}`;
  }
  return out;
}
