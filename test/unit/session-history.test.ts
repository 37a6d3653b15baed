import { mkdtempSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { codePointToUtf16, utf16ToCodePoint } from "../../kernel/session/code-points.js";
import { globToRegExp, HistoryStore, queryHistory } from "../../kernel/session/history.js";
import type { HistoryEntry } from "../../kernel/session/types.js";

const dir = mkdtempSync(join(tmpdir(), "mlx-ts-history-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("code points", () => {
  it("converts between code points and UTF-16 offsets around astral characters", () => {
    const s = "a😀b𝄞c";
    expect(s.length).toBe(7);
    expect(codePointToUtf16(s, 2)).toBe(3);
    expect(codePointToUtf16(s, 4)).toBe(6);
    expect(utf16ToCodePoint(s, 6)).toBe(4);
    expect(utf16ToCodePoint(s, s.length)).toBe(5);
    expect(codePointToUtf16(s, 99)).toBe(7);
  });
});

describe("history", () => {
  const entries: HistoryEntry[] = [
    { session: 1, line: 1, input: "const a = 1" },
    { session: 1, line: 2, input: "a + 1" },
    { session: 2, line: 1, input: "const a = 1" },
    { session: 2, line: 2, input: "display(a)" },
    { session: 2, line: 3, input: "a * 2" },
  ];

  it("tail returns the last n", () => {
    expect(queryHistory(entries, { kind: "tail", n: 2 }, 2).map((e) => e.input)).toEqual(["display(a)", "a * 2"]);
  });

  it("range selects within a session; 0 means the current one and negatives count back", () => {
    expect(queryHistory(entries, { kind: "range", session: 0, start: 2, stop: 4 }, 2).map((e) => e.line)).toEqual([2, 3]);
    expect(queryHistory(entries, { kind: "range", session: -1 }, 2).map((e) => e.input)).toEqual(["const a = 1", "a + 1"]);
  });

  it("search matches globs on the whole input, optionally unique", () => {
    expect(globToRegExp("a ?*").test("a + 1")).toBe(true);
    expect(queryHistory(entries, { kind: "search", pattern: "const*" }, 2)).toHaveLength(2);
    expect(queryHistory(entries, { kind: "search", pattern: "const*", unique: true }, 2)).toEqual([{ session: 2, line: 1, input: "const a = 1" }]);
    expect(queryHistory(entries, { kind: "search", pattern: "a*", n: 1 }, 2).map((e) => e.input)).toEqual(["a * 2"]);
  });

  it("persists across stores: a new store is a new session and sees the old entries", () => {
    const file = join(dir, "h.jsonl");
    const first = new HistoryStore(file);
    first.append(1, "let x = 1");
    first.append(2, "x\n+ 1");
    appendFileSync(file, "{torn line");
    const second = new HistoryStore(file);
    expect(second.session).toBe(first.session + 1);
    expect(second.query({ kind: "tail", n: 10 }).map((e) => e.input)).toEqual(["let x = 1", "x\n+ 1"]);
    second.append(1, "y");
    expect(readFileSync(file, "utf8").trim().split("\n").pop()).toBe(JSON.stringify({ session: second.session, line: 1, input: "y" }));
  });
});
