// The model's tokenizer: @huggingface/tokenizers fed either the files of an HF directory or the
// tokenizer.json a GGUF's metadata describes. Also knows the chat template and the special tokens.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { bytesToUnicode, tokenizerFilesFromGguf, type JsonObject, type TokenizerFiles } from "./gguf-tokenizer.js";
import type { GgufMetadata } from "./native-types.js";
import { MlxTsError } from "./types.js";

function readJson(path: string): JsonObject {
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("top level is not an object");
    return v as JsonObject;
  } catch (e) {
    throw new MlxTsError("E_TOKENIZER", `Cannot read ${path}: ${(e as Error).message}. The file is corrupt; restore it from the model's source.`, { cause: e });
  }
}

/** tokenizer_config tokens are a string or an AddedToken-like object with `content`. */
function tokenString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

/** The chat template of a directory: tokenizer_config.json, chat_template.jinja, or chat_template.json. */
function chatTemplateOf(dir: string, config: JsonObject): string | undefined {
  const t = config.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    // Named templates: [{ name, template }]; "default" is what transformers uses without a name.
    const named = t as { name?: unknown; template?: unknown }[];
    const pick = named.find((x) => x.name === "default") ?? named[0];
    if (pick && typeof pick.template === "string") return pick.template;
  }
  const jinja = join(dir, "chat_template.jinja");
  if (existsSync(jinja)) return readFileSync(jinja, "utf8");
  const json = join(dir, "chat_template.json");
  if (existsSync(json)) {
    const v = readJson(json).chat_template;
    if (typeof v === "string") return v;
  }
  return undefined;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

export class ModelTokenizer {
  private readonly tok: Tokenizer;
  /** ids of added tokens -> their text (decoded as-is, not through the byte alphabet) */
  private readonly added = new Map<number, string>();
  readonly specialIds = new Set<number>();
  /** The decoder maps GPT-2's byte alphabet back to bytes: streaming can then work on bytes. */
  readonly byteLevel: boolean;
  private readonly byteDecoder = new Map<string, number>();
  private readonly cleanUpSpaces: boolean;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly chatTemplate: string | undefined;

  constructor(readonly files: TokenizerFiles, chatTemplate: string | undefined, private readonly source: string) {
    try {
      this.tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    } catch (e) {
      throw new MlxTsError("E_TOKENIZER", `The tokenizer of ${source} could not be built: ${(e as Error).message}. Check tokenizer.json.`, { cause: e });
    }
    const addedList = (files.tokenizerJson.added_tokens ?? []) as AddedTokenJson[];
    for (const a of addedList) {
      this.added.set(a.id, a.content);
      if (a.special) this.specialIds.add(a.id);
    }
    const decoder = files.tokenizerJson.decoder as { type?: string; decoders?: { type?: string }[] } | null;
    this.byteLevel = decoder?.type === "ByteLevel" || (decoder?.type === "Sequence" && (decoder.decoders ?? []).some((d) => d.type === "ByteLevel"));
    if (this.byteLevel) bytesToUnicode().forEach((ch, b) => this.byteDecoder.set(ch, b));
    this.cleanUpSpaces = files.tokenizerConfig.clean_up_tokenization_spaces === true;
    this.bosToken = tokenString(files.tokenizerConfig.bos_token);
    this.eosToken = tokenString(files.tokenizerConfig.eos_token);
    this.chatTemplate = chatTemplate;
  }

  static fromDirectory(dir: string): ModelTokenizer {
    const tjPath = join(dir, "tokenizer.json");
    if (!existsSync(tjPath)) {
      throw new MlxTsError(
        "E_TOKENIZER",
        `${dir} has no tokenizer.json. Only fast (tokenizer.json) tokenizers are supported; ` +
          "convert the tokenizer with transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir)) or use a repo that ships tokenizer.json.",
      );
    }
    const tokenizerJson = readJson(tjPath);
    const cfgPath = join(dir, "tokenizer_config.json");
    const tokenizerConfig = existsSync(cfgPath) ? readJson(cfgPath) : {};
    return new ModelTokenizer({ tokenizerJson, tokenizerConfig }, chatTemplateOf(dir, tokenizerConfig), dir);
  }

  static fromGguf(meta: GgufMetadata, source: string): ModelTokenizer {
    const files = tokenizerFilesFromGguf(meta, source);
    const t = files.tokenizerConfig.chat_template;
    return new ModelTokenizer(files, typeof t === "string" ? t : undefined, source);
  }

  /** Token ids of `text`; special tokens in the text are kept whole. addSpecialTokens adds BOS/EOS as the tokenizer's post-processor says. */
  encode(text: string, addSpecialTokens = true): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: number[], skipSpecialTokens = false): string {
    return this.tok.decode(ids, { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  /** The raw bytes one token stands for (byte-level tokenizers only; added tokens are their UTF-8 text). */
  tokenBytes(id: number): Uint8Array {
    const addedText = this.added.get(id);
    if (addedText !== undefined) return new TextEncoder().encode(addedText);
    const piece = this.tok.id_to_token(id);
    if (piece === undefined) return new Uint8Array(0);
    const out = new Uint8Array(piece.length);
    let n = 0;
    for (const ch of piece) {
      const b = this.byteDecoder.get(ch);
      if (b !== undefined) out[n++] = b;
    }
    return out.subarray(0, n);
  }

  /** eos token id from tokenizer_config's eos_token, if it is in the vocabulary. */
  get eosTokenId(): number | undefined {
    return this.eosToken === undefined ? undefined : this.tok.token_to_id(this.eosToken);
  }

  get bosTokenId(): number | undefined {
    return this.bosToken === undefined ? undefined : this.tok.token_to_id(this.bosToken);
  }

  toString(): string {
    return `ModelTokenizer(${this.source})`;
  }
}
