// Soak: 2,000 executes and 200 generations in one kernel. MLX's active memory at the end must be within
// 10% of its level after the first 100 executes (the warm state), and RSS must not creep, so a long
// notebook session stays the size it started.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_MODELS_DIR } from "../setup/fixtures.js";
import { startKernel, type Msg, type RunningKernel } from "./kernel-harness.js";

const EXECUTES = 2000;
const GENERATIONS = 200;
const WARM = 100;
let kernel: RunningKernel;

const text = (m: Msg | undefined) => String((m?.content.data as Record<string, string> | undefined)?.["text/plain"] ?? "");

async function value(code: string): Promise<string> {
  const { reply, iopub } = await kernel.client.execute(code, {}, 120_000);
  expect(reply.content.status, JSON.stringify(reply.content)).toBe("ok");
  return text(iopub.find((m) => m.header.msg_type === "execute_result"));
}

// V8 lets the kernel's main heap grow to about twice its live size before a full collection, and each
// cell's transpile leaves a few hundred KB of garbage, so RSS read at an arbitrary moment swings by
// 100 MB and more with nothing retained (the raw figure, printed alongside, shows it). What must not creep
// is what the kernel holds, so RSS is compared after two full collections of the main heap: the lowest
// reading over the next second, while V8's background threads hand the emptied pages back. The parts
// (V8's main heap, malloc's main arena, the rest) are printed so a failure says what grew. The settled
// figure usually ends about 7% lower: at the warm point the language-service worker still holds about
// 28 MB of garbage from parsing lib and @types/node, which its own first full collection, partway through
// the soak, returns (measured by logging the worker's v8.getHeapStatistics: 105 MB total, then 76 MB).
type Memory = { rss: number; rawRss: number; active: number; v8Heap: number; mallocMain: number; threads?: number };
async function memory(): Promise<Memory> {
  return JSON.parse((await value(
    `const __fs = require("node:fs"); const __proc = (f) => { try { return f(); } catch { return undefined; } }; const __rawRss = process.memoryUsage().rss; ` +
      `const __gc = require("node:vm").runInThisContext("gc"); __gc(); __gc(); let __rss = Infinity; ` +
      `for (let i = 0; i < 10; i++) { await new Promise((r) => setTimeout(r, 100)); __rss = Math.min(__rss, process.memoryUsage().rss); } ` +
      `const __main = /\\[heap\\]\\n(?:(?!Anonymous:)[^\\n]*\\n)*Anonymous:\\s+(\\d+)/.exec(__proc(() => __fs.readFileSync("/proc/self/smaps", "utf8")) ?? ""); ` +
      `JSON.stringify({ rss: __rss, rawRss: __rawRss, active: (await session.engine).memory().active, v8Heap: process.memoryUsage().heapTotal, ` +
      `mallocMain: __main ? Number(__main[1]) * 1024 : 0, threads: __proc(() => __fs.readdirSync("/proc/self/task").length) })`,
  )).replace(/^'|'$/g, ""));
}

beforeAll(async () => {
  kernel = await startKernel({
    MLX_TS_HISTORY_FILE: join(mkdtempSync(join(tmpdir(), "mlx-ts-soak-")), "history.jsonl"),
    // gc() for the measurement only; it changes nothing until a cell calls it
    NODE_OPTIONS: [process.env.NODE_OPTIONS, "--expose-gc"].filter(Boolean).join(" "),
  });
  await value(`%load ${join(FIXTURE_MODELS_DIR, "qwen3-tiny-bf16")} --as tiny\n1`);
}, 300_000);

afterAll(async () => {
  await kernel?.stop();
});

describe("soak", () => {
  it(`${EXECUTES} executes and ${GENERATIONS} generations keep RSS and MLX memory flat`, async () => {
    const generate = (i: number) =>
      value(`const r${i % 7} = await session.generate("soak ${i}", { model: "tiny", raw: true, maxTokens: 4, temperature: 0.7, seed: ${i} }); r${i % 7}.stats.generatedTokens`);
    let executes = 0;
    let generations = 0;
    const step = async () => {
      // eleven plain executes for every generation, mixing outputs, errors and displays as notebooks do
      for (let k = 0; k < 10 && executes < EXECUTES; k++, executes++) {
        const kind = executes % 4;
        if (kind === 0) expect(await value(`const v${executes % 13} = ${executes} * 2; v${executes % 13}`)).toBe(String(executes * 2));
        else if (kind === 1) await value(`console.log("line ${executes}"); [${executes}, "x"].length`);
        else if (kind === 2) await value(`display.html("<b>${executes}</b>"); ${executes}`);
        else {
          const { reply } = await kernel.client.execute(`throw new Error("soak ${executes}")`, {}, 60_000);
          expect(reply.content.status).toBe("error");
        }
      }
      if (generations < GENERATIONS) {
        expect(Number(await generate(generations))).toBeGreaterThan(0);
        generations++;
      }
    };
    while (executes < WARM || generations < WARM / 10) await step();
    const warm = await memory();
    while (executes < EXECUTES || generations < GENERATIONS) await step();
    const end = await memory();
    expect(executes).toBe(EXECUTES);
    expect(generations).toBe(GENERATIONS);
    const drift = { rss: end.rss / warm.rss - 1, rawRss: end.rawRss / warm.rawRss - 1, active: end.active / warm.active - 1 };
    process.stderr.write(`soak: warm ${JSON.stringify(warm)} end ${JSON.stringify(end)} drift ${JSON.stringify(drift)}\n`);
    expect(Math.abs(drift.active)).toBeLessThan(0.1);
    // RSS is read after full JS collections (V8's cycle alone swings it by 100 MB). The kernelspec's
    // glibc settings (a fixed mmap threshold, two arenas), which startKernel passes as Jupyter does, keep
    // freed generation buffers from fragmenting malloc's heaps: without them this soak measured +26%.
    expect(Math.abs(drift.rss)).toBeLessThan(0.1);
  }, 1_500_000);
});
