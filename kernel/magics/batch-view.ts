// %%generate --batch: every prompt is a row of one batch (engine/batch.ts) and streams into its own
// output, one TokenStreamView per row, each ending with its own stats line (batch size included).
import type { GenerateOptions, GenerationResult, LoadedModel } from "../engine/types.js";
import type { EngineModel } from "../engine/model.js";
import { interruptedNote, TokenStreamView } from "../display/token-stream.js";
import { MagicArgError } from "../util/args.js";
import type { MagicContext } from "./registry.js";

/** The body's lines as prompts; an empty line is an error naming it (nothing runs). */
export function batchPrompts(body: string, magic: string): string[] {
  const lines = body.replace(/\s+$/, "").replace(/^\s*\n/, "").split("\n");
  lines.forEach((l, i) => {
    if (!l.trim()) throw new MagicArgError(`${magic} --batch: line ${i + 1} of the body is empty; each line is one prompt. Remove the empty line or write a prompt on it (nothing was started).`);
  });
  return lines.map((l) => l.trim());
}

export async function streamBatchIntoViews(ctx: MagicContext, model: LoadedModel, prompts: string[], opts: GenerateOptions, answeredBy?: string): Promise<GenerationResult[]> {
  const m = model as EngineModel;
  if (typeof m.streamBatch !== "function") throw new MagicArgError(`--batch needs an engine model; ${model.name} is not one.`);
  const streams = m.streamBatch(prompts, { ...opts, signal: ctx.signal });
  const views = streams.map(() => new TokenStreamView(ctx.sink));
  const rows = streams.map(async (stream, i) => {
    const view = views[i]!;
    try {
      for await (const chunk of stream) view.push(chunk);
    } catch (e) {
      const partial = await stream.result.catch(() => undefined);
      view.finish({ stats: partial?.stats, note: `row ${i + 1}: generation failed: ${(e as Error).message}` });
      throw e;
    }
    const result = await stream.result;
    const cancelled = result.stats.stopReason === "cancelled";
    const note = [i === streams.length - 1 ? answeredBy : undefined, cancelled ? interruptedNote(result.stats) : undefined].filter(Boolean).join("\n");
    view.finish({ answer: result.answer, thinking: result.thinking, ...(cancelled ? {} : { stats: result.stats }), note: note || undefined });
    return result;
  });
  return Promise.all(rows);
}
