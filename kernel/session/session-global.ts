// The `session` global of cells: a plain object over the engine. The engine keeps the models, the default
// model and the running generations, so cells, magics and the interrupt all see the same ones; the model
// registry (session-models.ts) adds registrations, the budget, reloads and routing.
import type { Engine, EngineModel } from "../engine/index.js";
import { registryOf } from "../engine/registry.js";
import { finetune, useAdapter } from "../engine/finetune.js";
import { fuse } from "../engine/finetune-fuse.js";
import { MlxTsError } from "../protocol.js";
import { cellStorage } from "./cell-state.js";
import type { CellSession } from "./globals.js";
import { cellLoader, cellModels, residentFor } from "./session-models.js";

export function cellSession(engine: Engine, executionCount: () => number): CellSession {
  const models = cellModels(engine);
  return {
    get models() {
      return models;
    },
    engine,
    // through the registry: registers the model, and evicts others when the model budget needs it
    load: async (idOrPath, opts) => (await registryOf(engine).load(idOrPath, opts, opts?.onProgress ? undefined : cellLoader(engine, "session.load"))).model,
    async generate(prompt, opts) {
      const { model, task, adapter, ...rest } = opts ?? {};
      const r = await residentFor(engine, { model, task });
      const m = engine.model(r.name ?? model, "session.generate()");
      // an adapter given here stays set on the model (as %adapter); null removes it
      await useAdapter(m, adapter);
      const result = await m.generate(prompt, rest);
      return r.reason ? { ...result, answeredBy: { model: r.name!, reason: r.reason } } : result;
    },
    // batch: one result per prompt, the prompts run as rows of one batch on the model (engine/batch.ts)
    async generateBatch(prompts, opts) {
      const { model, task, ...rest } = opts ?? {};
      const r = await residentFor(engine, { model, task });
      const results = await (engine.model(r.name ?? model, "session.generateBatch()") as EngineModel).generateBatch(prompts, rest);
      return r.reason ? results.map((x) => ({ ...x, answeredBy: { model: r.name!, reason: r.reason! } })) : results;
    },
    stream(prompt, opts) {
      const { model, task, ...rest } = opts ?? {};
      if (task !== undefined) throw new MlxTsError("E_BAD_ARGUMENT", `session.stream cannot route (it returns at once): get the model first, \`const m = await session.route(${JSON.stringify(task)})\`, then m.stream(...).`);
      if (model !== undefined && !engine.models.has(model) && registryOf(engine).registration(model)) {
        throw new MlxTsError("E_NOT_LOADED", `${model} is registered but not resident. \`await session.models.ensure(${JSON.stringify(model)})\` loads it (evicting by the budget), then stream; session.generate does it by itself.`);
      }
      return engine.model(model, "session.stream()").stream(prompt, rest);
    },
    // Stop / Ctrl-C in the cell that started it ends the training at its next step (the adapter so far is kept)
    finetune: (model, opts) => {
      const cell = cellStorage.getStore()?.controller.signal;
      const signals = [opts?.signal, cell].filter((s): s is AbortSignal => s !== undefined);
      const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
      return finetune(typeof model === "string" ? engine.get(model) : model, { ...opts, ...(signal ? { signal } : {}) });
    },
    // mlx_lm.fuse in the session: the fused checkpoint is written, and with `as` loaded under that name
    async fuse(model, opts) {
      const { as, ...rest } = opts;
      const res = await fuse(typeof model === "string" ? engine.get(model) : model, rest);
      if (as === undefined) return res;
      const loaded = await registryOf(engine).load(res.dir, { as }, cellLoader(engine, "session.fuse"));
      return { ...res, loaded: loaded.model };
    },
    async route(role) {
      const r = await residentFor(engine, { task: role });
      return engine.get(r.name!);
    },
    get executionCount() {
      return executionCount();
    },
    savePromptCache: (model, file) => engine.get(model).savePromptCache(file),
    loadPromptCache: (model, file) => engine.get(model).loadPromptCache(file),
  };
}
