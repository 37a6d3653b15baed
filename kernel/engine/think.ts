// Tracks Qwen3-style <think>…</think> blocks in streamed text: each piece of text is tagged as
// thinking or not, and the whole splits into the answer (outside blocks) and the thinking (inside).

export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

export interface ThinkSegment {
  text: string;
  thinking: boolean;
}

export class ThinkTracker {
  private held = "";
  private answerParts: string[] = [];
  private thinkingParts: string[] = [];

  constructor(private inside = false) {}

  get thinking(): boolean {
    return this.inside;
  }

  /** Splits text at tags; tags belong to the thinking side. A tail that may be the start of a tag is held back. */
  push(text: string): ThinkSegment[] {
    let buf = this.held + text;
    this.held = "";
    const out: ThinkSegment[] = [];
    for (;;) {
      const tag = this.inside ? THINK_CLOSE : THINK_OPEN;
      const i = buf.indexOf(tag);
      if (i < 0) break;
      this.take(out, buf.slice(0, i), this.inside);
      this.take(out, tag, true, true);
      this.inside = !this.inside;
      buf = buf.slice(i + tag.length);
    }
    const tag = this.inside ? THINK_CLOSE : THINK_OPEN;
    let keep = 0;
    for (let n = Math.min(tag.length - 1, buf.length); n > 0; n--) {
      if (buf.endsWith(tag.slice(0, n))) {
        keep = n;
        break;
      }
    }
    this.take(out, buf.slice(0, buf.length - keep), this.inside);
    this.held = buf.slice(buf.length - keep);
    return out;
  }

  flush(): ThinkSegment[] {
    const out: ThinkSegment[] = [];
    this.take(out, this.held, this.inside);
    this.held = "";
    return out;
  }

  /** Text outside think blocks, tags removed, surrounding whitespace trimmed. */
  get answer(): string {
    return this.answerParts.join("").trim();
  }

  /** Text inside think blocks, tags removed, trimmed. */
  get thinkingText(): string {
    return this.thinkingParts.join("").trim();
  }

  private take(out: ThinkSegment[], text: string, thinking: boolean, isTag = false): void {
    if (text.length === 0) return;
    if (!isTag) (thinking ? this.thinkingParts : this.answerParts).push(text);
    const last = out[out.length - 1];
    if (last && last.thinking === thinking) last.text += text;
    else out.push({ text, thinking });
  }
}
