// The pure checks behind speculative decoding: a draft's vocabulary against the target's, and the
// draft/numDraft options (kernel/engine/draft.ts, generate-params.ts).
import { describe, expect, it } from "vitest";
import { draftMismatch } from "../../kernel/engine/draft.js";
import { generateParams } from "../../kernel/engine/generate-params.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const qwen = { name: "big", embeddingRows: 151936, tokenizerVocab: 151669, eosTokenIds: [151645, 151643] };

describe("draftMismatch", () => {
  it("accepts the same vocabulary (EOS ids in any order)", () => {
    expect(draftMismatch(qwen, { ...qwen, name: "small", eosTokenIds: [151643, 151645] })).toBeUndefined();
  });

  it("names both models and every difference", () => {
    const e = draftMismatch(qwen, { name: "smol", embeddingRows: 49152, tokenizerVocab: 49152, eosTokenIds: [2] });
    expect(e).toBeInstanceOf(MlxTsError);
    expect(e!.code).toBe("E_BAD_ARGUMENT");
    expect(e!.message).toMatch(/^smol cannot draft for big: their vocabularies differ \(big vs smol: embedding rows 151936 vs 49152; tokenizer vocabulary 151669 vs 49152 tokens; EOS ids \[151643, 151645\] vs \[2\]\)/);
    expect(draftMismatch(qwen, { ...qwen, name: "x", eosTokenIds: [151645] })!.message).toMatch(/EOS ids \[151643, 151645\] vs \[151645\]/);
  });
});

describe("generateParams draft options", () => {
  it("defaults numDraft to 2 (mlx-lm's num_draft_tokens) only when a draft is given", () => {
    expect(generateParams({ draft: "small" }, []).numDraft).toBe(2);
    expect(generateParams({}, []).numDraft).toBeUndefined();
    expect(generateParams({ draft: "small", numDraft: 5 }, []).numDraft).toBe(5);
  });

  it("refuses numDraft < 1, non-integers, numDraft without a draft, and an empty draft name", () => {
    for (const numDraft of [0, -2, 2.5, Number.NaN]) expect(() => generateParams({ draft: "small", numDraft }, [])).toThrow(/numDraft .* must be an integer from 1 to 1024/);
    expect(() => generateParams({ numDraft: 2 }, [])).toThrow(/numDraft .* needs a draft model/);
    expect(() => generateParams({ draft: "" }, [])).toThrow(/draft .* must be a non-empty string/);
  });
});
