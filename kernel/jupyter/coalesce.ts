// Merges bursts of iopub output before they are signed and sent: consecutive stream text of one cell
// becomes one stream message, and consecutive update_display_data for one display_id keep only the
// newest. A cell printing 20 000 lines then costs a handful of messages instead of 20 000, which keeps
// the PUB socket and the front end from drowning (ipykernel gets the same effect from its 0.2 s flush).
import type { OutgoingMessage } from "./messages.js";

/** Stream text merged into one message stays below this, so one message never grows without bound. */
const MAX_MERGED_TEXT = 1 << 20;

function displayId(m: OutgoingMessage): unknown {
  return (m.content.transient as { display_id?: unknown } | undefined)?.display_id;
}

function sameParent(a: OutgoingMessage, b: OutgoingMessage): boolean {
  return a.parent_header.msg_id === b.parent_header.msg_id;
}

export function coalescable(m: OutgoingMessage): boolean {
  const t = m.header.msg_type;
  return m.socket === "iopub" && (t === "stream" || (t === "update_display_data" && displayId(m) !== undefined)) && !m.buffers?.length;
}

/** The message `held` becomes when `next` is merged into it, or undefined when they must stay apart. */
export function merge(held: OutgoingMessage, next: OutgoingMessage): OutgoingMessage | undefined {
  if (!coalescable(held) || !coalescable(next) || !sameParent(held, next) || held.header.msg_type !== next.header.msg_type) return undefined;
  if (held.header.msg_type === "stream") {
    if (held.content.name !== next.content.name) return undefined;
    const text = String(held.content.text) + String(next.content.text);
    if (text.length > MAX_MERGED_TEXT) return undefined;
    return { ...held, content: { ...held.content, text } };
  }
  return displayId(held) === displayId(next) ? next : undefined;
}

export class IopubCoalescer {
  private held: OutgoingMessage | undefined;
  private scheduled = false;

  constructor(
    private readonly emit: (m: OutgoingMessage) => void,
    private readonly schedule: (f: () => void) => void = setImmediate,
  ) {}

  push(m: OutgoingMessage): void {
    if (this.held) {
      const merged = merge(this.held, m);
      if (merged) {
        this.held = merged;
        return;
      }
      this.flush();
    }
    if (!coalescable(m)) {
      this.emit(m);
      return;
    }
    this.held = m;
    if (!this.scheduled) {
      this.scheduled = true;
      // Everything that arrived in the same read from the kernel is merged; then it goes out.
      this.schedule(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    const h = this.held;
    this.held = undefined;
    if (h) this.emit(h);
  }
}
