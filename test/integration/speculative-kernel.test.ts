// %%generate --draft through the real kernel process (jupyter_client from .venv): the flag reaches the
// engine over the wire, the tokens equal the plain run's, and the stats line carries the acceptance rate.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cellText, ensureFixtures, FIXTURES, runInKernel } from "./magics-harness.js";

const DRAFT_STATS = /\| draft: (\d+)\/(\d+) accepted \((\d+)%\), [\d.]+ tokens\/target step/;

beforeAll(() => ensureFixtures());

describe("%%generate --draft in the kernel process", () => {
  it("streams the same tokens as without the draft and prints the acceptance rate", () => {
    const q = join(FIXTURES, "qwen3-tiny-bf16");
    const cells = runInKernel([
      { code: `%load ${q} --as big` },
      { code: `%load ${q} --as small --dtype f32` },
      { code: "%%generate --model big --max-tokens 16\nName a river." },
      { code: "lastGeneration.tokens.join(',')" },
      { code: "%%generate --model big --max-tokens 16 --draft small\nName a river." },
      { code: "lastGeneration.tokens.join(',')" },
    ]);
    for (const c of cells) expect(c.reply?.status, `${c.code}: ${c.reply?.evalue ?? ""}`).toBe("ok");
    expect(cellText(cells[4]!)).toMatch(DRAFT_STATS);
    expect(cellText(cells[5]!)).toBe(cellText(cells[3]!));
    expect(cellText(cells[3]!)).toMatch(/\d+(,\d+)+/);
  }, 90_000);
});
