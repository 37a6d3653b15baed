// What an interrupted generation and an interrupted %bench leave on screen: the real session and engine
// with the embedded SmolLM2, interrupted from the output callback the way Stop arrives mid-stream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingSink, startHarness, type Harness } from "./magics-harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  const { outcome } = await h.run("%load smollm2");
  if (outcome.status !== "ok") throw new Error(`load failed: ${outcome.evalue}`);
}, 300_000);

afterAll(async () => {
  await h?.shutdown();
});

describe("interrupted output is one clear line", () => {
  it("%%generate: the partial text, then one line; no stats, no cursor, no stale 'waiting' line", async () => {
    const sink = new RecordingSink();
    let updates = 0;
    sink.onEvent = (e) => {
      if (e.kind === "update" && ++updates === 3) h.session.interrupt();
    };
    const { outcome } = await h.run("%%generate --max-tokens 500\nTell a long story about a lighthouse.", sink);
    expect(outcome.status).toBe("error");
    if (outcome.status === "error") expect(outcome.ename).toBe("InterruptError");
    const shown = sink.outputs;
    expect(shown).toHaveLength(1);
    const text = String(shown[0]!["text/plain"]);
    const lines = text.split("\n");
    expect(lines[lines.length - 1]).toMatch(/^interrupted after \d+ tokens; the partial output is kept$/);
    expect(text.match(/interrupted/g)).toHaveLength(1);
    expect(text).not.toContain("▌");
    expect(text).not.toMatch(/TTFT|tok\/s/);
    expect(lines.slice(0, -1).join(" ").trim().length).toBeGreaterThan(0);
    expect(sink.events.filter((e) => e.kind === "stream" && e.name === "stderr").map((e) => (e as { text: string }).text).join("")).not.toContain("waiting for the running generation");
  }, 300_000);

  it("%bench stopped before its first row: one line, not an empty table header", async () => {
    const sink = new RecordingSink();
    let asked = false;
    sink.onEvent = (e) => {
      if (!asked && (e.kind === "display" || e.kind === "update")) {
        asked = true;
        setTimeout(() => h.session.interrupt(), 200);
      }
    };
    const { outcome } = await h.run("%bench smollm2 -p 64 -g 64 -n 3", sink);
    expect(outcome.status).toBe("error");
    const texts = sink.outputs.map((b) => String(b["text/plain"]));
    expect(texts.join("\n")).toMatch(/%bench interrupted before its first measurement finished; nothing was measured\./);
    expect(texts.join("\n")).not.toMatch(/^model\s+│/m);
  }, 300_000);
});
