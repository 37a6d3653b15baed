// %register NAME PATH [--role R] [--priority N] [--context T] [--fallback M] | %register --from FILE:
// names a checkpoint for the registry without loading it. %unregister forgets one.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { registryOf } from "../engine/registry.js";
import type { RegisterInput } from "../engine/registration.js";
import { MagicArgError } from "../util/args.js";
import { defineMagic, num, str } from "./define.js";

/** The files plain %register reads, first found: models.json beside the notebook (the kernel's working directory), or notebooks/models.json from the repository root. */
export const DEFAULT_REGISTRY_FILES = ["models.json", join("notebooks", "models.json")];

defineMagic({
  spec: {
    name: "register",
    kind: "line",
    summary: "Register a model (need not be resident) with a role, priority and context; or several from a JSON file",
    positional: [
      { name: "NAME", help: "the name to use it by (%%generate --model NAME, session.generate(..., { model }))" },
      { name: "PATH", help: "alias, model directory, .gguf file or HF id (as %load takes)" },
    ],
    flags: [
      { name: "role", type: "string", help: "what it is for; %%generate --task ROLE routes to the role's best model", metavar: "ROLE" },
      { name: "priority", type: "int", help: "higher stays resident longer (default 0); ties evict the least recently used", metavar: "N" },
      { name: "context", type: "int", min: 1, help: "KV cache positions the budget reserves for it (default min(its context length, 4096))", metavar: "TOKENS" },
      { name: "fallback", type: "string", help: "model to answer when this one cannot fit even after eviction", metavar: "NAME" },
      { name: "from", type: "string", help: `register every entry of a JSON file: [{"name", "path", "role", "priority", "context", "fallback"}, ...] (plain %register reads ${DEFAULT_REGISTRY_FILES.join(" or ")})`, metavar: "FILE" },
    ],
    examples: [
      "%register fast smollm2 --role chat --priority 1",
      "%register coder ./models/Qwen2.5-Coder-1.5B-4bit --role code --context 8192",
      "%register --from notebooks/models.json",
      "%register          (reads models.json, or notebooks/models.json)",
    ],
  },
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const reg = registryOf(engine);
    const from = str(a, "from");
    if (from !== undefined || (a.positional.length === 0 && Object.keys(a.flags).length === 0)) {
      if (a.positional.length) throw new MagicArgError("%register: give either NAME PATH or --from FILE, not both.");
      const file = from ?? DEFAULT_REGISTRY_FILES.find((f) => existsSync(f));
      if (file === undefined) throw new MagicArgError(`%register: give NAME PATH, or --from FILE (no ${DEFAULT_REGISTRY_FILES.join(" or ")} in ${process.cwd()} to read by default).`);
      const { registered, errors } = reg.registerFile(file);
      const lines = [`Registered ${registered.length} model${registered.length === 1 ? "" : "s"} from ${file}${registered.length ? `: ${registered.map((r) => r.name).join(", ")}` : ""}.`];
      for (const e of errors) lines.push(`  skipped entry ${e.index}${e.name ? ` (${e.name})` : ""}: ${e.message}`);
      ctx.sink.stream(errors.length ? "stderr" : "stdout", lines.join("\n") + "\n");
      return undefined;
    }
    const [name, path] = a.positional;
    if (name === undefined || path === undefined) throw new MagicArgError("%register: missing PATH. Usage: %register NAME PATH [--role ROLE] [--priority N] [--context TOKENS], or %register --from FILE.");
    const input: RegisterInput = { name, path };
    const role = str(a, "role");
    const priority = num(a, "priority");
    const context = num(a, "context");
    const fallback = str(a, "fallback");
    if (role !== undefined) input.role = role;
    if (priority !== undefined) input.priority = priority;
    if (context !== undefined) input.context = context;
    if (fallback !== undefined) input.fallback = fallback;
    const r = reg.register(input, "%register");
    const resident = engine.models.has(name);
    ctx.sink.stream("stdout", `Registered ${r.name} → ${r.path}${r.role ? `, role ${r.role}` : ""}, priority ${r.priority}${r.context ? `, context ${r.context}` : ""}${r.fallback ? `, fallback ${r.fallback}` : ""} (${resident ? "resident" : "not resident; loaded when first used"}).\n`);
    return undefined;
  },
});

defineMagic({
  spec: {
    name: "unregister",
    kind: "line",
    summary: "Forget a registered model (unloading it if resident)",
    positional: [{ name: "NAME", help: "a registered model's name (see %models)", required: true }],
  },
  modelPositionals: [0],
  async run(a, _body, ctx) {
    const engine = await ctx.engine();
    const name = a.positional[0]!;
    registryOf(engine).unregister(name);
    ctx.sink.stream("stdout", `Unregistered ${name}.\n`);
    return undefined;
  },
});
