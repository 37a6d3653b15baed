// Training data: JSONL in mlx-lm's formats (tuner/datasets.py), tokenised as its datasets do.
//   {"text": ...}                       TextDataset: encode(text) + EOS when missing
//   {"prompt": ..., "completion": ...}  CompletionsDataset: the chat template over user + assistant
//   {"messages": [...]}                 ChatDataset: the chat template over the messages
// maskPrompt (mlx-lm's --mask-prompt) trains only on the completion / last assistant message.
// Every bad line is reported with its number, in one error.
import { ChatTemplate, noTemplateError } from "./chat-template.js";
import type { ModelTokenizer } from "./tokenizer.js";
import type { ChatMessage } from "./types.js";
import { MlxTsError } from "./types.js";

export type DataFormat = "text" | "completions" | "chat";

export interface TrainingExample {
  /** 1-based line in the JSONL */
  line: number;
  tokens: number[];
  /** first trained target step (mlx-lm's offset); 0 = every token */
  offset: number;
  /** number of keys of the JSON record: what mlx-lm's iterate_batches sorts by (CacheDataset.itemlen) */
  keys: number;
}

export interface TrainingData {
  format: DataFormat;
  examples: TrainingExample[];
  /** with skipBad: the bad lines left out, "line N: why" */
  skipped: string[];
}

interface Record_ {
  line: number;
  value: Record<string, unknown>;
}

function formatOf(first: Record<string, unknown>): DataFormat | undefined {
  // create_dataset's order: prompt+completion, then messages, then text (decided by the first record)
  if ("prompt" in first && "completion" in first) return "completions";
  if ("messages" in first) return "chat";
  if ("text" in first) return "text";
  return undefined;
}

function isMessages(v: unknown): v is ChatMessage[] {
  return Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === "object" && m !== null && typeof (m as ChatMessage).role === "string" && typeof (m as ChatMessage).content === "string");
}

/**
 * Parses and tokenises JSONL; throws E_BAD_ARGUMENT listing each bad line (not JSON, fields missing, too
 * long), or with skipBad leaves those lines out and lists them in `skipped`.
 */
export function loadTrainingData(jsonl: string, tok: ModelTokenizer, opts: { maxSeqLength: number; maskPrompt?: boolean; modelName: string; source?: string; skipBad?: boolean }): TrainingData {
  const where = opts.source ?? "the data";
  const problems: string[] = [];
  const records: Record_[] = [];
  jsonl.split(/\r?\n/).forEach((text, i) => {
    if (!text.trim()) return;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== "object" || v === null || Array.isArray(v)) problems.push(`line ${i + 1}: not a JSON object`);
      else records.push({ line: i + 1, value: v as Record<string, unknown> });
    } catch (e) {
      problems.push(`line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  });
  if (!records.length && !problems.length) throw new MlxTsError("E_BAD_ARGUMENT", `${where} has no examples. Give one JSON object per line: {"text": ...}, {"prompt": ..., "completion": ...} or {"messages": [...]}.`);
  // the first record decides, as create_dataset; when skipping bad lines, the first that has a known format
  const decider = opts.skipBad ? records.find((r) => formatOf(r.value) !== undefined) : records[0];
  const format = decider ? formatOf(decider.value) : undefined;
  if (records.length && !format) {
    throw new MlxTsError("E_BAD_ARGUMENT", `${where}, line ${records[0]!.line}: no "text", "prompt"+"completion" or "messages" field, so the format is unknown. Use one of mlx-lm's formats (see its LORA.md, "Data").`);
  }
  let template: ChatTemplate | undefined;
  const chat = (messages: ChatMessage[], addGenerationPrompt: boolean): number[] => {
    if (!template) {
      if (tok.chatTemplate === undefined) throw noTemplateError(opts.modelName);
      template = new ChatTemplate(tok.chatTemplate, { bosToken: tok.bosToken, eosToken: tok.eosToken }, opts.modelName);
    }
    return tok.encode(template.render(messages, { addGenerationPrompt }), false);
  };
  const eos = tok.eosTokenId;
  const examples: TrainingExample[] = [];
  for (const { line, value } of records) {
    let tokens: number[];
    let offset = 0;
    if (format === "text") {
      if (typeof value.text !== "string") { problems.push(`line ${line}: "text" is missing or not a string`); continue; }
      tokens = tok.encode(value.text, true);
      if (eos !== undefined && tokens[tokens.length - 1] !== eos) tokens.push(eos);
    } else if (format === "completions") {
      if (typeof value.prompt !== "string" || typeof value.completion !== "string") { problems.push(`line ${line}: "prompt" and "completion" must both be strings`); continue; }
      const messages: ChatMessage[] = [{ role: "user", content: value.prompt }, { role: "assistant", content: value.completion }];
      tokens = chat(messages, false);
      if (opts.maskPrompt) offset = chat(messages.slice(0, 1), true).length;
    } else {
      if (!isMessages(value.messages)) { problems.push(`line ${line}: "messages" must be a non-empty array of {role, content} strings`); continue; }
      const messages = value.messages;
      tokens = chat(messages, false);
      if (opts.maskPrompt) offset = chat(messages.slice(0, -1), messages[messages.length - 1]!.role === "assistant").length;
    }
    if (tokens.length < 2) { problems.push(`line ${line}: tokenises to ${tokens.length} token(s); an example needs at least 2`); continue; }
    if (tokens.length > opts.maxSeqLength) { problems.push(`line ${line}: ${tokens.length} tokens, longer than the maximum sequence length ${opts.maxSeqLength} (split it, or raise --max-seq-len)`); continue; }
    examples.push({ line, tokens, offset, keys: Object.keys(value).length });
  }
  if (opts.skipBad) {
    if (!examples.length) throw new MlxTsError("E_BAD_ARGUMENT", `${where}: every line is bad, nothing to train on:\n  ${problems.slice(0, 20).join("\n  ")}`);
    return { format: format!, examples, skipped: problems };
  }
  if (problems.length) {
    const shown = problems.slice(0, 20).join("\n  ");
    const more = problems.length > 20 ? `\n  … and ${problems.length - 20} more` : "";
    throw new MlxTsError("E_BAD_ARGUMENT", `${where}: ${problems.length} bad line(s); nothing was trained. Fix or remove them, or skip them (--skip-bad / skipBadLines):\n  ${shown}${more}`);
  }
  return { format: format!, examples, skipped: [] };
}
