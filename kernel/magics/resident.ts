// Which model a generating magic uses, made resident: --task ROLE routes through the registry,
// --model NAME reloads a registered model that was evicted (with the progress bar), and neither
// takes the default. The note says which model answered and why, for the stats line.
import { registryOf } from "../engine/registry.js";
import type { Engine, LoadedModel } from "../engine/types.js";
import { progressLoader } from "./load.js";
import type { MagicContext } from "./registry.js";

export async function residentModel(ctx: MagicContext, engine: Engine, o: { model?: string; task?: string }, magic: string): Promise<{ model: LoadedModel; note?: string }> {
  const reg = registryOf(engine);
  let name = o.model;
  let why: string | undefined;
  if (o.task !== undefined) {
    const r = await reg.route(o.task);
    name = r.name;
    why = r.reason;
  }
  if (name === undefined) return { model: engine.model(undefined, magic) };
  const res = await reg.ensure(name, { load: progressLoader(ctx, engine, why ? `for ${why}` : "reloaded on demand"), signal: ctx.signal });
  const parts = [why ? `answered by ${name} (${why})` : res.loaded ? `answered by ${name}` : undefined];
  if (res.loaded) parts.push(`${name} was loaded for this${res.evicted.length ? `, evicting ${res.evicted.join(", ")} to stay within the model budget` : ""}`);
  const note = parts.filter(Boolean).join("; ");
  return { model: res.model, ...(note ? { note } : {}) };
}
