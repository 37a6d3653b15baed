// The live generation view on its own (pure logic, a manual clock): coalescing to a bounded update rate,
// thinking shown apart from the answer, and the final render with the stats line.
import { describe, expect, it } from "vitest";
import { cutOffLiveGenerations, generationBundle, interruptedNote, statsLine, TokenStreamView, type Clock } from "../../kernel/display/token-stream.js";
import type { GenerationStats } from "../../kernel/engine/types.js";
import { RecordingSink } from "./magics-harness.js";

class ManualClock implements Clock {
  t = 0;
  private timers: { at: number; f: () => void; id: number }[] = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(f: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, f, id });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== id);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.f();
    }
    this.t = end;
  }
}

const STATS: GenerationStats = {
  promptTokens: 12, reusedTokens: 5, generatedTokens: 40, ttftMs: 35.2, prefillMs: 30, decodeMs: 800,
  promptTps: 233.3, generationTps: 48.8, peakMemory: 123_400_000, stopReason: "eos",
};

describe("TokenStreamView", () => {
  it("coalesces a token every millisecond into at most 20 updates a second, all on one display id", () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const view = new TokenStreamView(sink, { clock, maxUpdatesPerSecond: 20 });
    for (let i = 0; i < 1000; i++) {
      view.push({ text: `t${i} `, thinking: false });
      clock.advance(1);
    }
    view.finish({ stats: STATS });
    // one second of tokens: the first shows at once, then one update per 50 ms, then the final render
    expect(view.emits).toBeLessThanOrEqual(1 + 20 + 1);
    expect(view.emits).toBeGreaterThanOrEqual(15);
    expect(sink.events[0]!.kind).toBe("display");
    expect(sink.events.slice(1).every((e) => e.kind === "update")).toBe(true);
    expect(new Set(sink.events.map((e) => (e as { displayId?: string }).displayId)).size).toBe(1);
    const final = String(sink.outputs[0]!["text/plain"]);
    expect(final).toContain("t999");
    expect(final.endsWith(statsLine(STATS))).toBe(true);
  });

  it("shows nothing twice after finish: a pending timer is dropped", () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const view = new TokenStreamView(sink, { clock });
    view.push({ text: "a", thinking: false });
    view.push({ text: "b", thinking: false }); // within 50 ms: scheduled
    view.finish({ answer: "ab", thinking: "", stats: STATS, note: "interrupted: generation stopped, partial output kept" });
    clock.advance(1000);
    expect(view.emits).toBe(2);
    expect(String(sink.outputs[0]!["text/plain"])).toMatch(/^ab\n\nprompt: 12 tokens \(5 reused\)[\s\S]*interrupted/);
  });

  it("renders thinking apart: collapsed <details> in HTML, a thinking: prefix in text", () => {
    const b = generationBundle({ answer: "\n\nParis.", thinking: "<think>\nThe user asks about France.\nCapital is Paris.\n</think>", live: false, stats: STATS });
    const text = String(b["text/plain"]);
    expect(text).toBe(`thinking: The user asks about France.\nthinking: Capital is Paris.\nParis.\n\n${statsLine(STATS)}`);
    const html = String(b["text/html"]);
    expect(html).toMatch(/<details><summary[^>]*>thinking \(\d+ chars\)<\/summary><pre[^>]*opacity:0.6[^>]*>The user asks about France\.\nCapital is Paris\.<\/pre><\/details>/);
    expect(html).toContain(">Paris.</pre>");
    // while still thinking (no answer yet) the block is open, so the stream is visible
    expect(String(generationBundle({ answer: "", thinking: "<think>hmm", live: true })["text/html"])).toContain("<details open>");
  });

  it("escapes model text in HTML and states the numbers in the stats line as measured", () => {
    const b = generationBundle({ answer: "<script>x</script> & co", thinking: "", live: false });
    expect(String(b["text/html"])).toContain("&lt;script&gt;x&lt;/script&gt; &amp; co");
    expect(statsLine(STATS)).toBe("prompt: 12 tokens (5 reused), 233.3 tok/s | TTFT: 35 ms | generation: 40 tokens, 48.8 tok/s | peak memory: 123 MB | stop: eos");
  });

  it("wraps generated text between words: JupyterLab's break-all is overridden on every <pre>", () => {
    const html = String(generationBundle({ answer: "a tapestry of memories", thinking: "<think>x</think>", live: false, stats: STATS })["text/html"]);
    const pres = html.match(/<pre style="[^"]*"/g) ?? [];
    expect(pres).toHaveLength(2);
    for (const p of pres) {
      expect(p).toContain("word-break:normal");
      expect(p).toContain("overflow-wrap:anywhere");
      expect(p).not.toContain("break-all");
    }
  });

  it("ends an interrupted generation with its partial text and one line, without the stats or the cursor", () => {
    const sink = new RecordingSink();
    const view = new TokenStreamView(sink, { clock: new ManualClock() });
    view.push({ text: "a tapestry", thinking: false });
    const stats = { ...STATS, generatedTokens: 3, stopReason: "cancelled" };
    view.finish({ answer: "a tapestry", thinking: "", note: interruptedNote(stats) });
    const text = String(sink.outputs[0]!["text/plain"]);
    expect(text).toBe("a tapestry\ninterrupted after 3 tokens; the partial output is kept");
    expect(String(sink.outputs[0]!["text/html"])).not.toContain("mlx-ts-stats");
  });

  it("a restart cuts off the live generations: the cursor goes, a note says why, and a late finish changes nothing", () => {
    const sink = new RecordingSink();
    const view = new TokenStreamView(sink, { clock: new ManualClock() });
    view.push({ text: "Once upon", thinking: false });
    expect(String(sink.outputs[0]!["text/plain"])).toBe("Once upon▌");
    expect(cutOffLiveGenerations("cut off by restart")).toBe(1);
    const after = sink.outputs[0]!;
    expect(String(after["text/plain"])).toBe("Once upon\ncut off by restart");
    expect(String(after["text/html"])).not.toContain("▌");
    expect(String(after["text/html"])).toContain("cut off by restart");
    view.finish({ answer: "Once upon a", thinking: "", stats: STATS });
    expect(sink.outputs[0]).toEqual(after);
    expect(cutOffLiveGenerations("cut off by restart")).toBe(0);
  });
});
