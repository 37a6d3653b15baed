import { describe, expect, it } from "vitest";
import { bundles, tableText, TABLE_MIME, toMimeBundle } from "../../kernel/display/mime.js";
import { bundleToText } from "../../kernel/display/terminal.js";

describe("toMimeBundle", () => {
  it("gives plain values text/plain without colours", async () => {
    expect(await toMimeBundle(42)).toEqual({ "text/plain": "42" });
    expect(await toMimeBundle("s")).toEqual({ "text/plain": "'s'" });
    expect(String((await toMimeBundle({ a: [1, 2] }))["text/plain"])).not.toMatch(/\u001b/);
  });

  it("shows a finished generation as its text and stats line, not a dump of token ids", async () => {
    const stats = { promptTokens: 5, reusedTokens: 0, generatedTokens: 3, promptTps: 50, generationTps: 20, ttftMs: 100, prefillMs: 100, decodeMs: 150, peakMemory: 2 ** 20, stopReason: "length" };
    const r = { text: "Paris is", answer: "Paris is", thinking: "", tokens: [11, 12, 13], promptTokens: [1, 2, 3, 4, 5], stats };
    const b = await toMimeBundle(r);
    expect(b["text/plain"]).toMatch(/^Paris is\n\nprompt: 5 tokens, 50\.0 tok\/s \| TTFT: 100 ms \| generation: 3 tokens, 20\.0 tok\/s/);
    expect(b["text/plain"]).not.toContain("promptTokens: [");
    expect(b["text/html"]).toContain("mlx-ts-stats");
  });

  it("adds an HTML table (and table rows for terminals) for arrays of plain objects", async () => {
    const b = await toMimeBundle([{ a: 1, b: "<x>" }, { a: 2, c: true }]);
    expect(b["text/html"]).toContain("<th>a</th><th>b</th><th>c</th>");
    expect(b["text/html"]).toContain("&lt;x&gt;");
    expect(b[TABLE_MIME]).toEqual({ columns: ["a", "b", "c"], rows: [[1, "<x>", undefined], [2, undefined, true]] });
    expect(bundleToText(b).split("\n")[0]).toMatch(/^a\s+│ b\s+│ c$/);
  });

  it("uses the Jupyter.display protocol, keeping a text/plain fallback", async () => {
    const v = { [Symbol.for("Jupyter.display")]: () => ({ "text/html": "<b>rich</b>" }) };
    const b = await toMimeBundle(v);
    expect(b["text/html"]).toBe("<b>rich</b>");
    expect(typeof b["text/plain"]).toBe("string");
  });

  it("shows promises by state instead of awaiting them", async () => {
    expect((await toMimeBundle(Promise.resolve(5)))["text/plain"]).toBe("Promise { 5 }");
    expect((await toMimeBundle(new Promise(() => undefined)))["text/plain"]).toBe("Promise { <pending> }");
  });

  it("shows errors with their message", async () => {
    expect(String((await toMimeBundle(new TypeError("bad")))["text/plain"])).toContain("TypeError: bad");
  });
});

describe("display bundles and their terminal text", () => {
  it("images say what they are and how big", () => {
    expect(bundleToText(bundles.svg("<svg></svg>"))).toBe("[image/svg+xml output: 11 bytes]");
    expect(bundleToText(bundles.png(new Uint8Array([1, 2, 3])))).toBe("[image/png output: 3 bytes]");
    expect(bundles.png(new Uint8Array([1, 2, 3]))["image/png"]).toBe("AQID");
  });

  it("html, markdown, json, vegalite and latex carry a text fallback", () => {
    expect(bundleToText(bundles.html("<p>hi <b>there</b></p>"))).toBe("hi there");
    expect(bundles.markdown("# T")["text/markdown"]).toBe("# T");
    expect(bundles.json({ a: 1 })["application/json"]).toEqual({ a: 1 });
    expect(bundleToText(bundles.vegalite({ title: "tps", mark: "bar" }))).toBe("[Vega-Lite chart: tps]");
    expect(bundles.latex("x^2")["text/latex"]).toBe("x^2");
  });

  it("tableText aligns columns", () => {
    expect(tableText({ columns: ["name", "n"], rows: [["a", 1], ["long", 22]] })).toBe("name │ n\n─────┼───\na    │ 1\nlong │ 22");
  });
});
