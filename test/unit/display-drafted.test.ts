// The generation view marks text that accepted draft tokens released (speculative decoding): highlighted
// spans and a legend in HTML, the plain text unchanged, and no marking where nothing was drafted.
import { describe, expect, it } from "vitest";
import { TokenStreamView, type Clock } from "../../kernel/display/token-stream.js";
import type { MimeBundle } from "../../kernel/protocol.js";

const clock: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined };

function record(): { last: () => MimeBundle; sink: ConstructorParameters<typeof TokenStreamView>[0] } {
  const bundles: MimeBundle[] = [];
  return {
    last: () => bundles.at(-1)!,
    sink: { display: (b) => void bundles.push(b), updateDisplay: (b) => void bundles.push(b) },
  };
}

describe("TokenStreamView with drafted chunks", () => {
  it("wraps drafted runs in highlighted spans, with a legend, and leaves the text form alone", () => {
    const r = record();
    const v = new TokenStreamView(r.sink, { clock, maxUpdatesPerSecond: 1e9 });
    v.push({ text: " The", thinking: false });
    v.push({ text: " sea <is>", thinking: false, drafted: true });
    v.push({ text: " calm", thinking: false, drafted: true });
    v.push({ text: ".", thinking: false });
    v.finish({ answer: " The sea <is> calm." });
    const html = String(r.last()["text/html"]);
    expect(html).toContain('The<span class="mlx-ts-drafted"');
    expect(html).toMatch(/<span class="mlx-ts-drafted"[^>]*> sea &lt;is&gt; calm<\/span>\./);
    expect(html).toContain("proposed by the draft model and accepted by the target");
    expect(String(r.last()["text/plain"])).toMatch(/^The sea <is> calm\./);
  });

  it("drops leading whitespace across runs, as the unmarked view does", () => {
    const r = record();
    const v = new TokenStreamView(r.sink, { clock, maxUpdatesPerSecond: 1e9 });
    v.push({ text: "\n", thinking: false, drafted: true });
    v.push({ text: " Hi", thinking: false });
    v.finish({});
    expect(String(r.last()["text/html"])).toMatch(/<pre[^>]*>Hi<\/pre>/);
  });

  it("marks nothing without drafted chunks, or when the final answer differs from what streamed", () => {
    const plain = record();
    const a = new TokenStreamView(plain.sink, { clock });
    a.push({ text: "plain", thinking: false });
    a.finish({ answer: "plain" });
    expect(String(plain.last()["text/html"])).not.toContain("mlx-ts-drafted");
    expect(String(plain.last()["text/html"])).not.toContain("draft model");

    const changed = record();
    const b = new TokenStreamView(changed.sink, { clock });
    b.push({ text: "draft", thinking: false, drafted: true });
    b.finish({ answer: "other" });
    expect(String(changed.last()["text/html"])).not.toContain("mlx-ts-drafted");
    expect(String(changed.last()["text/html"])).toContain("other");
  });
});
