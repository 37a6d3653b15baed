// Runs TypeScript from a magic (%profile STATEMENT, %%profile) in the cells' own context, so it sees
// and defines the same globals as a cell. Uses the session's evaluate hook when the context offers one,
// else the session's cell transform and the context's vm realm directly.
import vm from "node:vm";
import { transformCell } from "../session/transform.js";
import type { MagicContext } from "./registry.js";

type WithEvaluate = MagicContext & { evaluate?: (code: string) => Promise<unknown> };

export async function evaluateInCells(ctx: MagicContext, code: string, label: string): Promise<unknown> {
  const hook = (ctx as WithEvaluate).evaluate;
  if (typeof hook === "function") return hook(code);
  if (!vm.isContext(ctx.globals)) throw new Error(`${label}: this front end gives magics no code context, so code cannot be run from a magic here.`);
  const t = transformCell(code, `${label}.ts`);
  if (t.diagnostics.length) {
    const d = t.diagnostics[0]!;
    throw Object.assign(new SyntaxError(`${label}, line ${d.line}:${d.column}: ${d.message}`), { name: "SyntaxError" });
  }
  const out = (await vm.runInContext(t.js, ctx.globals, { filename: `${label}.ts` })) as { value: unknown } | undefined;
  return out?.value;
}
