import { describe, expect, it } from "vitest";
import { completeMagicArgs, magicHelp, MagicArgError, parseMagicArgs, splitArgs, type MagicSpec } from "../../kernel/util/args.js";
import { formatBytes, parseSize } from "../../kernel/util/bytes.js";

const gen: MagicSpec = {
  name: "generate",
  kind: "cell",
  summary: "Generate from the cell body.",
  positional: [],
  flags: [
    { name: "max-tokens", type: "int", min: 1, help: "tokens to generate" },
    { name: "temp", type: "number", min: 0, help: "temperature" },
    { name: "raw", type: "bool", help: "no chat template" },
    { name: "bits", type: "int", choices: [2, 3, 4, 6, 8], help: "bits" },
    { name: "mode", type: "string", choices: ["affine", "mxfp4"], help: "mode" },
    { name: "prompts", type: "ints", help: "prompt lengths" },
    { name: "system", type: "string", help: "system prompt" },
  ],
};
const load: MagicSpec = { name: "load", kind: "line", summary: "Load.", positional: [{ name: "ID_OR_PATH", help: "model", required: true }], flags: [{ name: "as", type: "string", help: "name" }] };

describe("magic arguments", () => {
  it("splits words with quotes and escapes, never through a shell", () => {
    expect(splitArgs(`a "b c" 'd e' f\\ g $(rm -rf /)`)).toEqual(["a", "b c", "d e", "f g", "$(rm", "-rf", "/)"]);
    expect(splitArgs(`--system "say \\"hi\\""`)).toEqual(["--system", 'say "hi"']);
    expect(() => splitArgs(`"open`)).toThrow(/unclosed " quote/);
  });

  it("parses typed flags in both --x v and --x=v forms", () => {
    const a = parseMagicArgs(gen, `--max-tokens 64 --temp=0.7 --raw --prompts 128,512 --system "be brief"`);
    expect(a.flags).toEqual({ "max-tokens": 64, temp: 0.7, raw: true, prompts: [128, 512], system: "be brief" });
    expect(a.help).toBe(false);
  });

  it("explains bad values, unknown flags and missing arguments", () => {
    expect(() => parseMagicArgs(gen, "--max-tokens ten")).toThrow(/--max-tokens needs a whole number \(got 'ten'\)/);
    expect(() => parseMagicArgs(gen, "--max-tokens 0")).toThrow(/at least 1/);
    expect(() => parseMagicArgs(gen, "--bits 5")).toThrow(/one of 2, 3, 4, 6, 8 \(got 5\)/);
    expect(() => parseMagicArgs(gen, "--mode nf4")).toThrow(/one of affine, mxfp4/);
    expect(() => parseMagicArgs(gen, "--max-token 5")).toThrow(/unknown option --max-token\. Did you mean '--max-tokens'\?/);
    expect(() => parseMagicArgs(gen, "--temp")).toThrow(/needs a value/);
    expect(() => parseMagicArgs(load, "")).toThrow(/missing ID_OR_PATH/);
    expect(() => parseMagicArgs(load, "a b")).toThrow(/unexpected argument 'b'/);
    expect(() => parseMagicArgs(load, "")).toThrow(MagicArgError);
  });

  it("returns help without validating the rest", () => {
    expect(parseMagicArgs(load, "--help").help).toBe(true);
    const text = magicHelp(gen);
    expect(text.split("\n")[0]).toBe("%%generate [--max-tokens MAX_TOKENS] [--temp TEMP] [--raw] [--bits BITS] [--mode MODE] [--prompts PROMPTS] [--system SYSTEM]");
    expect(text).toContain("--mode");
    expect(text).toContain("(one of: affine, mxfp4)");
  });

  it("parses and formats sizes", () => {
    expect(parseSize("4GB")).toBe(4e9);
    expect(parseSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseSize("512 mb")).toBe(512e6);
    expect(parseSize("100")).toBe(100);
    expect(() => parseSize("lots")).toThrow(/not a size/);
    expect(formatBytes(1234)).toBe("1.23 KB");
    expect(formatBytes(94_000_000)).toBe("94.0 MB");
    expect(formatBytes(12)).toBe("12 B");
  });

  it("completes flags, flag choices and positionals", () => {
    expect(completeMagicArgs(gen, "--ma")).toEqual(["--max-tokens"]);
    expect(completeMagicArgs(gen, "--mode a")).toEqual(["affine"]);
    expect(completeMagicArgs(load, "sm", () => ["smollm2", "qwen3"])).toEqual(["smollm2"]);
    expect(completeMagicArgs(load, "--as x q", () => ["smollm2", "qwen3"])).toEqual(["qwen3"]);
  });
});
