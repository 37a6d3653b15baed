// Speculative decoding: whether a draft model can propose tokens for a target. The target checks the
// draft's token ids as its own, so both must number tokens the same way and stop on the same ids.
import { MlxTsError } from "./types.js";

export interface VocabularyFacts {
  name: string;
  /** embedding rows (config vocab_size) */
  embeddingRows: number;
  /** tokens the tokenizer knows (added tokens included) */
  tokenizerVocab: number;
  eosTokenIds: readonly number[];
}

const ids = (a: readonly number[]): string => `[${[...a].sort((x, y) => x - y).join(", ")}]`;

/** E_BAD_ARGUMENT naming both models and every way their vocabularies differ; undefined when compatible. */
export function draftMismatch(target: VocabularyFacts, draft: VocabularyFacts): MlxTsError | undefined {
  const diffs: string[] = [];
  if (target.embeddingRows !== draft.embeddingRows) diffs.push(`embedding rows ${target.embeddingRows} vs ${draft.embeddingRows}`);
  if (target.tokenizerVocab !== draft.tokenizerVocab) diffs.push(`tokenizer vocabulary ${target.tokenizerVocab} vs ${draft.tokenizerVocab} tokens`);
  if (ids(target.eosTokenIds) !== ids(draft.eosTokenIds)) diffs.push(`EOS ids ${ids(target.eosTokenIds)} vs ${ids(draft.eosTokenIds)}`);
  if (diffs.length === 0) return undefined;
  return new MlxTsError(
    "E_BAD_ARGUMENT",
    `${draft.name} cannot draft for ${target.name}: their vocabularies differ (${target.name} vs ${draft.name}: ${diffs.join("; ")}). ` +
      "A draft must share the target's tokenizer; use a smaller model of the same family (or a quantized copy of the target).",
  );
}
