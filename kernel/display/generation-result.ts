// A finished generation shown as a result: its text and stats line, as %%generate leaves them, instead
// of util.inspect's dump of token ids. The fields stay one property access away (r.tokens, r.stats).
import type { GenerationResult } from "../engine/types.js";
import type { MimeBundle } from "../protocol.js";
import { generationBundle } from "./token-stream.js";

export function isGenerationResult(v: unknown): v is GenerationResult {
  return typeof v === "object" && v !== null && "stats" in v && "promptTokens" in v && "answer" in v &&
    typeof (v as GenerationResult).stats?.ttftMs === "number";
}

export function generationResultBundle(r: GenerationResult): MimeBundle {
  return generationBundle({ answer: r.answer, thinking: r.thinking, live: false, stats: r.stats, note: "(fields: text, answer, thinking, tokens, promptTokens, stats)" });
}
