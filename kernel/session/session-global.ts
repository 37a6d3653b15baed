// The `session` global of cells: a plain object over the engine. The engine keeps the models, the default
// model and the running generations, so cells, magics and the interrupt all see the same ones.
import type { Engine } from "../engine/index.js";
import type { CellSession } from "./globals.js";

export function cellSession(engine: Engine, executionCount: () => number): CellSession {
  return {
    get models() {
      return engine.models;
    },
    engine,
    load: (idOrPath, opts) => engine.load(idOrPath, opts),
    async generate(prompt, opts) {
      const { model, ...rest } = opts ?? {};
      return engine.model(model, "session.generate()").generate(prompt, rest);
    },
    stream(prompt, opts) {
      const { model, ...rest } = opts ?? {};
      return engine.model(model, "session.stream()").stream(prompt, rest);
    },
    get executionCount() {
      return executionCount();
    },
  };
}
