// Every engine magic is declared the same way: a MagicSpec (parsed by args.ts, which also gives --help
// and completion) plus a run function that receives parsed arguments.
import { completeMagicArgs, magicHelp, parseMagicArgs, type MagicSpec, type ParsedArgs } from "../util/args.js";
import { registerMagic, type Magic, type MagicContext } from "./registry.js";

export interface SpecMagic extends Magic {
  spec: MagicSpec;
  /** Completion candidates for the argument text typed so far; `models` are the loaded model names. */
  complete(typed: string, models: readonly string[]): string[];
}

export interface MagicDefinition {
  spec: MagicSpec;
  /** positional indexes whose values are model names (for completion) */
  modelPositionals?: number[];
  /** flags whose values are model names (for completion) */
  modelFlags?: string[];
  /** more candidates for positional `index` given the word typed so far (paths, aliases) */
  completePositional?: (index: number, cur: string) => string[];
  /** the argument text is code, not words: passed verbatim as the single positional (only --help is recognized) */
  verbatim?: boolean;
  run(args: ParsedArgs, body: string | undefined, ctx: MagicContext): unknown;
}

export function defineMagic(def: MagicDefinition): SpecMagic {
  const { spec } = def;
  const magic: SpecMagic = {
    name: spec.name,
    kind: spec.kind,
    summary: spec.summary,
    // %help and --help print the summary above the usage themselves, so it is not repeated here.
    usage: magicHelp(spec).split("\n").filter((l, i) => !(i === 2 && l === spec.summary) && !(i === 1 && l === "")).join("\n"),
    spec,
    complete(typed, models) {
      const words = typed.split(/\s+/);
      const prev = words[words.length - 2];
      const cur = words[words.length - 1] ?? "";
      if (prev?.startsWith("--") && def.modelFlags?.includes(prev.slice(2))) return models.filter((m) => m.startsWith(cur));
      return completeMagicArgs(spec, typed, (i) => [
        ...(def.modelPositionals?.includes(i) || (spec.positional?.[i]?.variadic && def.modelPositionals?.some((p) => p <= i)) ? models : []),
        ...(def.completePositional?.(i, cur) ?? []),
      ]);
    },
    run(args, body, ctx) {
      const parsed = def.verbatim
        ? { positional: args.trim() ? [args] : [], flags: {}, help: args.trim() === "--help" || args.trim() === "-h" }
        : parseMagicArgs(spec, args);
      if (parsed.help) {
        ctx.sink.stream("stdout", magic.usage + "\n");
        return undefined;
      }
      return def.run(parsed, body, ctx);
    },
  };
  registerMagic(magic);
  return magic;
}

export const str = (a: ParsedArgs, k: string): string | undefined => (typeof a.flags[k] === "string" ? (a.flags[k] as string) : undefined);
export const num = (a: ParsedArgs, k: string): number | undefined => (typeof a.flags[k] === "number" ? (a.flags[k] as number) : undefined);
export const bool = (a: ParsedArgs, k: string): boolean => a.flags[k] === true;
export const ints = (a: ParsedArgs, k: string): number[] | undefined => (Array.isArray(a.flags[k]) ? (a.flags[k] as number[]) : undefined);
