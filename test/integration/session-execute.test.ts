// The real Session in-process, with a recording OutputSink: evaluation, output routing, display,
// completion, inspect, magics and history.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, type Session } from "../../kernel/session/index.js";
import type { DisplayOptions, ExecuteOutcome, MimeBundle, OutputSink, SessionApi } from "../../kernel/session/types.js";

export type SinkEvent =
  | { kind: "stream"; name: "stdout" | "stderr"; text: string }
  | { kind: "display" | "update"; data: MimeBundle; opts?: DisplayOptions }
  | { kind: "clear"; wait: boolean }
  | { kind: "input"; prompt: string; password: boolean };

export class RecordingSink implements OutputSink {
  readonly events: SinkEvent[] = [];
  constructor(private readonly answer = "typed answer") {}
  stream(name: "stdout" | "stderr", text: string): void { this.events.push({ kind: "stream", name, text }); }
  display(data: MimeBundle, opts?: DisplayOptions): void { this.events.push({ kind: "display", data, opts }); }
  updateDisplay(data: MimeBundle, opts: DisplayOptions & { displayId: string }): void { this.events.push({ kind: "update", data, opts }); }
  clearOutput(wait: boolean): void { this.events.push({ kind: "clear", wait }); }
  input(prompt: string, password: boolean): Promise<string> {
    this.events.push({ kind: "input", prompt, password });
    return Promise.resolve(this.answer);
  }
  text(name: "stdout" | "stderr" = "stdout"): string {
    return this.events.filter((e): e is Extract<SinkEvent, { kind: "stream" }> => e.kind === "stream" && e.name === name).map((e) => e.text).join("");
  }
}

export async function run(session: SessionApi, code: string, sink = new RecordingSink()): Promise<ExecuteOutcome & { sink: RecordingSink }> {
  const r = await session.execute({ code, silent: false, storeHistory: true, allowStdin: true }, sink);
  return Object.assign(r, { sink });
}

export function plain(r: ExecuteOutcome): unknown {
  if (r.status !== "ok") throw new Error(`cell failed: ${r.ename}: ${r.evalue}\n${r.traceback.join("\n")}`);
  return r.result?.["text/plain"];
}

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "");

const dir = mkdtempSync(join(tmpdir(), "mlx-ts-session-"));
let session: Session;

beforeAll(async () => {
  // a notebook folder with its own CommonJS package and a local ES module
  mkdirSync(join(dir, "node_modules", "cjs-greeter"), { recursive: true });
  writeFileSync(join(dir, "node_modules", "cjs-greeter", "package.json"), JSON.stringify({ name: "cjs-greeter", main: "index.js" }));
  writeFileSync(join(dir, "node_modules", "cjs-greeter", "index.js"), "exports.greet = (n) => 'hello ' + n; exports.version = 3;");
  writeFileSync(join(dir, "local.mjs"), "export const answer = 42; export default function twice(x) { return 2 * x }");
  session = await createSession({ historyFile: join(dir, "history.jsonl"), cwd: dir, catchProcessErrors: false, handleSigint: false });
});

afterAll(async () => {
  await session.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe("evaluation", () => {
  it("keeps declarations across cells and lets a later cell redeclare them", async () => {
    expect(plain(await run(session, "const x = 1\nlet y = 2\nfunction add(a: number, b: number): number { return a + b }\nadd(x, y)"))).toBe("3");
    expect(plain(await run(session, "const x = 'redeclared'; x"))).toBe("'redeclared'");
    expect(plain(await run(session, "class Point { constructor(public px: number) {} }\nnew Point(1).px"))).toBe("1");
    expect(plain(await run(session, "class Point { constructor(public px: number, public py = 5) {} }\nnew Point(1).py"))).toBe("5");
    expect(plain(await run(session, "y += 40; y"))).toBe("42");
  });

  it("keeps const read-only, with an error that says so (from the type checker, and at run time without it)", async () => {
    const r = await run(session, "const frozen = 1");
    expect(r.status).toBe("ok");
    const bad = await run(session, "frozen = 2");
    expect(bad.status).toBe("error");
    if (bad.status === "error") expect(bad.evalue).toContain("TS2588: Cannot assign to 'frozen' because it is a constant");
    expect(plain(await run(session, "%typecheck off"))).toBeUndefined();
    try {
      const unchecked = await run(session, "frozen = 3");
      expect(unchecked.status).toBe("error");
      if (unchecked.status === "error") expect(unchecked.evalue).toContain("Assignment to constant variable 'frozen'");
      expect(plain(await run(session, "frozen"))).toBe("1");
    } finally {
      await run(session, "%typecheck on");
    }
  });

  it("runs loops over cell-level variables on the fast path and keeps closures on the live binding", async () => {
    // the loop's variable is declared in an earlier cell; a closure of that cell reads it
    expect(plain(await run(session, "let hits = 0\nconst readHits = () => hits"))).toBeUndefined();
    expect(plain(await run(session, "for (let i = 0; i < 1_000_000; i++) hits++\nreadHits()"))).toBe("1000000");
    expect(plain(await run(session, "let hits = -1; readHits()"))).toBe("-1"); // a redeclaration is the same binding
    expect(session.globals.hits).toBe(-1); // and front ends (completion, inspect) read it live
    const dup = await run(session, "const dup = 1; const dup = 2");
    expect(dup.status).toBe("error");
    if (dup.status === "error") expect(dup.evalue).toBe("Cannot redeclare block-scoped variable 'dup'. (line 1, column 22)");
    expect(plain(await run(session, "const dup = 3; dup"))).toBe("3");
  });

  it("runs top-level await and shows the last expression; promises are shown, not awaited", async () => {
    expect(plain(await run(session, "const slow = await new Promise<number>((r) => setTimeout(() => r(7), 20))\nslow * 6"))).toBe("42");
    expect(plain(await run(session, "Promise.resolve('later')"))).toBe("Promise { 'later' }");
    const r = await run(session, "const quiet = 1");
    expect(r.status === "ok" && r.result).toBeFalsy();
  });

  it("imports node: modules, npm packages (the notebook's and ours), CommonJS, local files and require", async () => {
    expect(plain(await run(session, "import { join } from 'node:path'\nimport * as os from 'os'\njoin('a', typeof os.cpus)"))).toBe("'a/function'");
    expect(plain(await run(session, "import chalk from 'chalk'\ntypeof chalk.red"))).toBe("'function'");
    expect(plain(await run(session, "import { greet } from 'cjs-greeter'\nimport greeter from 'cjs-greeter'\ngreet('you') + ' ' + greeter.version"))).toBe("'hello you 3'");
    expect(plain(await run(session, "import twice, { answer } from './local.mjs'\ntwice(answer)"))).toBe("84");
    expect(plain(await run(session, "const dyn = await import('cjs-greeter'); dyn.default.version"))).toBe("3");
    expect(plain(await run(session, "require('cjs-greeter').greet('r')"))).toBe("'hello r'");
    const missing = await run(session, "import nope from 'no-such-package-xyz'");
    expect(missing.status).toBe("error");
    if (missing.status === "error") expect(missing.evalue).toContain("npm install no-such-package-xyz");
  });

  it("reads a braced cell as an object literal", async () => {
    expect(plain(await run(session, "{ a: 1, b: 'two' }"))).toBe("{ a: 1, b: 'two' }");
  });
});

describe("errors", () => {
  it("gives one error whose traceback points at the cell line, not at our internals", async () => {
    const r = await run(session, "function inner() {\n  throw new RangeError('too far')\n}\n\ninner()");
    expect(r.status).toBe("error");
    if (r.status !== "error") return;
    expect(r.ename).toBe("RangeError");
    expect(r.evalue).toBe("too far");
    const tb = stripAnsi(r.traceback.join("\n"));
    expect(tb).toContain(`Cell [${r.executionCount}], line 2, in inner`);
    expect(tb).toContain("throw new RangeError('too far')");
    expect(tb).toContain(`Cell [${r.executionCount}], line 5`);
    expect(tb).not.toMatch(/node:internal|node_modules|kernel\/session/);
  });

  it("runs a re-run cell again and names its latest run in a traceback", async () => {
    await run(session, "let reruns = 0");
    const code = "reruns++\nif (reruns === 2) throw new Error('second run')\nreruns";
    expect(plain(await run(session, code))).toBe("1");
    const r = await run(session, code);
    expect(r.status).toBe("error");
    expect(stripAnsi(r.status === "error" ? r.traceback.join("\n") : "")).toContain(`Cell [${r.executionCount}], line 2`);
    expect(plain(await run(session, code))).toBe("3");
  });

  it("reports TypeScript syntax errors with line and column", async () => {
    const r = await run(session, "const fine = 1\nlet broken = (;");
    expect(r.status).toBe("error");
    if (r.status !== "error") return;
    expect(r.ename).toBe("SyntaxError");
    expect(r.evalue).toContain("line 2, column 15");
    expect(stripAnsi(r.traceback.join("\n"))).toContain("let broken = (;");
  });

  it("reports errors of callbacks after the cell to that cell's stderr", async () => {
    const sink = new RecordingSink();
    const r = await run(session, "setTimeout(() => { throw new Error('from a timer') }, 10); 'scheduled'", sink);
    expect(plain(r)).toBe("'scheduled'");
    await new Promise((res) => setTimeout(res, 100));
    expect(stripAnsi(sink.text("stderr"))).toContain("Error: from a timer");
    expect(stripAnsi(sink.text("stderr"))).toContain(`Cell [${r.executionCount}], line 1`);
  });
});

describe("type checking", () => {
  const typeError = (r: ExecuteOutcome): string => {
    if (r.status !== "error") throw new Error(`expected a type error, got ${JSON.stringify(r)}`);
    expect(r.ename).toBe("TypeScriptError");
    return r.evalue;
  };

  it("stops a cell with a type error before it runs, pointing at the line and column", async () => {
    const r = await run(session, "console.log('ran')\nconst n: number = \"hello\"; n");
    expect(typeError(r)).toBe("TS2322: Type 'string' is not assignable to type 'number'. (line 2, column 7)");
    expect(r.sink.text()).toBe(""); // nothing of the cell ran
    if (r.status === "error") {
      const tb = stripAnsi(r.traceback.join("\n"));
      expect(tb).toContain(`Cell [${r.executionCount}], line 2`);
      expect(tb).toContain("2 | const n: number = \"hello\"; n\n    |       ^");
      expect(tb).toContain("%typecheck warn");
    }
    expect("n" in session.globals).toBe(false);
  });

  it("checks against earlier cells' declarations, and a redeclaration replaces the earlier type", async () => {
    await run(session, "const typedLater = 41\nfunction twiceOf(x: number): number { return 2 * x }");
    expect(typeError(await run(session, "const s: string = typedLater"))).toContain("TS2322: Type 'number' is not assignable to type 'string'");
    expect(typeError(await run(session, "twiceOf('a')"))).toContain("TS2345");
    expect(plain(await run(session, "const typedLater = 'now text'; typedLater.toUpperCase()"))).toBe("'NOW TEXT'");
    expect(plain(await run(session, "typedLater.length"))).toBe("8");
  });

  it("checks a re-run cell again after a cell that declares, and not only the first time", async () => {
    // the same text twice gets the kept answer; a declaration in between makes it stale
    const again = "rerunTarget.toUpperCase()";
    await run(session, "const rerunTarget = 5");
    expect(typeError(await run(session, again))).toContain("TS2339");
    expect(typeError(await run(session, again))).toContain("TS2339");
    expect(plain(await run(session, "1 + 2 // declares nothing"))).toBe("3");
    expect(typeError(await run(session, again))).toContain("TS2339");
    await run(session, "const rerunTarget = 'five'");
    expect(plain(await run(session, again))).toBe("'FIVE'");
    await run(session, "import { sep as rerunTarget } from 'node:path'");
    expect(plain(await run(session, again))).toBe("'/'");
    await run(session, "type Unrelated = number");
    expect(plain(await run(session, again))).toBe("'/'");
    // a cell of literal arithmetic is not sent to the checker: still checked where it is not only that
    expect(plain(await run(session, "(1 + 2) * 3 // plain"))).toBe("9");
    expect(typeError(await run(session, "1 === 2"))).toContain("TS2367");
  });

  it("runs nothing of a cell with a type error, also when a magic line or a V8-only syntax error comes first", async () => {
    const m = await run(session, "%lsmagic\nconsole.log('ran'); const late: number = 'x'");
    expect(typeError(m)).toContain("TS2322");
    expect(m.sink.text()).toBe("");
    // V8 rejects the duplicate __proto__ only when it compiles the cell: the type error is still the one shown
    const o = await run(session, "const oct: string = 1; ({ __proto__: null, __proto__: null })");
    expect(typeError(o)).toContain("TS2322");
    expect("oct" in session.globals).toBe(false);
  });

  it("knows the kernel's globals, top-level await, node: and npm imports, and skips magic lines", async () => {
    expect(plain(await run(session, "const sizeNow: number = session.models.size\ntypeof display.html + typeof mx.array + sizeNow"))).toBe("'functionfunction0'");
    expect(plain(await run(session, "const waited: number = await Promise.resolve(3)\nimport { basename } from 'node:path'\nimport chalk from 'chalk'\nbasename('/a/b') + waited + typeof chalk.red"))).toBe("'b3function'");
    expect(plain(await run(session, "typeof lastGeneration + typeof chatHistory"))).toBe("'undefinedundefined'");
    const m = await run(session, "%lsmagic\nconst afterMagic: string = 5");
    expect(typeError(m)).toContain("(line 2, column 7)");
    expect(m.sink.text()).toBe(""); // the magic line did not run either
    // the body of a %% cell belongs to its magic and is not checked as the cell's TypeScript
    expect((await run(session, "%%profile\nconst inProfile: number = 'text'; inProfile")).status).toBe("ok");
  });

  it("%typecheck warn prints the errors and runs; off skips the check; on again stops", async () => {
    expect((await run(session, "%typecheck")).sink.text()).toBe("typecheck: on\n");
    await run(session, "%typecheck warn");
    const w = await run(session, "const warned: number = 'text'; warned");
    expect(plain(w)).toBe("'text'");
    expect(stripAnsi(w.sink.text("stderr"))).toContain("TS2322: Type 'string' is not assignable to type 'number'.");
    await run(session, "%typecheck off");
    const o = await run(session, "const unchecked: number = 'text'; unchecked");
    expect(plain(o)).toBe("'text'");
    expect(o.sink.text("stderr")).toBe("");
    await run(session, "%typecheck on");
    typeError(await run(session, "const again: number = 'text'"));
    const bad = await run(session, "%typecheck loud");
    expect(bad.status === "error" && bad.evalue).toContain('unknown setting "loud". Use on, warn or off.');
  });
});

describe("output", () => {
  it("routes console output, including from callbacks after the cell, to the cell that scheduled it", async () => {
    const first = new RecordingSink();
    await run(session, "console.log('now', { a: 1 }); console.error('warned'); setTimeout(() => console.log('later from first'), 50)", first);
    const second = new RecordingSink();
    await run(session, "console.log('second cell')", second);
    await new Promise((res) => setTimeout(res, 120));
    expect(first.text()).toBe("now { a: 1 }\nlater from first\n");
    expect(first.text("stderr")).toBe("warned\n");
    expect(second.text()).toBe("second cell\n");
  });

  it("displays values and updates them in place by display id", async () => {
    const r = await run(session, "const h = display({ n: 1 })\nh.update({ n: 2 })\ndisplay.html('<b>bold</b>', { id: 'fixed' })\ndisplay.update('fixed', 'replaced')");
    expect(r.status).toBe("ok");
    const ev = r.sink.events;
    expect(ev[0]).toMatchObject({ kind: "display", data: { "text/plain": "{ n: 1 }" } });
    expect(ev[1]).toMatchObject({ kind: "update", data: { "text/plain": "{ n: 2 }" } });
    expect(ev[1]!.kind === "update" && ev[0]!.kind === "display" && ev[1]!.opts?.displayId).toBe(ev[0]!.kind === "display" && ev[0]!.opts?.displayId);
    expect(ev[2]).toMatchObject({ kind: "display", data: { "text/html": "<b>bold</b>" }, opts: { displayId: "fixed" } });
    expect(ev[3]).toMatchObject({ kind: "update", opts: { displayId: "fixed" } });
    expect(r.status === "ok" && r.result).toBeFalsy(); // a display handle is not a result
  });

  it("uses the Jupyter.display protocol for results, and tables for rows", async () => {
    const r = await run(session, "({ [Symbol.for('Jupyter.display')]() { return { 'text/markdown': '**md**' } } })");
    expect(r.status === "ok" && r.result?.["text/markdown"]).toBe("**md**");
    const t = await run(session, "[{ name: 'a', n: 1 }, { name: 'b', n: 2 }]");
    expect(t.status === "ok" && String(t.result?.["text/html"])).toContain("<th>name</th><th>n</th>");
  });

  it("supports console.table, clearOutput, and refuses process.exit", async () => {
    const r = await run(session, "console.table([{ k: 'a', v: 1 }]); clearOutput({ wait: true })");
    expect(r.sink.text()).toMatch(/│\s*k\s*│\s*v\s*│/);
    expect(r.sink.events).toContainEqual({ kind: "clear", wait: true });
    const exit = await run(session, "process.exit(1)");
    expect(exit.status === "error" && exit.evalue).toContain("would end the kernel");
    expect(plain(await run(session, "typeof process.pid"))).toBe("'number'");
  });

  it("asks the front end for input", async () => {
    const r = await run(session, "await input('name?', { password: true })");
    expect(plain(r)).toBe("'typed answer'");
    expect(r.sink.events).toContainEqual({ kind: "input", prompt: "name?", password: true });
  });
});

describe("completion and inspect", () => {
  it("completes members of an object from an earlier cell, with types", async () => {
    await run(session, "const config = { temperature: 0.7, topK: 40, name: 'cfg' }");
    const code = "config.te";
    const r = await session.complete(code, code.length);
    expect(r.matches).toEqual(["temperature"]);
    expect(r.cursorStart).toBe(7);
    expect(r.types?.[0]?.type).toBe("property");
  });

  it("completes methods by type and the session global", async () => {
    const r = await session.complete("config.name.toUpp", 17);
    expect(r.matches).toContain("toUpperCase");
    const s = await session.complete("session.", 8);
    expect(s.matches).toEqual(expect.arrayContaining(["load", "models", "engine", "generate"]));
  });

  it("counts the cursor in code points", async () => {
    const code = "const s = '😀😀'; config.to";
    const cp = [...code].length;
    const r = await session.complete(code, cp);
    expect(r.matches).toContain("topK");
    expect(r.cursorStart).toBe(cp - 2);
  });

  it("falls back to the live object's properties when the type is any", async () => {
    await run(session, "const loose: any = JSON.parse('{\"zebra\": 1, \"zulu\": 2}')");
    const r = await session.complete("loose.z", 7);
    expect(r.matches).toEqual(["zebra", "zulu"]);
  });

  it("completes magic names and npm package members", async () => {
    expect((await session.complete("%lsm", 4)).matches).toEqual(["%lsmagic"]);
    const r = await session.complete("import { jo } from 'node:path'", 11);
    expect(r.matches).toContain("join");
  });

  it("inspects a function with its signature and JSDoc", async () => {
    await run(session, "/** Scales a value by the factor.\n * @param v the value */\nfunction scale(v: number, factor = 2): number { return v * factor }");
    const r = await session.inspect("scale(3)", 2, 0);
    expect(r.found).toBe(true);
    expect(r.data["text/plain"]).toContain("function scale(v: number, factor?: number): number");
    expect(r.data["text/plain"]).toContain("Scales a value by the factor.");
    expect(r.data["text/markdown"]).toContain("```ts");
  });
});

describe("magics, history, is_complete", () => {
  it("lists magics and reports unknown ones with close names", async () => {
    const ls = await run(session, "%lsmagic");
    expect(ls.status).toBe("ok");
    expect(ls.sink.text()).toContain("%lsmagic");
    const help = await run(session, "%lsmagic --help");
    expect(help.sink.text()).toContain("Lists every line magic");
    const bad = await run(session, "%lsmagick");
    expect(bad.status === "error" && bad.ename).toBe("UsageError");
    expect(bad.status === "error" && bad.evalue).toContain("%lsmagic");
  });

  it("runs line magics between TypeScript lines, in order", async () => {
    const r = await run(session, "console.log('before')\n%help lsmagic\nconsole.log('after')\n1 + 1");
    expect(plain(r)).toBe("2");
    const out = r.sink.text();
    expect(out.indexOf("before")).toBeLessThan(out.indexOf("%lsmagic"));
    expect(out.indexOf("%lsmagic")).toBeLessThan(out.indexOf("after"));
  });

  it("stores history and answers tail and search", async () => {
    await run(session, "const historic = 'marker-123'");
    const tail = session.history({ kind: "tail", n: 1 });
    expect(tail[0]?.input).toBe("const historic = 'marker-123'");
    expect(session.history({ kind: "search", pattern: "*marker-123*" })).toHaveLength(1);
  });

  it("does not count or store silent cells", async () => {
    const before = session.executionCount;
    const r = await session.execute({ code: "1 + 1", silent: true, storeHistory: false, allowStdin: false }, new RecordingSink());
    expect(r.status === "ok" && r.result).toBeFalsy();
    expect(session.executionCount).toBe(before);
  });

  it("answers is_complete", () => {
    expect(session.isComplete("for (const a of [1]) {").status).toBe("incomplete");
    expect(session.isComplete("1 + 1").status).toBe("complete");
  });
});
