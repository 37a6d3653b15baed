// The sweep from the command line, for `npm run bench` and CI:
//   node dist/kernel/bench/cli.js [MODEL...] [-p 128,512] [-g 64] [-n 3] [--compare-quant 4,8] [--out FILE]
// MODEL is anything %load takes (alias, directory, .gguf, HF id); default smollm2. Prints a markdown
// table and writes the rows as JSON (default bench/results/sweep-<time>.json under the current directory).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine } from "../engine/index.js";
import { magicHelp, parseMagicArgs, type MagicSpec } from "../util/args.js";
import { SWEEP_DEFAULTS, SWEEP_FLAGS } from "./spec.js";
import { ATTENTION_PATH, runSweep, sweepMarkdown } from "./sweep.js";

const SPEC: MagicSpec = {
  name: "bench",
  kind: "line",
  summary: "Benchmark sweep like mlx_lm.benchmark (command-line form of %bench)",
  positional: [{ name: "MODEL", help: "models to load and measure (default smollm2)", variadic: true }],
  flags: SWEEP_FLAGS,
};

export async function main(argv: string[]): Promise<number> {
  const a = parseMagicArgs(SPEC, argv.map((w) => (/\s/.test(w) ? JSON.stringify(w) : w)).join(" "));
  if (a.help) {
    process.stdout.write(magicHelp(SPEC).replace(/^%bench/, "node dist/kernel/bench/cli.js") + "\n");
    return 0;
  }
  const ids = a.positional.length ? a.positional : ["smollm2"];
  const engine = createEngine();
  try {
    const num = (k: string): number[] | number | undefined => a.flags[k] as number[] | number | undefined;
    const base = {
      promptTokens: (num("prompt-tokens") as number[] | undefined) ?? SWEEP_DEFAULTS.promptTokens,
      genTokens: (num("gen-tokens") as number[] | undefined) ?? SWEEP_DEFAULTS.genTokens,
      repeats: (num("repeats") as number | undefined) ?? SWEEP_DEFAULTS.repeats,
      compareQuant: num("compare-quant") as number[] | undefined,
      onProgress: (t: string) => process.stderr.write(`${t}\n`),
    };
    if (a.flags["compare-kernels"]) process.stderr.write(`--compare-kernels: only one attention path exists in this build, ${ATTENTION_PATH}.\n`);
    // One model in memory at a time, so each row's peak memory is that model's alone.
    const rows = [];
    for (const id of ids) {
      const name = (await engine.load(id)).name;
      try {
        rows.push(...(await runSweep(engine, { ...base, models: [name] }, () => ({ idOrPath: id }))));
      } finally {
        engine.unload(name);
      }
    }
    const command = `node dist/kernel/bench/cli.js ${argv.join(" ")}`.trim();
    const out = resolve(typeof a.flags.out === "string" ? a.flags.out : join("bench", "results", `sweep-${new Date().toISOString().replace(/[:.]/g, "-")}.json`));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ command, date: new Date().toISOString(), rows }, null, 2)}\n`);
    process.stdout.write(`${sweepMarkdown(rows)}\n\ncommand: ${command}\nJSON: ${out}\n`);
    return 0;
  } finally {
    engine.dispose();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
