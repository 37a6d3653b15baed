// Builds the tokenizer.json / tokenizer_config.json pair a GGUF's metadata describes (llama.cpp key
// names), so one tokenizer library serves both HF directories and GGUF files, and a GGUF model saved
// to a directory is loadable by mlx-lm / transformers.
import { spmTokenizerJson, type JsonObject } from "./gguf-spm.js";
import type { GgufMetadata } from "./native-types.js";
import { MlxTsError } from "./types.js";

export type { JsonObject };

export interface TokenizerFiles {
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
}

// llama.cpp token_type values
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;

// Split patterns by tokenizer.ggml.pre, as the original tokenizer.json files spell them.
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const SPLIT_BY_PRE: Record<string, string> = {
  "llama3": LLAMA3_SPLIT,
  "llama-v3": LLAMA3_SPLIT,
  "llama-bpe": LLAMA3_SPLIT,
  "smaug-bpe": LLAMA3_SPLIT,
  "dbrx": LLAMA3_SPLIT,
  "qwen2": QWEN2_SPLIT,
  "deepseek-r1-qwen": QWEN2_SPLIT,
};

const BYTE_LEVEL = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };

function preTokenizerFor(pre: string | undefined): JsonObject {
  const split = pre === undefined ? undefined : SPLIT_BY_PRE[pre];
  if (split !== undefined) {
    return {
      type: "Sequence",
      pretokenizers: [{ type: "Split", pattern: { Regex: split }, behavior: "Isolated", invert: false }, BYTE_LEVEL],
    };
  }
  // SmolLM / StarCoder split every digit on its own before the GPT-2 regex (their tokenizer.json says so).
  const gpt2 = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  if (pre === "smollm" || pre === "starcoder" || pre === "refact") {
    return { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, gpt2] };
  }
  return gpt2;
}

/** GPT-2's reversible byte -> printable character table. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  const set = new Set(printable);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(set.has(b) ? b : 256 + extra++);
  return table;
}

/** Vocabulary, added tokens and the model/pre-tokenizer/decoder of a byte-level BPE tokenizer.json. */
function byteLevelParts(meta: GgufMetadata, tokens: string[], merges: string[], types: number[]) {
  const alphabet = new Set(bytesToUnicode());
  const byteChar = bytesToUnicode();
  const encoder = new TextEncoder();
  // Byte-level vocabularies are stored spelled in GPT-2's byte alphabet; respell the odd raw one.
  const spelled = (t: string): string => {
    for (const ch of t) if (!alphabet.has(ch)) return Array.from(encoder.encode(t), (b) => byteChar[b]).join("");
    return t;
  };
  const vocab: Record<string, number> = {};
  const added: JsonObject[] = [];
  tokens.forEach((tok, id) => {
    const type = types[id];
    const isControl = type === TOKEN_CONTROL;
    if (isControl || type === TOKEN_USER_DEFINED) {
      // A control token outside the byte alphabet is a llama.cpp mislabel (transformers skips it too).
      if (!(isControl && spelled(tok) !== tok)) {
        added.push({ id, content: tok, single_word: false, lstrip: false, rstrip: false, normalized: false, special: isControl });
      }
    }
    vocab[spelled(tok)] = id;
  });
  const json: JsonObject = {
    normalizer: null,
    pre_tokenizer: preTokenizerFor(str(meta, "tokenizer.ggml.pre")),
    decoder: BYTE_LEVEL,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => {
        const i = m.indexOf(" ", 1);
        return [m.slice(0, i), m.slice(i + 1)];
      }),
    },
  };
  return { json, added, vocab, spelled };
}

function str(meta: GgufMetadata, key: string): string | undefined {
  const v = meta[key];
  return typeof v === "string" ? v : undefined;
}
function num(meta: GgufMetadata, key: string): number | undefined {
  const v = meta[key];
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}
function strings(meta: GgufMetadata, key: string): string[] | undefined {
  const v = meta[key];
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === "string") ? (v as string[]) : undefined;
}
function numbers(meta: GgufMetadata, key: string): number[] | undefined {
  const v = meta[key];
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === "number") ? (v as number[]) : undefined;
}

/** tokenizer.json + tokenizer_config.json equivalent to a GGUF's tokenizer: byte-level BPE ("gpt2") or SentencePiece BPE ("llama"). */
export function tokenizerFilesFromGguf(meta: GgufMetadata, source = "the GGUF file"): TokenizerFiles {
  const model = str(meta, "tokenizer.ggml.model");
  if (model !== "gpt2" && model !== "llama") {
    throw new MlxTsError(
      "E_TOKENIZER",
      `${source} has tokenizer.ggml.model = ${JSON.stringify(model)}; only byte-level BPE ("gpt2": Llama 3, Qwen, SmolLM) and SentencePiece BPE ("llama": Llama 2, Mistral) are supported from GGUF metadata. ` +
        "Load the model from its Hugging Face directory (with tokenizer.json) instead.",
    );
  }
  const tokens = strings(meta, "tokenizer.ggml.tokens");
  const merges = strings(meta, "tokenizer.ggml.merges");
  const scores = numbers(meta, "tokenizer.ggml.scores");
  if (!tokens || (model === "gpt2" ? !merges : !scores)) {
    throw new MlxTsError(
      "E_TOKENIZER",
      `${source} lacks tokenizer.ggml.tokens or its ${model === "gpt2" ? "merges" : "scores"}, so no tokenizer can be built. Use a GGUF converted with its tokenizer.`,
    );
  }
  const types = numbers(meta, "tokenizer.ggml.token_type") ?? [];

  let body: JsonObject;
  let added: JsonObject[];
  let vocabId: (tok: string) => number | undefined;
  if (model === "llama") {
    const unkId = num(meta, "tokenizer.ggml.unknown_token_id");
    const spm = spmTokenizerJson({ tokens, scores: scores ?? [], types, unk: unkId !== undefined && unkId < tokens.length ? tokens[unkId] : null });
    body = spm.json;
    added = spm.added;
    const ids = new Map(tokens.map((t, i) => [t, i]));
    vocabId = (t) => ids.get(t);
  } else {
    const bl = byteLevelParts(meta, tokens, merges ?? [], types);
    body = bl.json;
    added = bl.added;
    vocabId = (t) => bl.vocab[bl.spelled(t)];
  }

  const tokenAt = (key: string): string | null => {
    const id = num(meta, key);
    return id !== undefined && id >= 0 && id < tokens.length ? tokens[id] : null;
  };
  const bos = tokenAt("tokenizer.ggml.bos_token_id");
  const eos = tokenAt("tokenizer.ggml.eos_token_id");
  // llama.cpp adds BOS to a SentencePiece vocabulary unless the file says otherwise.
  const addBosFlag = num(meta, "tokenizer.ggml.add_bos_token");
  const addBos = addBosFlag === undefined ? model === "llama" : addBosFlag === 1;
  const addEos = num(meta, "tokenizer.ggml.add_eos_token") === 1;

  let postProcessor: JsonObject | null = model === "gpt2" ? BYTE_LEVEL : null;
  if ((addBos && bos !== null) || (addEos && eos !== null)) {
    const single: JsonObject[] = [];
    const specials: JsonObject = {};
    const push = (tok: string): void => {
      single.push({ SpecialToken: { id: tok, type_id: 0 } });
      specials[tok] = { id: tok, ids: [vocabId(tok)], tokens: [tok] };
    };
    if (addBos && bos !== null) push(bos);
    single.push({ Sequence: { id: "A", type_id: 0 } });
    if (addEos && eos !== null) push(eos);
    postProcessor = { type: "TemplateProcessing", single, pair: [...single, { Sequence: { id: "B", type_id: 1 } }], special_tokens: specials };
  }

  const tokenizerJson: JsonObject = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    ...body,
    post_processor: postProcessor,
  };

  const addedDecoder: JsonObject = {};
  for (const a of added) {
    addedDecoder[String(a.id)] = { content: a.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: a.special };
  }
  const tokenizerConfig: JsonObject = {
    add_bos_token: addBos,
    add_eos_token: addEos,
    added_tokens_decoder: addedDecoder,
    bos_token: bos,
    eos_token: eos,
    unk_token: tokenAt("tokenizer.ggml.unknown_token_id"),
    pad_token: tokenAt("tokenizer.ggml.padding_token_id"),
    clean_up_tokenization_spaces: false,
    model_max_length: num(meta, `${str(meta, "general.architecture") ?? "llama"}.context_length`) ?? 131072,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  const template = str(meta, "tokenizer.chat_template");
  if (template !== undefined) tokenizerConfig.chat_template = template;
  return { tokenizerJson, tokenizerConfig };
}
