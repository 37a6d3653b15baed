// Argument parsing shared by every magic and the bench CLI: one declarative spec gives the parser, the
// --help text, flag completion, and error messages that say what is wrong and how to write it instead.
import { parseSize } from "./bytes.js";
import { singleStops } from "./sentences.js";

export type FlagType = "string" | "int" | "number" | "bool" | "ints" | "size";

export interface FlagSpec {
  name: string; // without dashes: "max-tokens"
  type: FlagType;
  help: string;
  choices?: readonly (string | number)[];
  min?: number;
  max?: number;
  metavar?: string;
  /** one-letter alias written with a single dash, e.g. "p" for -p */
  short?: string;
}

export interface PositionalSpec {
  name: string;
  help: string;
  required?: boolean;
  /** takes all remaining positionals */
  variadic?: boolean;
  choices?: readonly string[];
}

export interface MagicSpec {
  name: string;
  kind: "line" | "cell";
  summary: string;
  positional?: PositionalSpec[];
  flags?: FlagSpec[];
  /** text shown after the options in --help */
  examples?: string[];
}

export type FlagValue = string | number | boolean | number[];

export interface ParsedArgs {
  positional: string[];
  flags: Record<string, FlagValue>;
  help: boolean;
}

export class MagicArgError extends Error {
  constructor(message: string) {
    super(singleStops(message));
    this.name = "MagicArgError";
  }
}

/** Splits like a POSIX shell word splitter (quotes and backslashes), without ever invoking a shell. */
export function splitArgs(input: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < input.length && '"\\'.includes(input[i + 1])) cur += input[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < input.length) {
      cur += input[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new MagicArgError(`unclosed ${quote} quote in: ${input.trim()}`);
  if (inWord) out.push(cur);
  return out;
}

/** "%name" or "%%name", as the user writes it. */
export function magicName(spec: Pick<MagicSpec, "name" | "kind">): string {
  return `${spec.kind === "cell" ? "%%" : "%"}${spec.name}`;
}

function usageLine(spec: MagicSpec): string {
  const pre = spec.kind === "cell" ? "%%" : "%";
  const pos = (spec.positional ?? []).map((p) => (p.required ? p.name : `[${p.name}]`) + (p.variadic ? "..." : ""));
  const flags = (spec.flags ?? []).map((f) => `[${f.short ? `-${f.short}|` : ""}--${f.name}${f.type === "bool" ? "" : ` ${f.metavar ?? f.name.toUpperCase().replace(/-/g, "_")}`}]`);
  return [`${pre}${spec.name}`, ...pos, ...flags].join(" ");
}

export function magicHelp(spec: MagicSpec): string {
  const lines = [`${usageLine(spec)}`, "", spec.summary];
  if (spec.positional?.length) {
    lines.push("", "Arguments:");
    for (const p of spec.positional) lines.push(`  ${p.name.padEnd(22)} ${p.help}${p.choices ? ` (one of: ${p.choices.join(", ")})` : ""}`);
  }
  if (spec.flags?.length) {
    lines.push("", "Options:");
    for (const f of spec.flags) {
      const extra = f.choices ? ` (one of: ${f.choices.join(", ")})` : "";
      const names = f.short ? `-${f.short}, --${f.name}` : `--${f.name}`;
      lines.push(`  ${names.padEnd(22)} ${f.help}${extra}`);
    }
  }
  lines.push(`  --${"help".padEnd(20)} show this help`);
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

export function suggest(word: string, options: string[]): string {
  const c = closest(word, options);
  return c ? ` Did you mean '${c}'?` : "";
}

function convert(spec: MagicSpec, f: FlagSpec, raw: string): FlagValue {
  const bad = (why: string) =>
    new MagicArgError(`${magicName(spec)}: --${f.name} ${why}. Usage: ${usageLine(spec)}`);
  let v: FlagValue;
  switch (f.type) {
    case "string":
      v = raw;
      break;
    case "int":
      if (!/^-?\d+$/.test(raw)) throw bad(`needs a whole number (got '${raw}')`);
      v = Number(raw);
      break;
    case "number":
      if (raw.trim() === "" || !Number.isFinite(Number(raw))) throw bad(`needs a number (got '${raw}')`);
      v = Number(raw);
      break;
    case "ints":
      if (!/^\d+(,\d+)*$/.test(raw)) throw bad(`needs whole numbers separated by commas, e.g. 128,512 (got '${raw}')`);
      v = raw.split(",").map(Number);
      break;
    case "size":
      try {
        v = parseSize(raw);
      } catch (e) {
        throw bad((e as Error).message.replace(/^'/, "got '"));
      }
      break;
    case "bool":
      v = true;
      break;
  }
  const nums = Array.isArray(v) ? v : typeof v === "number" ? [v] : [];
  for (const n of nums) {
    if (f.min !== undefined && n < f.min) throw bad(`must be at least ${f.min} (got ${n})`);
    if (f.max !== undefined && n > f.max) throw bad(`must be at most ${f.max} (got ${n})`);
    if (f.choices && !f.choices.includes(n)) throw bad(`must be one of ${f.choices.join(", ")} (got ${n})`);
  }
  if (typeof v === "string" && f.choices && !f.choices.includes(v)) throw bad(`must be one of ${f.choices.join(", ")} (got '${v}')`);
  return v;
}

export function parseMagicArgs(spec: MagicSpec, input: string): ParsedArgs {
  const words = splitArgs(input);
  const flags: Record<string, FlagValue> = {};
  const positional: string[] = [];
  const byName = new Map((spec.flags ?? []).map((f) => [f.name, f]));
  const byShort = new Map((spec.flags ?? []).filter((f) => f.short).map((f) => [`-${f.short}`, f]));
  let help = false;
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    const short = byShort.get(w);
    if (short) w = `--${short.name}`;
    if (w === "--help" || w === "-h") {
      help = true;
      continue;
    }
    if (w.startsWith("--") && w.length > 2) {
      const eq = w.indexOf("=");
      const name = w.slice(2, eq < 0 ? undefined : eq);
      const f = byName.get(name);
      if (!f) {
        throw new MagicArgError(`${magicName(spec)}: unknown option --${name}.${suggest(name, [...byName.keys()].map((k) => k)).replace(/'(.*)'/, "'--$1'")} Usage: ${usageLine(spec)}`);
      }
      if (f.type === "bool") {
        if (eq >= 0) throw new MagicArgError(`${magicName(spec)}: --${name} is a switch and takes no value`);
        flags[name] = true;
        continue;
      }
      let raw: string | undefined = eq >= 0 ? w.slice(eq + 1) : words[++i];
      if (raw === undefined) throw new MagicArgError(`${magicName(spec)}: --${name} needs a value. Usage: ${usageLine(spec)}`);
      flags[name] = convert(spec, f, raw);
      continue;
    }
    positional.push(w);
  }
  if (help) return { positional, flags, help };
  const pspecs = spec.positional ?? [];
  const variadic = pspecs.some((p) => p.variadic);
  if (!variadic && positional.length > pspecs.length) {
    throw new MagicArgError(`${magicName(spec)}: unexpected argument '${positional[pspecs.length]}'. Usage: ${usageLine(spec)}`);
  }
  pspecs.forEach((p, i) => {
    if (p.required && positional[i] === undefined) throw new MagicArgError(`${magicName(spec)}: missing ${p.name} (${p.help}). Usage: ${usageLine(spec)}`);
    if (p.choices && positional[i] !== undefined && !p.choices.includes(positional[i])) {
      throw new MagicArgError(`${magicName(spec)}: ${p.name} must be one of ${p.choices.join(", ")} (got '${positional[i]}').${suggest(positional[i], [...p.choices])}`);
    }
  });
  return { positional, flags, help };
}

/** Completion candidates for the word being typed in a magic's argument string. */
export function completeMagicArgs(spec: MagicSpec, typed: string, dynamic: (positionalIndex: number) => string[] = () => []): string[] {
  const words = typed.split(/\s+/);
  const cur = words[words.length - 1] ?? "";
  if (cur.startsWith("-")) return ["--help", ...(spec.flags ?? []).map((f) => `--${f.name}`)].filter((f) => f.startsWith(cur));
  const flagOf = (w: string | undefined): FlagSpec | undefined =>
    w?.startsWith("--") ? spec.flags?.find((f) => f.name === w.slice(2)) : w?.startsWith("-") ? spec.flags?.find((f) => f.short !== undefined && `-${f.short}` === w) : undefined;
  const prev = words[words.length - 2];
  const prevFlag = flagOf(prev);
  if (prevFlag && prevFlag.type !== "bool") return (prevFlag.choices ?? []).map(String).filter((c) => c.startsWith(cur));
  const index = words.slice(0, -1).filter((w, i, all) => {
    if (w === "" || w.startsWith("--") || flagOf(w)) return false;
    const flag = flagOf(all[i - 1]);
    return !(flag && flag.type !== "bool");
  }).length;
  const p = spec.positional?.[Math.min(index, (spec.positional?.length ?? 1) - 1)];
  const options = [...(p?.choices ?? []), ...dynamic(index)];
  return options.filter((o) => o.startsWith(cur));
}
