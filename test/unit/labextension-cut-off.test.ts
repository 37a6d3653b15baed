// What the extension does to a live generation output when the kernel restarts (labextension/src/
// cut-off.ts) must equal the kernel's own final render with that note (TokenStreamView.finish), which
// JupyterLab never receives: the same HTML and text, no cursor, no stale timer.
import { describe, expect, it } from "vitest";
import type { MimeBundle } from "../../kernel/protocol.js";
import { TokenStreamView, type Clock } from "../../kernel/display/token-stream.js";
import { RESTART_NOTE, cutOffData, isLiveGeneration } from "../../labextension/src/cut-off.js";

const clock: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined };

/** Every bundle a view sends, in order. */
function record(): { bundles: MimeBundle[]; view: TokenStreamView } {
  const bundles: MimeBundle[] = [];
  const sink = { display: (b: MimeBundle) => void bundles.push(b), updateDisplay: (b: MimeBundle) => void bundles.push(b) };
  return { bundles, view: new TokenStreamView(sink, { clock, maxUpdatesPerSecond: Infinity }) };
}

const CASES: [string, { text: string; thinking: boolean; drafted?: boolean }[]][] = [
  ["plain answer", [{ text: " Once upon", thinking: false }, { text: " a <time> & place", thinking: false }]],
  ["thinking only (the block is open while live)", [{ text: "<think>hmm, let me", thinking: true }]],
  ["thinking then answer", [{ text: "<think>hmm</think>", thinking: true }, { text: "Yes.", thinking: false }]],
  ["drafted runs", [{ text: "The sea", thinking: false, drafted: true }, { text: " is wide", thinking: false }]],
];

describe("cutOffData (labextension) equals the kernel's cut-off render", () => {
  for (const [name, chunks] of CASES) {
    it(name, () => {
      const { bundles, view } = record();
      for (const c of chunks) view.push(c);
      const live = bundles.at(-1)!;
      expect(isLiveGeneration(live)).toBe(true);
      view.finish({ note: RESTART_NOTE });
      const final = bundles.at(-1)!;
      expect(isLiveGeneration(final)).toBe(false);
      expect(cutOffData(live, RESTART_NOTE)).toEqual(final);
    });
  }

  it("takes HTML split into lines, as nbformat stores it", () => {
    const { bundles, view } = record();
    view.push({ text: "line one\nline two", thinking: false });
    const live = bundles.at(-1)!;
    const split = { ...live, "text/html": (live["text/html"] as string).split(/(?<=\n)/) };
    expect(isLiveGeneration(split)).toBe(true);
    view.finish({ note: RESTART_NOTE });
    expect(cutOffData(split, RESTART_NOTE)).toEqual(bundles.at(-1));
  });

  it("leaves other outputs alone", () => {
    expect(isLiveGeneration({ "text/plain": "1", "text/html": "<b>1</b>" })).toBe(false);
  });
});
