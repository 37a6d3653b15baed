// GGUF metadata and the tokenizer built from it, against MLX's own GGUF reader and transformers'
// GGUF tokenizer conversion, on the embedded SmolLM2 GGUF.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDetokenizer } from "../../kernel/engine/detokenizer.js";
import { readGgufMetadata } from "../../kernel/engine/gguf-meta.js";
import { tokenizerFilesFromGguf } from "../../kernel/engine/gguf-tokenizer.js";
import { generationConfigFromGguf, mergeEosIds } from "../../kernel/engine/model-config.js";
import type { GgufMetadata } from "../../kernel/engine/native-types.js";
import { resolveModel } from "../../kernel/engine/resolve.js";
import { ModelTokenizer } from "../../kernel/engine/tokenizer.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const PY = ".venv/bin/python";
const SENTENCES = [
  "Hello world!",
  "The year 2024 had 366 days; I'm sure we've counted.",
  "What is the capital of France?",
  "  two leading spaces\n\nand\ttabs   trailing",
  "你好，世界 😀👍🏽 café",
  "<|im_start|>user\nHi<|im_end|>\n<|endoftext|>",
  "def f(x):\n    return x ** 2",
];

interface PyOut {
  meta: { arch: string; nTokens: number; nMerges: number; eos: number; bos: number; template: string; tensorCount: number; blockCount: number };
  convertedIds: number[][];
  savedIds: number[][];
  savedDecoded: string[];
  savedTemplate: string;
}

let dir: string;
let gguf: string;
let meta: GgufMetadata;
let py: PyOut;
let tok: ModelTokenizer;

beforeAll(async () => {
  gguf = (await resolveModel("smollm2")).path;
  meta = readGgufMetadata(gguf).metadata;
  tok = ModelTokenizer.fromGguf(meta, gguf);
  dir = mkdtempSync(join(tmpdir(), "engine-gguf-"));
  const files = tokenizerFilesFromGguf(meta, gguf);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(files.tokenizerJson));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(files.tokenizerConfig));
  // The reference: MLX reads the GGUF metadata (and splits quantized tensors into weight/scales/biases), transformers converts it to a tokenizer (its own code path),
  // and transformers also loads the tokenizer.json/tokenizer_config.json we wrote.
  const script = `
import json, sys
import mlx.core as mx
from transformers import AutoTokenizer
from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer, GGUF_TOKENIZER_MAPPING
inp = json.load(sys.stdin)
weights, meta = mx.load(inp["gguf"], return_metadata=True)
def val(v):
    if isinstance(v, mx.array): return v.item() if v.ndim == 0 else v.tolist()
    return v
meta = {k: val(v) for k, v in meta.items()}
d = {name: meta[f"tokenizer.{key}"] for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items() if f"tokenizer.{key}" in meta}
backend, _ = convert_gguf_tokenizer(meta["general.architecture"], d)
saved = AutoTokenizer.from_pretrained(inp["dir"])
out = {
  "meta": {"arch": meta["general.architecture"], "nTokens": len(meta["tokenizer.ggml.tokens"]), "nMerges": len(meta["tokenizer.ggml.merges"]),
           "eos": meta["tokenizer.ggml.eos_token_id"], "bos": meta["tokenizer.ggml.bos_token_id"], "template": meta["tokenizer.chat_template"],
           "tensorCount": len([k for k in weights if not k.endswith((".scales", ".biases"))]), "blockCount": meta["llama.block_count"]},
  "convertedIds": [backend.encode(s).ids for s in inp["sentences"]],
  "savedIds": [saved.encode(s) for s in inp["sentences"]],
  "savedDecoded": [saved.decode(saved.encode(s)) for s in inp["sentences"]],
  "savedTemplate": saved.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True),
}
print(json.dumps(out))
`;
  writeFileSync(join(dir, "ref.py"), script);
  const r = spawnSync(PY, [join(dir, "ref.py")], { input: JSON.stringify({ gguf, dir, sentences: SENTENCES }), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python reference failed: ${r.stderr}`);
  py = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as PyOut;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readGgufMetadata", () => {
  it("reads the same metadata MLX reads", () => {
    expect(meta["general.architecture"]).toBe(py.meta.arch);
    expect((meta["tokenizer.ggml.tokens"] as string[]).length).toBe(py.meta.nTokens);
    expect((meta["tokenizer.ggml.merges"] as string[]).length).toBe(py.meta.nMerges);
    expect(meta["tokenizer.ggml.eos_token_id"]).toBe(py.meta.eos);
    expect(meta["tokenizer.ggml.bos_token_id"]).toBe(py.meta.bos);
    expect(meta["tokenizer.chat_template"]).toBe(py.meta.template);
    expect(meta["llama.block_count"]).toBe(py.meta.blockCount);
    expect(readGgufMetadata(gguf).tensorCount).toBe(py.meta.tensorCount);
    expect(meta["tokenizer.ggml.add_bos_token"]).toBe(0);
  });

  it("rejects a file that is not a GGUF with E_CORRUPT_WEIGHTS", () => {
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, "not a gguf at all");
    expect(() => readGgufMetadata(bad)).toThrowError(MlxTsError);
    expect(() => readGgufMetadata(bad)).toThrowError(/not a GGUF/);
    const truncated = join(dir, "trunc.gguf");
    writeFileSync(truncated, Buffer.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, 1, 0]));
    expect(() => readGgufMetadata(truncated)).toThrowError(/truncated/);
  });
});

describe("tokenizer from GGUF metadata", () => {
  it("gives the ids of transformers' GGUF conversion", () => {
    SENTENCES.forEach((s, i) => expect(tok.encode(s), s).toEqual(py.convertedIds[i]));
  });

  it("writes tokenizer.json + tokenizer_config.json that transformers loads to the same tokenizer", () => {
    SENTENCES.forEach((s, i) => {
      expect(py.savedIds[i], s).toEqual(py.convertedIds[i]);
      expect(tok.decode(py.savedIds[i])).toBe(py.savedDecoded[i]);
    });
    const rendered = tok.chatTemplate ? tok.chatTemplate.length > 0 : false;
    expect(rendered).toBe(true);
    expect(py.savedTemplate).toContain("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  });

  it("knows the special tokens and eos of the GGUF", () => {
    expect(tok.eosToken).toBe("<|im_end|>");
    expect(tok.eosTokenId).toBe(2);
    expect(tok.bosTokenId).toBe(1);
    expect(tok.encode("<|im_start|>")).toEqual([1]);
    expect(mergeEosIds({ tokenizerEosId: tok.eosTokenId, gguf: meta })).toEqual([2]);
    expect(generationConfigFromGguf(meta)).toEqual({ bos_token_id: 1, eos_token_id: 2, pad_token_id: 2 });
  });

  it("refuses other GGUF tokenizer kinds, and incomplete ones, with E_TOKENIZER", () => {
    expect(() => tokenizerFilesFromGguf({ "tokenizer.ggml.model": "bert" }, "x.gguf")).toThrowError(/only byte-level BPE/);
    expect(() => tokenizerFilesFromGguf({ "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": ["a"] }, "x.gguf")).toThrowError(/scores/);
  });

  it("adds BOS through the post-processor when the GGUF says add_bos_token", () => {
    const withBos = ModelTokenizer.fromGguf({ ...meta, "tokenizer.ggml.add_bos_token": 1 }, "bos");
    expect(withBos.encode("Hello")).toEqual([1, ...tok.encode("Hello")]);
    expect(withBos.encode("Hello", false)).toEqual(tok.encode("Hello"));
  });
});

describe("SentencePiece BPE GGUF (tokenizer.ggml.model llama)", () => {
  // A Llama-style SentencePiece BPE model trained here, so the reference is sentencepiece itself.
  const SPM_SENTENCES = [
    "Hello world!",
    "The year 2024 had 366 days.",
    "  two leading spaces and  double  gaps",
    "line one\nline two\n\ttabbed",
    "naïve café 你好 😀",
    "generate_step(prompt, model, max_tokens=256)",
  ];
  let spm: { tokens: string[]; scores: number[]; types: number[]; ids: number[][]; decoded: string[] };
  let spmTok: ModelTokenizer;

  beforeAll(() => {
    const script = `
import json, sys, glob, io
import sentencepiece as spm
inp = json.load(sys.stdin)
corpus = "".join(open(p).read() for p in sorted(glob.glob(inp["corpus"]))[:12])
model = io.BytesIO()
spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus.splitlines()), model_writer=model, vocab_size=2000, model_type="bpe",
    byte_fallback=True, split_digits=True, normalization_rule_name="identity", add_dummy_prefix=True,
    remove_extra_whitespaces=False, character_coverage=1.0, minloglevel=2)
sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
def kind(i):
    if sp.is_unknown(i): return 2
    if sp.is_control(i): return 3
    if sp.is_byte(i): return 6
    return 1
n = sp.get_piece_size()
ids = [[sp.bos_id()] + sp.encode(s) for s in inp["sentences"]]
print(json.dumps({"tokens": [sp.id_to_piece(i) for i in range(n)], "scores": [sp.get_score(i) for i in range(n)],
                  "types": [kind(i) for i in range(n)], "ids": ids, "decoded": [sp.decode(x[1:]) for x in ids]}))
`;
    writeFileSync(join(dir, "spm.py"), script);
    const corpus = ".venv/lib/python3*/site-packages/mlx_lm/*.py".replace("python3*", readdirSync(".venv/lib").find((d) => d.startsWith("python3")) ?? "python3");
    const r = spawnSync(PY, [join(dir, "spm.py")], { input: JSON.stringify({ corpus, sentences: SPM_SENTENCES }), encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`sentencepiece reference failed: ${r.stderr}`);
    spm = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as typeof spm;
    spmTok = ModelTokenizer.fromGguf(
      {
        "general.architecture": "llama",
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": spm.tokens,
        "tokenizer.ggml.scores": spm.scores,
        "tokenizer.ggml.token_type": spm.types,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
      },
      "spm-test.gguf",
    );
  });

  it("encodes like sentencepiece (BOS added by default, byte fallback for unseen characters)", () => {
    SPM_SENTENCES.forEach((s, i) => expect(spmTok.encode(s), s).toEqual(spm.ids[i]));
  });

  it("writes tokenizer files that transformers loads to the same ids", () => {
    const out = join(dir, "spm-saved");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "tokenizer.json"), JSON.stringify(spmTok.files.tokenizerJson));
    writeFileSync(join(out, "tokenizer_config.json"), JSON.stringify(spmTok.files.tokenizerConfig));
    writeFileSync(join(dir, "spm-tf.py"), `
import json, sys
from transformers import AutoTokenizer
inp = json.load(sys.stdin)
t = AutoTokenizer.from_pretrained(inp["dir"])
print(json.dumps([t.encode(s) for s in inp["sentences"]]))
`);
    const r = spawnSync(PY, [join(dir, "spm-tf.py")], { input: JSON.stringify({ dir: out, sentences: SPM_SENTENCES }), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`transformers failed: ${r.stderr}`);
    expect(JSON.parse(r.stdout.trim().split("\n").pop() ?? "[]")).toEqual(spm.ids);
  });

  it("decodes like sentencepiece and streams whole characters", () => {
    SPM_SENTENCES.forEach((s, i) => expect(spmTok.decode(spm.ids[i], true)).toBe(spm.decoded[i]));
    expect(spmTok.byteLevel).toBe(false);
    const ids = spm.ids[4].slice(1);
    const d = createDetokenizer(spmTok);
    const pieces = ids.map((id) => d.add(id));
    pieces.push(d.flush());
    for (const p of pieces) expect(p).not.toContain("\uFFFD");
    expect(pieces.join("")).toBe(spm.decoded[4]);
  });
});
