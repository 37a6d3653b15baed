// %typecheck on|warn|off: whether a cell's TypeScript type errors stop it before it runs (on, the
// default), are printed while it runs (warn), or are not looked for (off).
import { registerMagic } from "./registry.js";

const MODES = ["on", "warn", "off"] as const;

registerMagic({
  name: "typecheck",
  kind: "line",
  summary: "Type-check cells before they run: %typecheck on|warn|off",
  usage: [
    "%typecheck [on|warn|off]",
    "",
    "Each TypeScript cell is type-checked (after the declarations of earlier cells) before it runs.",
    "  on    type errors are the cell's error and the cell does not run (the default)",
    "  warn  type errors are printed on stderr and the cell runs",
    "  off   no type check (cells start a few milliseconds sooner)",
    "Without an argument, shows the current setting. Magic lines and %% cells are never type-checked.",
  ].join("\n"),
  complete: (typed) => MODES.filter((m) => m.startsWith(typed.trim())),
  run(args, _body, ctx) {
    const tc = ctx.typecheck;
    if (!tc) throw Object.assign(new Error("%typecheck: this front end runs no type checker."), { name: "UsageError" });
    const want = args.trim();
    if (!want) {
      ctx.sink.stream("stdout", `typecheck: ${tc.get()}\n`);
      return undefined;
    }
    const mode = MODES.find((m) => m === want);
    if (!mode) throw Object.assign(new Error(`%typecheck: unknown setting "${want}". Use on, warn or off.`), { name: "UsageError" });
    tc.set(mode);
    ctx.sink.stream("stdout", `typecheck: ${mode}\n`);
    return undefined;
  },
});
