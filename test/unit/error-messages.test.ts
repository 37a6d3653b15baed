// Error messages are assembled from parts; none may come out with a doubled full stop or say the same
// advice twice. The classes every error of ours goes through tidy the stops; the scan below keeps
// messages that interpolate another error's text inside those classes.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromNative } from "../../kernel/engine/errors.js";
import { MlxTsError } from "../../kernel/engine/types.js";
import { MagicArgError } from "../../kernel/util/args.js";
import { MlxError } from "../../kernel/mx/errors.js";
import { singleStops } from "../../kernel/util/sentences.js";

const DOUBLED_STOP = /(?<!\.)\.\.(?![./])/;
const ROOT = join(import.meta.dirname, "..", "..");

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (n.endsWith(".ts") && !n.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

describe("no doubled full stops in error messages", () => {
  it("singleStops keeps an ellipsis and ../ but folds a doubled stop", () => {
    expect(singleStops("It failed: disk full.. Try again.")).toBe("It failed: disk full. Try again.");
    expect(singleStops("waiting... see ../x")).toBe("waiting... see ../x");
  });

  it("MlxTsError, MagicArgError and MlxError tidy a cause that ends in a full stop", () => {
    const cause = "the file is truncated.";
    for (const e of [new MlxTsError("E_MLX", `Loading x failed: ${cause}. Download it again.`), new MagicArgError(`%x: ${cause}.`), new MlxError("E_MLX", `op: ${cause}.`)]) {
      expect(e.message, e.name).not.toMatch(DOUBLED_STOP);
    }
  });

  it("fromNative: one stop, and the generic hint only when the native message gives no advice of its own", () => {
    for (const code of ["E_MODEL_NOT_FOUND", "E_BAD_CONFIG", "E_CORRUPT_WEIGHTS", "E_MEMORY_LIMIT", "E_MLX", "E_BAD_ARGUMENT"]) {
      const bare = fromNative(Object.assign(new Error("it broke."), { code }), "Loading m");
      expect(bare.message).not.toMatch(DOUBLED_STOP);
      expect(bare.message).toMatch(/^Loading m failed: it broke\. \S/);
      const advised = fromNative(Object.assign(new Error("it broke. Free memory with %unload."), { code }), "Loading m");
      expect(advised.message).toBe("Loading m failed: it broke. Free memory with %unload.");
    }
  });

  it("every message that interpolates another error's .message is built by one of those classes or singleStops", () => {
    const offenders: string[] = [];
    for (const f of tsFiles(join(ROOT, "kernel"))) {
      const lines = readFileSync(f, "utf8").split("\n");
      lines.forEach((line, i) => {
        if (!/\.message\)?\}\./.test(line)) return;
        const context = lines.slice(Math.max(0, i - 3), i + 1).join("\n");
        if (!/new (MlxTsError|MagicArgError|MlxError)\(|singleStops\(/.test(context)) offenders.push(`${f.slice(ROOT.length + 1)}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("no string in kernel/ names engine.load() or a bare setMemoryLimit as advice", () => {
    const offenders: string[] = [];
    for (const f of tsFiles(join(ROOT, "kernel"))) {
      const text = readFileSync(f, "utf8");
      if (/["`'][^"`'\n]*(engine\.load\(\)|with setMemoryLimit)[^"`'\n]*["`']/.test(text)) offenders.push(f.slice(ROOT.length + 1));
    }
    for (const n of readdirSync(join(ROOT, "native", "src"))) {
      const p = join(ROOT, "native", "src", n);
      if (statSync(p).isFile() && /with setMemoryLimit/.test(readFileSync(p, "utf8"))) offenders.push(`native/src/${n}`);
    }
    expect(offenders).toEqual([]);
  });
});
