// Runs one generation into a live TokenStreamView: shared by %%generate and %%chat. An interrupt
// (ctx.signal) cancels the native loop between tokens; the partial text and its stats stay on screen.
import type { ChatMessage, GenerateOptions, GenerationResult, LoadedModel } from "../engine/types.js";
import { interruptedNote, TokenStreamView } from "../display/token-stream.js";
import type { MagicContext } from "./registry.js";

/** `answeredBy`: which model answered and why (routing, a reload), shown under the stats line. */
export async function streamIntoView(ctx: MagicContext, model: LoadedModel, prompt: string | ChatMessage[], opts: GenerateOptions, answeredBy?: string): Promise<GenerationResult> {
  const view = new TokenStreamView(ctx.sink);
  const stream = model.stream(prompt, { ...opts, signal: ctx.signal });
  try {
    for await (const chunk of stream) view.push(chunk);
  } catch (e) {
    // The stream failed mid-way: keep what was shown, then report the error as the cell's error.
    const partial = await stream.result.catch(() => undefined);
    view.finish({ stats: partial?.stats, note: [answeredBy, `generation failed: ${(e as Error).message}`].filter(Boolean).join("\n") });
    throw e;
  }
  const result = await stream.result;
  const cancelled = result.stats.stopReason === "cancelled";
  // Interrupted: the partial text and one line saying so (the stats of a cut-off run mislead).
  const note = [answeredBy, cancelled ? interruptedNote(result.stats) : undefined].filter(Boolean).join("\n");
  view.finish({ answer: result.answer, thinking: result.thinking, ...(cancelled ? {} : { stats: result.stats }), note: note || undefined });
  return result;
}

/** Where the result of the last generation goes so later cells can use it. */
export function publishResult(ctx: MagicContext, result: GenerationResult): void {
  ctx.globals.lastGeneration = result;
}
