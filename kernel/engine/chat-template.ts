// Renders chat messages with the model's Jinja chat template, as transformers' apply_chat_template does.
import { Template } from "@huggingface/jinja";
import type { ChatMessage } from "./types.js";
import { MlxTsError } from "./types.js";

export interface ChatTemplateContext {
  bosToken?: string;
  eosToken?: string;
  /** extra variables for the template (e.g. unk_token, pad_token) */
  extra?: Record<string, unknown>;
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  /** Qwen3: passed as enable_thinking only when set, so templates see it as undefined otherwise */
  enableThinking?: boolean;
}

export class ChatTemplate {
  private readonly compiled: Template;

  constructor(readonly source: string, private readonly ctx: ChatTemplateContext, private readonly modelName: string) {
    try {
      this.compiled = new Template(source);
    } catch (e) {
      throw new MlxTsError("E_TOKENIZER", `The chat template of ${modelName} does not parse: ${(e as Error).message}. Fix chat_template in tokenizer_config.json or use raw: true.`, { cause: e });
    }
  }

  render(messages: ChatMessage[], opts: RenderOptions = {}): string {
    const vars: Record<string, unknown> = {
      ...this.ctx.extra,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: this.ctx.bosToken ?? "",
      eos_token: this.ctx.eosToken ?? "",
    };
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    try {
      return this.compiled.render(vars);
    } catch (e) {
      throw new MlxTsError("E_TOKENIZER", `The chat template of ${this.modelName} failed to render: ${(e as Error).message}. Check the messages, or use raw: true to send a plain prompt.`, { cause: e });
    }
  }
}

export function noTemplateError(modelName: string): MlxTsError {
  return new MlxTsError(
    "E_TOKENIZER",
    `${modelName} has no chat template (none in tokenizer_config.json, chat_template.jinja or the GGUF metadata), so chat messages cannot be formatted. ` +
      "Pass raw: true to send the prompt text as it is.",
  );
}

/** A prompt the template left inside an open <think> block (some reasoning templates do) starts generation in thinking mode. */
export function endsInsideThink(prompt: string): boolean {
  const open = prompt.lastIndexOf("<think>");
  return open >= 0 && prompt.indexOf("</think>", open) < 0;
}
