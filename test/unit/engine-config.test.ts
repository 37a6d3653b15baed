// Config side files and EOS id merging; native error mapping.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fromNative } from "../../kernel/engine/errors.js";
import { idList, mergeEosIds, readJsonFile, readSideFiles } from "../../kernel/engine/model-config.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const dir = mkdtempSync(join(tmpdir(), "engine-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("EOS ids", () => {
  it("accepts a number, a list, or nothing", () => {
    expect(idList(2)).toEqual([2]);
    expect(idList([151645, 151643])).toEqual([151645, 151643]);
    expect(idList(undefined)).toEqual([]);
    expect(idList("2")).toEqual([]);
  });

  it("merges generation_config ∪ config ∪ tokenizer eos ∪ GGUF eos/eot without duplicates", () => {
    expect(
      mergeEosIds({
        generationConfig: { eos_token_id: [151645, 151643] },
        config: { eos_token_id: 151643 },
        tokenizerEosId: 151645,
      }),
    ).toEqual([151645, 151643]);
    expect(mergeEosIds({ tokenizerEosId: 2, gguf: { "tokenizer.ggml.eos_token_id": 128001, "tokenizer.ggml.eot_token_id": 128009 } })).toEqual([2, 128001, 128009]);
    expect(mergeEosIds({})).toEqual([]);
  });
});

describe("side files", () => {
  it("reads config.json and generation_config.json, absent files are undefined", () => {
    writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "qwen3", eos_token_id: 151645 }));
    const side = readSideFiles(dir);
    expect(side.config?.model_type).toBe("qwen3");
    expect(side.generationConfig).toBeUndefined();
  });

  it("unparsable JSON is E_BAD_CONFIG naming the file", () => {
    const p = join(dir, "generation_config.json");
    writeFileSync(p, "{ not json");
    expect(() => readJsonFile(p)).toThrowError(MlxTsError);
    try {
      readJsonFile(p);
    } catch (e) {
      expect((e as MlxTsError).code).toBe("E_BAD_CONFIG");
      expect((e as Error).message).toContain(p);
    }
    writeFileSync(p, "[1, 2]");
    expect(() => readJsonFile(p)).toThrowError(/JSON object/);
  });
});

describe("native errors", () => {
  it("keep their code and gain the operation and a hint", () => {
    const native = Object.assign(new Error("config.json has no hidden_size"), { code: "E_BAD_CONFIG" });
    const e = fromNative(native, "Loading x from /m");
    expect(e).toBeInstanceOf(MlxTsError);
    expect(e.code).toBe("E_BAD_CONFIG");
    expect(e.message).toContain("Loading x from /m failed: config.json has no hidden_size");
    expect(e.cause).toBe(native);
    expect(fromNative(new Error("weird"), "Doing y").code).toBe("E_MLX");
    const already = new MlxTsError("E_BUSY", "busy");
    expect(fromNative(already, "z")).toBe(already);
  });
});
