// Runs one generation into a live TokenStreamView: shared by %%generate and %%chat. An interrupt
// (ctx.signal) cancels the native loop between tokens; the partial text and its stats stay on screen.
import type { ChatMessage, GenerateOptions, GenerationResult, LoadedModel } from "../engine/types.js";
import { interruptedNote, TokenStreamView } from "../display/token-stream.js";
import type { MagicContext } from "./registry.js";

export async function streamIntoView(ctx: MagicContext, model: LoadedModel, prompt: string | ChatMessage[], opts: GenerateOptions): Promise<GenerationResult> {
  const view = new TokenStreamView(ctx.sink);
  const stream = model.stream(prompt, { ...opts, signal: ctx.signal });
  try {
    for await (const chunk of stream) view.push(chunk);
  } catch (e) {
    // The stream failed mid-way: keep what was shown, then report the error as the cell's error.
    const partial = await stream.result.catch(() => undefined);
    view.finish({ stats: partial?.stats, note: `generation failed: ${(e as Error).message}` });
    throw e;
  }
  const result = await stream.result;
  const cancelled = result.stats.stopReason === "cancelled";
  // Interrupted: the partial text and one line saying so (the stats of a cut-off run mislead).
  view.finish({ answer: result.answer, thinking: result.thinking, ...(cancelled ? { note: interruptedNote(result.stats) } : { stats: result.stats }) });
  return result;
}

/** Where the result of the last generation goes so later cells can use it. */
export function publishResult(ctx: MagicContext, result: GenerationResult): void {
  ctx.globals.lastGeneration = result;
}
