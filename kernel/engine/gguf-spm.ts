// tokenizer.json for a GGUF whose tokenizer is SentencePiece BPE (tokenizer.ggml.model "llama": Llama 2,
// Mistral v0.1, TinyLlama): the vocabulary with scores but no merges, byte-fallback tokens <0xXX>.
// Merges are recovered from the scores the way transformers does (generate_merges).
/** a tokenizer.json fragment */
export type JsonObject = Record<string, unknown>;

const SPACE = "\u2581";
// llama.cpp token_type values
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_BYTE = 6;

/** Every (left, right) split of a token into two vocabulary tokens, best-scored token first. */
export function mergesFromScores(tokens: string[], scores: number[]): [string, string][] {
  const id = new Map<string, number>();
  tokens.forEach((t, i) => id.set(t, i));
  const all: { l: string; r: string; score: number }[] = [];
  tokens.forEach((tok, i) => {
    const chars = Array.from(tok);
    const local: { l: string; r: string; score: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join("");
      const r = chars.slice(k).join("");
      if (id.has(l) && id.has(r)) local.push({ l, r, score: scores[i] ?? 0 });
    }
    local.sort((a, b) => (id.get(a.l) ?? 0) - (id.get(b.l) ?? 0) || (id.get(a.r) ?? 0) - (id.get(b.r) ?? 0));
    all.push(...local);
  });
  // Python's sorted(key=(score, len(l), len(r)), reverse=True) is stable: equal keys keep their order.
  const indexed = all.map((m, i) => ({ ...m, i, ll: Array.from(m.l).length, lr: Array.from(m.r).length }));
  indexed.sort((a, b) => b.score - a.score || b.ll - a.ll || b.lr - a.lr || a.i - b.i);
  return indexed.map((m) => [m.l, m.r]);
}

export interface SpmParts {
  tokens: string[];
  scores: number[];
  types: number[];
  unk: string | null;
}

/** The model/pre-tokenizer/decoder/added-token part of a Llama-style tokenizer.json. */
export function spmTokenizerJson(p: SpmParts): { json: JsonObject; added: JsonObject[] } {
  const vocab: Record<string, number> = {};
  const added: JsonObject[] = [];
  p.tokens.forEach((tok, id) => {
    vocab[tok] = id;
    const type = p.types[id];
    if (type === TOKEN_CONTROL || type === TOKEN_UNKNOWN || type === TOKEN_USER_DEFINED) {
      added.push({ id, content: tok, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type !== TOKEN_USER_DEFINED });
    }
  });
  // Byte tokens and specials never take part in merges.
  const mergeable = p.tokens.map((t, i) => (p.types[i] === TOKEN_BYTE || p.types[i] === TOKEN_CONTROL || p.types[i] === TOKEN_UNKNOWN ? "" : t));
  const merges = mergesFromScores(mergeable, p.scores).filter(([l, r]) => l !== "" && r !== "");
  const json: JsonObject = {
    // llama.cpp puts a space before every run of text that starts the input or follows a special token,
    // even when the text already starts with one; a Prepend normalizer (applied per run) does exactly that,
    // where a Metaspace pre-tokenizer would skip text already starting with a space.
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPACE },
        { type: "Replace", pattern: { String: " " }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: p.unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return { json, added };
}
