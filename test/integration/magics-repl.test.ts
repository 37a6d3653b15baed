// The magics through the terminal REPL front end: a real `mlx-ts repl` process on pipes, typed input,
// text output (rich displays fall back to text), and Ctrl-C (SIGINT) during a generation.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "./kernel-harness.js";
import { ensureFixtures, FIXTURES, STATS_LINE, until } from "./magics-harness.js";

let child: ChildProcessWithoutNullStreams;
let out = "";

/** Types `input` and waits until the output written after it matches `want`; returns that output. */
async function type(input: string, want: RegExp, ms = 120_000): Promise<string> {
  const from = out.length;
  child.stdin.write(input);
  const ok = await until(() => want.test(out.slice(from)), ms);
  const got = out.slice(from);
  if (!ok) throw new Error(`no ${want} after typing ${JSON.stringify(input)}; got:\n${got}`);
  return got;
}

beforeAll(async () => {
  ensureBuilt();
  ensureFixtures();
  const home = mkdtempSync(join(tmpdir(), "mlx-ts-repl-home-"));
  child = spawn(process.execPath, [join(ROOT, "dist", "bin", "mlx-ts.js"), "repl", "--model", "smollm2"], {
    cwd: ROOT,
    env: { ...process.env, HOME: home, NO_COLOR: "1", MLX_TS_HISTORY_FILE: join(home, "history.jsonl") },
  });
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d: string) => (out += d));
  child.stderr.on("data", (d: string) => (out += d));
  expect(await until(() => /smollm2 — loaded in/.test(out) && /In \[\d+\]: $/.test(out), 120_000)).toBe(true);
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.stdin.end();
    await until(() => child.exitCode !== null, 10_000);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

describe("magics in the REPL", () => {
  it("%models and %memory print text tables", async () => {
    expect(await type("%models\n", /smollm2 │ llama[\s\S]*In \[/)).toMatch(/name\s+│ architecture/);
    expect(await type("%memory\n", /weights: smollm2[\s\S]*In \[/)).toMatch(/active\s+│/);
  });

  it("%%generate ends at an empty line and prints the text and the stats line", async () => {
    const got = await type("%%generate --max-tokens 8\nWhat is 2+2?\n\n", /stop: (eos|length)[\s\S]*In \[/);
    expect(got).toMatch(STATS_LINE);
    // On a pipe the stream is printed once, as it grows: no redraws and no terminal cursor.
    const text = got.replace(/^(\s*\.\.\.:)+\s*/, "").split("\n\nprompt:")[0]!.trim();
    expect(text.length).toBeGreaterThan(3);
    expect(got.split(text.slice(0, 12)).length - 1).toBe(1);
    expect(got).not.toContain("▌");
  });

  it("bad arguments print the error and the REPL goes on", async () => {
    const got = await type("%limit memory lots\n", /In \[/);
    expect(got).toMatch(/MagicArgError.*'lots' is not a size/);
    expect(await type("%kernels\n", /In \[/)).toContain("fallback: mx.fast.scaled_dot_product_attention (MLX built-in)");
  });

  it("Ctrl-C during %%generate stops it; the partial output and one line saying so stay; the session keeps the model", async () => {
    const from = out.length;
    child.stdin.write("%%generate --max-tokens 1500\nWrite a very long story about a dragon.\n\n");
    // tokens are streaming once text follows the continuation prompts
    expect(await until(() => /\.\.\.:\s*\S{3,}/.test(out.slice(from)), 120_000)).toBe(true);
    child.kill("SIGINT");
    expect(await until(() => /interrupted after \d+ tokens?; the partial output is kept/.test(out.slice(from)), 30_000)).toBe(true);
    expect(out.slice(from).match(/interrupted after/g)).toHaveLength(1);
    expect(child.exitCode).toBeNull();
    expect(await type("%%generate --max-tokens 4\nHi\n\n", /stop: (eos|length)[\s\S]*In \[/)).toMatch(STATS_LINE);
  });

  it("%load and %quantize a fixture", async () => {
    await type(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as q\n`, /q — loaded in[\s\S]*In \[/);
    const got = await type("%quantize q --bits 4 --check-tokens 2\n", /greedy-token agreement[\s\S]*In \[/, 300_000);
    expect(got).toMatch(/weight bytes\s+│/);
  }, 420_000);
});
